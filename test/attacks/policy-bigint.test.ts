/**
 * Attack: `String(7n ** 12000000n)` — BigInt arithmetic and toString ignore the isolate timeout
 * (measured: 1.8 s of V8 work under a 200 ms budget for the power alone, minutes for the string),
 * keep running after the isolate is disposed and can bring down a worker shared with other
 * tenants. Operators cannot be wrapped, so the sound bound is that BigInts do not exist unless
 * granted. Layers: the AST policy refuses BigInt literals (rule syntax.bigint) and the BigInt
 * globals (PolicyError ERR_POLICY_VIOLATION); the sandbox refuses to make BigInts at run time
 * (test/attacks/sandbox-bigint.test.ts). A policy that lists BigIntLiteral grants both.
 */
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PolicyError } from '../../src/errors.ts';
import { createLoader, type Loader } from '../../src/loader.ts';
import { checkSource } from '../../src/policy/check.ts';
import { loadPolicy } from '../../src/policy/load.ts';
import { bigintGrantingPolicyText, defaultPolicy, FIXTURES_DIR } from '../policy/support.ts';
import { evil, harness, type Harness } from './pipeline-support.ts';

const ATTACK = evil('return String(7n ** 12000000n).length;');
const GRANTED_FIXTURE = readFileSync(`${FIXTURES_DIR}bigint-granted.js`, 'utf8');
const strictPolicy = loadPolicy(new URL('../../policies/strict.yaml', import.meta.url).pathname).forTenant(
  'acme',
);

function rules(source: string, policy = defaultPolicy): string[] {
  return checkSource(source, policy, { requires: [] }).violations.map((v) => v.rule);
}

let h: Harness;
let grantedLoader: Loader;

beforeAll(() => {
  h = harness();
  grantedLoader = createLoader({
    keyring: h.world.keyring,
    // The outcome, not the clock, decides: a deadline that survives a busy machine (worker spawn).
    policy: h.world.write('granted.yaml', bigintGrantingPolicyText(5000)),
    workers: 1,
  });
});

afterAll(async () => {
  await grantedLoader.close();
  await h.close();
});

describe('when a component computes with huge BigInts (layer: policy, rule syntax.bigint)', () => {
  it('refuses the BigInt literals of String(7n ** 12000000n) under default.yaml and strict.yaml', () => {
    expect(rules(ATTACK)).toEqual(['syntax.bigint', 'syntax.bigint']);
    expect(rules(ATTACK, strictPolicy)).toEqual(['syntax.bigint', 'syntax.bigint']);
  });

  it('refuses the BigInt globals, which make BigInts from strings and typed arrays', () => {
    expect(rules(evil("return BigInt('9'.repeat(100000)) * BigInt(a);"))).toEqual([
      'globals.not-allowed',
      'globals.not-allowed',
    ]);
    expect(rules(evil('return new BigInt64Array(a)[0] === new BigUint64Array(a)[0];'))).toEqual([
      'globals.not-allowed',
      'globals.not-allowed',
    ]);
  });

  it('throws PolicyError ERR_POLICY_VIOLATION before any isolate exists when a node loads it', async () => {
    const error = await h.loader.load(h.envelope(ATTACK), { tenant: 'acme' }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(PolicyError);
    expect(error).toMatchObject({ code: 'ERR_POLICY_VIOLATION' });
    expect((error as PolicyError).violations.map((v) => v.rule)).toContain('syntax.bigint');
  });

  it('accepts BigInt code, at check and at run time, where the policy lists BigIntLiteral', async () => {
    const granted = loadPolicy(h.world.write('granted-check.yaml', bigintGrantingPolicyText())).forTenant(
      'acme',
    );
    expect(rules(GRANTED_FIXTURE)).toContain('syntax.bigint');
    expect(rules(GRANTED_FIXTURE, granted)).toEqual([]);
    const source = evil(
      'return [String(BigInt(a) ** 3n), new BigInt64Array([5n]).join(), String(new DataView(new ArrayBuffer(8)).getBigUint64(0))];',
    );
    const component = await grantedLoader.load(h.envelope(source), { tenant: 'acme' });
    expect(await component.call('run', 12)).toEqual(['1728', '5', '0']);
  });
});
