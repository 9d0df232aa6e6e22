/**
 * Attack (issue 16 #2): no key needed. An envelope at the size limit carries the four trusted
 * keyids (they are public) with forged signatures, so the node hashes the whole PAE once per
 * signature before refusing. With noble's pure-JS SHA-512 on the event loop that was 2.6 s per
 * 32 MiB envelope.
 * Layers that must stop it: trust (ed25519.ts plugs node:crypto's SHA-512 into noble: strict
 * verify, native hashing) and the policy's envelope size (the loader's byte cap). Refused with
 * ERR_SIGNATURE_INVALID at the cost of native hashing, compared in the same run with four native
 * SHA-512 passes over the same PAE.
 */
import { createHash } from 'node:crypto';
import * as ed from '@noble/ed25519';
import { describe, expect, it } from 'vitest';
import { decodeBase64Strict } from '../../src/envelope/base64.ts';
import { envelopeLimitsFor } from '../../src/envelope/limits.ts';
import { pae } from '../../src/envelope/pae.ts';
import { PAYLOAD_TYPE } from '../../src/envelope/types.ts';
import { SealboxError } from '../../src/errors.ts';
import { DEFAULT_ENVELOPE_SIZE } from '../../src/policy/types.ts';
import { nativeSha512 } from '../../src/trust/ed25519.ts';
import { verifyEnvelope } from '../../src/trust/verify.ts';
import { KEY_A, KEY_B, KEY_C, NOW, ringOf, testKey } from '../trust/fixtures.ts';
import { forgeRaw, payloadWithArtifact, sourceOfSize } from './signed-bytes.ts';

const KEYS = [KEY_A, KEY_B, KEY_C, testKey(4)];
const ring = ringOf(...KEYS);
// The largest envelope the default policy accepts.
const LIMITS = envelopeLimitsFor(DEFAULT_ENVELOPE_SIZE);
const payload = payloadWithArtifact(DEFAULT_ENVELOPE_SIZE.maxArtifactsBytes - 4096, {
  source: sourceOfSize(2 * 1024 * 1024 - 4096),
});
const forged = forgeRaw(payload, KEYS);

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

describe('when an envelope carries forged signatures under every trusted keyid (layer: trust)', () => {
  it('fits the default policy size and is refused with ERR_SIGNATURE_INVALID', () => {
    expect(forged.length).toBeLessThanOrEqual(LIMITS.maxEnvelopeBytes);
    expect(forged.length).toBeGreaterThan(LIMITS.maxEnvelopeBytes * 0.6);
    try {
      verifyEnvelope(forged, ring, { now: NOW, cache: false, limits: LIMITS });
      expect.unreachable('a forged envelope verified');
    } catch (error) {
      expect(error).toBeInstanceOf(SealboxError);
      expect((error as SealboxError).code).toBe('ERR_SIGNATURE_INVALID');
    }
  });

  it('hashes with node:crypto inside noble (strict verify unchanged)', () => {
    expect(ed.hashes.sha512).toBe(nativeSha512);
    const message = new TextEncoder().encode('abc');
    expect(Buffer.from(nativeSha512(message)).toString('hex')).toBe(
      createHash('sha512').update(message).digest('hex'),
    );
  });

  it('costs about four native SHA-512 passes over the PAE, not pure-JS hashing', () => {
    const message = pae(PAYLOAD_TYPE, decodeBase64Strict(JSON.parse(forged).payload as string, 'payload'));
    const native = fastest(3, () => {
      for (let i = 0; i < KEYS.length; i++) createHash('sha512').update(message).digest();
    });
    const refusal = fastest(3, () =>
      verifyEnvelope(forged, ring, { now: NOW, cache: false, limits: LIMITS }),
    );
    // Measured: native hashing ~3.5x the bare passes (decoding, copies, curve math); pure-JS ~12x.
    expect(refusal).toBeLessThan(6 * native);
  });
});
