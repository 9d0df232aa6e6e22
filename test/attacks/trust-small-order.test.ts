/**
 * Attack: the universal-forgery key. With a small-order public key in the keyring, R = identity and
 * S = 0 "verifies" for every message under lenient (ZIP-215 / cofactored) verifiers.
 * Layer that must stop it: trust (Keyring refuses small-order and mixed-order keys at load;
 * verifyEd25519 is strict RFC 8032 with { zip215: false }).
 */
import { describe, expect, it } from 'vitest';
import { encodeBase64 } from '../../src/envelope/base64.ts';
import { canonicalBytes } from '../../src/envelope/canonical-json.ts';
import { pae } from '../../src/envelope/pae.ts';
import { PAYLOAD_TYPE } from '../../src/envelope/types.ts';
import { SealboxError } from '../../src/errors.ts';
import { verifyEd25519 } from '../../src/trust/ed25519.ts';
import { Keyring } from '../../src/trust/keyring.ts';
import { keyIdOf } from '../../src/trust/keys.ts';
import { verifyEnvelope } from '../../src/trust/verify.ts';
import {
  IDENTITY_SIG,
  KEY_A,
  NOW,
  SMALL_ORDER_KEYS,
  entryFor,
  makeStatement,
  ringOf,
} from '../trust/fixtures.ts';

function codeOf(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (error) {
    return error instanceof SealboxError ? error.code : 'untyped';
  }
  return undefined;
}

const smallEntry = (pk: Uint8Array) => ({
  ...entryFor(KEY_A),
  keyid: keyIdOf(pk),
  publicKey: encodeBase64(pk),
});

describe('when a keyring holds a small-order key (layer: trust keyring)', () => {
  it.each(SMALL_ORDER_KEYS.map((pk, i) => [i, pk] as const))(
    'throws ERR_KEY_WEAK at load for point #%i',
    (_i, pk) => {
      expect(codeOf(() => Keyring.parse({ version: 1, keys: [smallEntry(pk)] }))).toBe('ERR_KEY_WEAK');
      expect(
        codeOf(() => Keyring.parse(JSON.stringify({ version: 1, keys: [entryFor(KEY_A), smallEntry(pk)] }))),
      ).toBe('ERR_KEY_WEAK');
      expect(codeOf(() => Keyring.empty().withKey(smallEntry(pk)))).toBe('ERR_KEY_WEAK');
    },
  );
});

describe('when a signature is R = identity, S = 0 (layer: trust ed25519)', () => {
  const payload = canonicalBytes(makeStatement());
  const message = pae(PAYLOAD_TYPE, payload);

  it('is refused by verifyEd25519 under every small-order key and a real key', () => {
    for (const pk of [...SMALL_ORDER_KEYS, KEY_A.publicKey])
      expect(verifyEd25519(pk, message, IDENTITY_SIG)).toBe(false);
  });

  it('throws ERR_SIGNATURE_INVALID from verifyEnvelope', () => {
    const forged = {
      payloadType: PAYLOAD_TYPE,
      payload: encodeBase64(payload),
      signatures: [{ keyid: KEY_A.keyid, sig: encodeBase64(IDENTITY_SIG) }],
    };
    expect(codeOf(() => verifyEnvelope(forged, ringOf(KEY_A), { now: NOW, cache: false }))).toBe(
      'ERR_SIGNATURE_INVALID',
    );
  });
});
