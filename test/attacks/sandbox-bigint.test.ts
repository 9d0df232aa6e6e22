/**
 * Attack: making BigInts where no AST check can see it, against the sandbox layer alone. BigInt
 * work ignores the isolate timeout (String(7n ** 12000000n) runs for minutes), and the policy's
 * rule syntax.bigint sees only literals and the BigInt globals; `DataView#getBigInt64` on any
 * DataView, BigInt typed arrays and `BigInt()` are refused by the bootstrap unless the spec allows
 * BigInt (ComponentSpec.bigint, set by the loader from the policy). Code: ERR_COMPONENT_THREW
 * (a TypeError inside the component); a bad spec: ConfigError ERR_CONFIG_INVALID.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { createSupervisor } from '../../src/sandbox/supervisor.ts';
import { cls, expectCode, spec } from '../sandbox/helpers.ts';

const supervisor = createSupervisor({ workers: 1 });
afterAll(() => supervisor.close());

const PRODUCERS = cls(`
  fromString() { return String(BigInt('9'.repeat(100000))).length; }
  dataView() { return String(new DataView(new ArrayBuffer(8)).getBigInt64(0)); }
  dataViewUnsigned() { return String(new DataView(new ArrayBuffer(8)).getBigUint64(0)); }
  typed() { return String(new BigInt64Array(1)[0]); }
  typedUnsigned() { return String(new BigUint64Array(new ArrayBuffer(8))[0]); }
  subclass() { class X extends BigUint64Array {} return String(new X(1)[0]); }
  viaConstructor() { const D = new DataView(new ArrayBuffer(8)).constructor; return String(Reflect.apply(D.prototype.getBigInt64, new D(new ArrayBuffer(8)), [0])); }
  plain() { return [new DataView(new ArrayBuffer(8)).getInt32(0), typeof BigInt.asIntN, typeof globalThis.Temporal]; }`);
/** The producers' outcome, not the clock, decides: a deadline that survives a busy machine. */
const SLOW_MACHINE = { callTimeoutMs: 3000 };
const METHODS = [
  'fromString',
  'dataView',
  'dataViewUnsigned',
  'typed',
  'typedUnsigned',
  'subclass',
  'viaConstructor',
];

describe('when a component makes BigInts at run time (layer: sandbox bootstrap)', () => {
  it('throws ERR_COMPONENT_THREW for every producer when the spec does not allow BigInt', async () => {
    const c = await supervisor.instantiate(spec(PRODUCERS, { limits: SLOW_MACHINE }));
    for (const method of METHODS) await expectCode(c.call(method), 'ComponentError', 'ERR_COMPONENT_THREW');
    expect(await c.call('plain')).toEqual([0, 'function', 'undefined']);
  });

  it('lets them work when the spec allows BigInt', async () => {
    const c = await supervisor.instantiate({
      ...spec(PRODUCERS, { identifier: 'granted', limits: SLOW_MACHINE }),
      bigint: true,
    });
    expect(await c.call('fromString')).toBe(100000);
    for (const method of METHODS.slice(1)) expect(await c.call(method)).toBe('0');
  });

  it('refuses a spec whose bigint is not a boolean (ERR_CONFIG_INVALID)', async () => {
    const bad = { ...spec(PRODUCERS), bigint: 'yes' } as unknown as Parameters<
      typeof supervisor.instantiate
    >[0];
    await expectCode(supervisor.instantiate(bad), 'ConfigError', 'ERR_CONFIG_INVALID');
  });
});
