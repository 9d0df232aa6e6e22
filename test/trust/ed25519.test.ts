import { describe, expect, it } from 'vitest';
import { isSmallOrderOrInvalidPublicKey, signEd25519, verifyEd25519 } from '../../src/trust/ed25519.ts';
import { IDENTITY_SIG, KEY_A, SMALL_ORDER_KEYS } from './fixtures.ts';

describe('when verifying Ed25519 signatures', () => {
  const msg = new TextEncoder().encode('hello');
  it('accepts a real signature and refuses a flipped bit', () => {
    const sig = signEd25519(KEY_A.privateKey, msg);
    expect(verifyEd25519(KEY_A.publicKey, msg, sig)).toBe(true);
    sig[10]! ^= 1;
    expect(verifyEd25519(KEY_A.publicKey, msg, sig)).toBe(false);
  });

  it('returns false (never throws) on wrong lengths and types', () => {
    const sig = signEd25519(KEY_A.privateKey, msg);
    expect(verifyEd25519(KEY_A.publicKey.subarray(1), msg, sig)).toBe(false);
    expect(verifyEd25519(KEY_A.publicKey, msg, sig.subarray(1))).toBe(false);
    expect(verifyEd25519('x' as unknown as Uint8Array, msg, sig)).toBe(false);
    expect(verifyEd25519(KEY_A.publicKey, null as unknown as Uint8Array, sig)).toBe(false);
  });

  it('refuses R = identity, S = 0 under every small-order key', () => {
    for (const pk of SMALL_ORDER_KEYS) expect(verifyEd25519(pk, msg, IDENTITY_SIG)).toBe(false);
  });
});

describe('when classifying public keys', () => {
  it('flags every small-order point, bad lengths and non-points', () => {
    for (const pk of SMALL_ORDER_KEYS) expect(isSmallOrderOrInvalidPublicKey(pk)).toBe(true);
    expect(isSmallOrderOrInvalidPublicKey(new Uint8Array(31))).toBe(true);
    // y = 2^255 - 1 is not canonical (>= p).
    expect(isSmallOrderOrInvalidPublicKey(new Uint8Array(32).fill(0xff))).toBe(true);
  });

  it('flags a mixed-order key (valid key plus a torsion point)', async () => {
    const ed = await import('@noble/ed25519');
    const torsion = ed.Point.fromBytes(SMALL_ORDER_KEYS[4]!, false);
    const mixed = ed.Point.fromBytes(KEY_A.publicKey, false).add(torsion).toBytes();
    expect(isSmallOrderOrInvalidPublicKey(mixed)).toBe(true);
  });

  it('accepts a generated key', () => {
    expect(isSmallOrderOrInvalidPublicKey(KEY_A.publicKey)).toBe(false);
  });
});
