/**
 * Attack (issue 16 #3): a tenant signs, with its own trusted key, a statement whose `params` hold
 * 1.2 million keys (16 MB, under every byte limit). Before the fix the host parsed,
 * canonicalised, froze and re-encoded it on the event loop: 8.4-8.5 s blocked for every tenant.
 * Layer that must stop it: envelope (statement structural budgets `maxJsonKeys`,
 * `maxKeysPerObject`, `maxJsonValues`, `maxKeyLength`, counted in one scan before JSON.parse),
 * with ERR_INPUT_TOO_LARGE naming the budget. The cost is compared with an envelope of the same
 * size whose params are one string (linear work only), measured in the same run.
 */
import { describe, expect, it } from 'vitest';
import { DEFAULT_ENVELOPE_LIMITS } from '../../src/envelope/limits.ts';
import { SealboxError } from '../../src/errors.ts';
import { verifyEnvelope } from '../../src/trust/verify.ts';
import { KEY_A, NOW, ringOf } from '../trust/fixtures.ts';
import { manyKeysText, payloadWithParams, signRaw } from './signed-bytes.ts';

const MIB = 1024 * 1024;
const ring = ringOf(KEY_A);
// Byte limits raised: the structural budget, not the size limit, has to stop these.
const LIMITS = { maxEnvelopeBytes: 64 * MIB };

function refusal(text: string): SealboxError {
  try {
    verifyEnvelope(text, ring, { now: NOW, cache: false, limits: LIMITS });
  } catch (error) {
    if (error instanceof SealboxError) return error;
    throw error;
  }
  throw new Error('accepted');
}

function fastest(runs: number, fn: () => unknown): number {
  let best = Infinity;
  for (let i = 0; i < runs; i++) {
    const start = performance.now();
    try {
      fn();
    } catch {
      // timed either way
    }
    best = Math.min(best, performance.now() - start);
  }
  return best;
}

const manyKeys = payloadWithParams(manyKeysText(1_200_000));
const manyKeysEnvelope = signRaw(manyKeys, [KEY_A]);
const manyNumbers = payloadWithParams(`[${'1234.5,'.repeat(1_500_000)}1]`);
const manyNumbersEnvelope = signRaw(manyNumbers, [KEY_A]);

describe("when a tenant's own signed params are huge in structure (layer: envelope statement budgets)", () => {
  it('refuses 1.2 million params keys with ERR_INPUT_TOO_LARGE naming the key budget', () => {
    expect(manyKeysEnvelope.length).toBeGreaterThan(16 * 1000 * 1000);
    const error = refusal(manyKeysEnvelope);
    expect(error.code).toBe('ERR_INPUT_TOO_LARGE');
    expect(error.details).toMatchObject({
      budget: 'keysPerObject',
      limit: DEFAULT_ENVELOPE_LIMITS.maxKeysPerObject,
    });
  });

  it('refuses 1.5 million params numbers with ERR_INPUT_TOO_LARGE naming the value budget', () => {
    const error = refusal(manyNumbersEnvelope);
    expect(error.code).toBe('ERR_INPUT_TOO_LARGE');
    expect(error.details).toMatchObject({
      budget: 'totalValues',
      limit: DEFAULT_ENVELOPE_LIMITS.maxJsonValues,
    });
  });

  it('refuses them at no more cost than an envelope of the same size without structure', () => {
    for (const payload of [manyKeys, manyNumbers]) {
      const text = signRaw(payload, [KEY_A]);
      // Baseline: the same number of bytes as one params string (accepted: linear work only).
      const flat = signRaw(payloadWithParams(JSON.stringify('x'.repeat(payload.length - 600))), [KEY_A]);
      const baseline = fastest(3, () =>
        verifyEnvelope(flat, ring, { now: NOW, cache: false, limits: LIMITS }),
      );
      const attack = fastest(2, () => refusal(text));
      // Before the fix: 8.5 s for 1.2 million keys, many times the flat envelope's cost.
      expect(attack).toBeLessThan(2 * baseline);
    }
  });

  it('still accepts params at the budget (4000 keys) and keeps them intact', () => {
    const text = signRaw(payloadWithParams(manyKeysText(4000)), [KEY_A]);
    const verified = verifyEnvelope(text, ring, { now: NOW, cache: false });
    expect(Object.keys(verified.statement.params as object)).toHaveLength(4000);
  });

  it('refuses one key more than maxKeysPerObject allows, with the limit lowered', () => {
    const text = signRaw(payloadWithParams(manyKeysText(101)), [KEY_A]);
    const lowered = { maxKeysPerObject: 100 };
    expect(() => verifyEnvelope(text, ring, { now: NOW, cache: false, limits: lowered })).toThrow(
      expect.objectContaining({ code: 'ERR_INPUT_TOO_LARGE' }) as Error,
    );
    const fits = signRaw(payloadWithParams(manyKeysText(100)), [KEY_A]);
    expect(verifyEnvelope(fits, ring, { now: NOW, cache: false, limits: lowered }).statement.version).toBe(3);
  });
});
