/**
 * The one place sealbox calls @noble/ed25519. Everything else signs and verifies through here, so
 * the strict-verification policy is set once.
 */
import { hash } from 'node:crypto';
import * as ed from '@noble/ed25519';

/** SHA-512 through node:crypto (OpenSSL), one native call per message. */
export function nativeSha512(message: Uint8Array): Uint8Array<ArrayBuffer> {
  const digest = hash('sha512', message, 'buffer');
  return new Uint8Array(digest.buffer as ArrayBuffer, digest.byteOffset, digest.byteLength);
}

// The synchronous noble API needs a SHA-512 implementation.
// Defends against forged signatures as a CPU attack: every signature whose keyid is in the keyring
// costs one SHA-512 of the whole PAE (R || A || message). Pure-JS SHA-512 took ~0.6 s per 8 MiB on
// the event loop; OpenSSL's is more than ten times faster (bench/verify.ts measures both).
// Not a defence against the hashing itself: the envelope size limit bounds that (docs/envelope.md).
// Noble checks the digest is 64 bytes; the signature math stays in noble (strict mode below).
ed.hashes.sha512 = nativeSha512;

// Policy: strict RFC 8032 verification ({ zip215: false }), not noble's ZIP-215 default.
// Defends against signatures that verify for any message under a small-order public key, and
// against non-canonical encodings of R and A (Wycheproof tcId 151) that ZIP-215 accepts.
const STRICT = Object.freeze({ zip215: false });

/**
 * Verifies an Ed25519 signature (strict RFC 8032). Never throws: wrong types or lengths, invalid
 * points and non-canonical scalars all return false.
 * @example verifyEd25519(publicKey, message, signature) // true or false
 */
export function verifyEd25519(publicKey: Uint8Array, message: Uint8Array, signature: Uint8Array): boolean {
  if (!(publicKey instanceof Uint8Array) || publicKey.length !== 32) return false;
  if (!(signature instanceof Uint8Array) || signature.length !== 64) return false;
  if (!(message instanceof Uint8Array)) return false;
  try {
    return ed.verify(signature, message, publicKey, STRICT) === true;
  } catch {
    return false;
  }
}

/**
 * Signs `message` with a 32-byte Ed25519 seed (RFC 8032, deterministic).
 * @throws RangeError/TypeError from noble on a wrong seed length; callers validate first.
 */
export function signEd25519(privateKey: Uint8Array, message: Uint8Array): Uint8Array {
  return ed.sign(message, privateKey);
}

/** The 32-byte public key of a 32-byte Ed25519 seed. */
export function publicKeyOf(privateKey: Uint8Array): Uint8Array {
  return ed.getPublicKey(privateKey);
}

/** 32 random bytes from the platform CSPRNG: a fresh Ed25519 seed. */
export function randomSeed(): Uint8Array {
  return ed.utils.randomSecretKey();
}

/**
 * True when `publicKey` is not a usable Ed25519 key: wrong length, not a canonical encoding of a
 * curve point, of small order (in the 8-torsion subgroup, identity included), or with a torsion
 * component (not in the prime-order subgroup, which no honest key generator produces).
 * Defends against the universal-forgery key: with a small-order key, R = identity and S = 0
 * "verify" for every message under cofactored or lenient verifiers.
 */
export function isSmallOrderOrInvalidPublicKey(publicKey: Uint8Array): boolean {
  if (!(publicKey instanceof Uint8Array) || publicKey.length !== 32) return true;
  try {
    const point = ed.Point.fromBytes(publicKey, false);
    return point.isSmallOrder() || !point.isTorsionFree();
  } catch {
    return true;
  }
}
