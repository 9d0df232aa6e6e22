/**
 * Attack (issue 16 #1): anyone who can put bytes where a node reads envelopes sends JSON that is
 * small for its size limit but huge in structure: `{"x": {…3.5 million keys…}}` (32 MiB),
 * 11 million `{}`, a long array of numbers. No key, no keyid needed. Before the fix the duplicate-key
 * pre-scan (one Set entry per key) and JSON.parse ran before the three-field shape check:
 * `verifyEnvelope` blocked the event loop 10-14 s, then refused.
 * Layer that must stop it: envelope (json-budget.ts: the text must fit the DSSE shape's own size,
 * counted while scanning, before JSON.parse), with ERR_ENVELOPE_MALFORMED / ERR_TOO_MANY_SIGNATURES.
 * The cost is compared with one native linear pass over the same text, measured in the same run.
 */
import { describe, expect, it } from 'vitest';
import { checkJsonBudget } from '../../src/envelope/json-budget.ts';
import { DEFAULT_ENVELOPE_LIMITS, envelopeBudget } from '../../src/envelope/limits.ts';
import { SealboxError } from '../../src/errors.ts';
import { verifyEnvelope } from '../../src/trust/verify.ts';
import { KEY_A, NOW, ringOf } from '../trust/fixtures.ts';

const MIB = 1024 * 1024;
const ring = ringOf(KEY_A);
// The size limit is raised so that the structure budget, not the byte limit, has to stop these.
const LIMITS = { maxEnvelopeBytes: 64 * MIB };

/** `{"x":{"k0":0,"k1":0,…}}` with `keys` keys. */
function manyKeys(keys: number): string {
  const parts: string[] = [];
  for (let i = 0; i < keys; i++) parts.push(`"k${i}":0`);
  return `{"x":{${parts.join(',')}}}`;
}

/** Fastest of `runs` timings of `fn` (ms): the least disturbed by other processes. */
function fastest(runs: number, fn: () => unknown): number {
  let best = Infinity;
  for (let i = 0; i < runs; i++) {
    const start = performance.now();
    fn();
    best = Math.min(best, performance.now() - start);
  }
  return best;
}

function codeOf(fn: () => unknown): string {
  try {
    fn();
    return 'ACCEPTED';
  } catch (error) {
    return error instanceof SealboxError ? error.code : `UNTYPED ${String(error)}`;
  }
}

const verify = (text: string) => () => verifyEnvelope(text, ring, { now: NOW, cache: false, limits: LIMITS });

// Generated once: 3.5 million keys (~32 MiB), 11 million `{}` (~33 MiB), 4 million numbers.
const BOMBS: readonly (readonly [string, string, string])[] = [
  ['an object with 3.5 million keys', manyKeys(3_500_000), 'ERR_ENVELOPE_MALFORMED'],
  ['11 million {} in an array', `[${'{},'.repeat(11_000_000)}{}]`, 'ERR_ENVELOPE_MALFORMED'],
  [
    '11 million {} under a field',
    `{"signatures":[${'{},'.repeat(11_000_000)}{}]}`,
    'ERR_TOO_MANY_SIGNATURES',
  ],
  ['4 million numbers', `[${'12345678,'.repeat(4_000_000)}1]`, 'ERR_ENVELOPE_MALFORMED'],
  [
    '4 million numbers as signatures',
    `{"signatures":[${'1,'.repeat(4_000_000)}1]}`,
    'ERR_TOO_MANY_SIGNATURES',
  ],
  ['a 4-million-deep nesting', '['.repeat(4_000_000), 'ERR_ENVELOPE_MALFORMED'],
  ['a field name of 8 MiB', `{"${'a'.repeat(8 * MIB)}":1}`, 'ERR_ENVELOPE_MALFORMED'],
];

describe('when an unauthenticated envelope is huge in structure (layer: envelope, json-budget)', () => {
  it.each(BOMBS)('refuses %s with a typed error', (_name, text, code) => {
    expect(codeOf(verify(text))).toBe(code);
  });

  it.each(BOMBS)('refuses %s within a few linear passes over its bytes', (_name, text) => {
    // Baseline: one native linear pass over the same text (a search that never matches).
    const pass = fastest(3, () => text.indexOf('\u0001'));
    const refusal = fastest(3, () => codeOf(verify(text)));
    // Before the fix: JSON.parse and a Set entry per key, 100-1000 passes (10-14 s for 3.5M keys).
    expect(refusal).toBeLessThan(Math.max(20 * pass, 1));
  });

  it('stops scanning at the first character past the DSSE shape', () => {
    const budget = envelopeBudget(DEFAULT_ENVELOPE_LIMITS);
    // The 4th field of an object is refused, wherever the text ends.
    expect(checkJsonBudget('{"a":1,"b":2,"c":3,"d":4', budget)).toMatchObject({
      kind: 'keysPerObject',
      limit: 3,
    });
    expect(checkJsonBudget('[1,2,3,4,5', budget)).toMatchObject({ kind: 'itemsPerArray', limit: 4 });
    expect(checkJsonBudget('[[[[', budget)).toMatchObject({ kind: 'depth', limit: 3 });
    expect(checkJsonBudget('{"a":1,"a":2}', budget)).toEqual({ kind: 'duplicate', key: 'a' });
    expect(checkJsonBudget('{"\\u0061":1,"a":2}', budget)).toEqual({ kind: 'duplicate', key: 'a' });
  });

  it('still accepts every well-formed envelope shape (1 to 4 signatures)', () => {
    const budget = envelopeBudget(DEFAULT_ENVELOPE_LIMITS);
    for (let n = 1; n <= 4; n++) {
      const envelope = {
        payloadType: 'x',
        payload: 'eyJ9',
        signatures: Array.from({ length: n }, (_, i) => ({ keyid: String(i).repeat(64), sig: 'AA==' })),
      };
      expect(checkJsonBudget(JSON.stringify(envelope, null, 2), budget)).toBeUndefined();
    }
  });
});
