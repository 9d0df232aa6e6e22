/**
 * RegExp.prototype is deliberately left unfrozen (V8's regex fast paths need its initial shape;
 * see the Policy comment in src/sandbox/bootstrap-hardening.ts). These tests pin what that may NOT give a
 * tenant: any effect outside its own context.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { createSupervisor } from '../../src/sandbox/supervisor.ts';
import { cls, spec } from '../sandbox/helpers.ts';

const supervisor = createSupervisor({ workers: 1 });
afterAll(() => supervisor.close());

const POISONER = cls(`
  poison() {
    RegExp.prototype[Symbol.split] = function () { return ['pwned']; };
    RegExp.prototype.exec = function () { return null; };
    return 'a,b'.split(/,/);
  }
  big() { return { text: 'x'.repeat(10), parts: 'p q'.split(/ /) }; }
`);
const SPLITTER = cls(`split(text) { return text.split(/\\W+/).filter(Boolean); }`);

describe('when a component poisons RegExp.prototype (layer: sandbox)', () => {
  it('affects only its own context, not another component of the same tenant', async () => {
    const poisoner = await supervisor.instantiate(spec(POISONER, { identifier: 'poisoner' }));
    const splitter = await supervisor.instantiate(spec(SPLITTER, { identifier: 'splitter' }));
    expect(await poisoner.call('poison')).toEqual(['pwned']);
    // Results still cross as plain JSON: the bootstrap's serializer uses no regex operation.
    expect(await poisoner.call('big')).toEqual({ text: 'xxxxxxxxxx', parts: ['pwned'] });
    expect(await splitter.call('split', 'hello, sandboxed world')).toEqual(['hello', 'sandboxed', 'world']);
    await poisoner.dispose();
    await splitter.dispose();
  });

  it('still cannot reach Function through its methods', async () => {
    const probe = await supervisor.instantiate(
      spec(
        cls(`
          probe() {
            const out = {};
            try { out.ctor = RegExp.prototype.exec.constructor('return 1')(); } catch (e) { out.ctor = String(e.message); }
            return out;
          }
        `),
        { identifier: 'probe' },
      ),
    );
    const out = (await probe.call('probe')) as { ctor: unknown };
    expect(out.ctor).toMatch(/code generation from strings is disabled/);
    await probe.dispose();
  });
});
