/**
 * Ed25519 key pairs, key ids, and the two key file formats:
 * `NAME.key` = `{ "type": "sealbox-ed25519-private-key", "keyid", "privateKey": base64 seed }` (0600)
 * `NAME.pub.json` = `{ "keyid", "publicKey": base64 }`.
 */
import { createHash } from 'node:crypto';
import { ConfigError } from '../errors.ts';
import { decodeBase64Strict, encodeBase64 } from '../envelope/base64.ts';
import { guard } from '../envelope/guard.ts';
import { isSmallOrderOrInvalidPublicKey, publicKeyOf, randomSeed } from './ed25519.ts';

/** The `type` of a private key file. */
export const PRIVATE_KEY_TYPE = 'sealbox-ed25519-private-key';

/** An Ed25519 key pair. `privateKey` is the 32-byte RFC 8032 seed: never print or log it. */
export interface KeyPair {
  readonly keyid: string;
  readonly publicKey: Uint8Array;
  readonly privateKey: Uint8Array;
}

/** A public key file's content. */
export interface PublicKeyFile {
  readonly keyid: string;
  readonly publicKey: Uint8Array;
}

const MAX_KEY_FILE_CHARS = 4096;

/** Hex SHA-256 of the raw 32-byte public key: the key id. */
export function keyIdOf(publicKey: Uint8Array): string {
  return createHash('sha256').update(publicKey).digest('hex');
}

/**
 * A fresh key pair from the platform CSPRNG.
 * @example const { keyid } = generateKeyPair();
 */
export function generateKeyPair(): KeyPair {
  const privateKey = randomSeed();
  const publicKey = publicKeyOf(privateKey);
  return Object.freeze({ keyid: keyIdOf(publicKey), publicKey, privateKey });
}

/** The key pair of a known 32-byte seed (tests, fixtures, HSM exports). */
export function keyPairFromSeed(seed: Uint8Array): KeyPair {
  if (!(seed instanceof Uint8Array) || seed.length !== 32) {
    throw new ConfigError('ERR_PRIVATE_KEY_INVALID', 'private key: expected a 32-byte Ed25519 seed');
  }
  const privateKey = Uint8Array.from(seed);
  const publicKey = publicKeyOf(privateKey);
  return Object.freeze({ keyid: keyIdOf(publicKey), publicKey, privateKey });
}

/** Text of a `NAME.key` file (JSON, trailing newline). Contains the secret: write it 0600. */
export function formatPrivateKeyFile(pair: KeyPair): string {
  return `${JSON.stringify({ type: PRIVATE_KEY_TYPE, keyid: pair.keyid, privateKey: encodeBase64(pair.privateKey) }, null, 2)}\n`;
}

/** Text of a `NAME.pub.json` file. */
export function formatPublicKeyFile(pair: { keyid: string; publicKey: Uint8Array }): string {
  return `${JSON.stringify({ keyid: pair.keyid, publicKey: encodeBase64(pair.publicKey) }, null, 2)}\n`;
}

function parseSmallJson(
  text: unknown,
  what: string,
  fail: (message: string) => never,
): Record<string, unknown> {
  if (typeof text !== 'string') fail(`${what}: expected JSON text`);
  if (text.length > MAX_KEY_FILE_CHARS) fail(`${what}: expected at most ${MAX_KEY_FILE_CHARS} characters`);
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    // The SyntaxError would quote the file (a secret, for private keys): never include it.
    fail(`${what}: not valid JSON`);
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value))
    fail(`${what}: expected a JSON object`);
  return value as Record<string, unknown>;
}

function exactKeys(
  obj: Record<string, unknown>,
  keys: readonly string[],
  what: string,
  fail: (m: string) => never,
): void {
  for (const key of Object.keys(obj)) {
    if (!keys.includes(key)) fail(`${what}: unexpected field ${JSON.stringify(key.slice(0, 64))}`);
  }
  for (const key of keys)
    if (!Object.prototype.hasOwnProperty.call(obj, key)) fail(`${what}: missing field ${key}`);
}

/**
 * Parses a `NAME.key` file. The seed is never echoed into an error message.
 * @throws ConfigError ERR_PRIVATE_KEY_INVALID (malformed, wrong type, wrong length, keyid mismatch)
 */
export function parsePrivateKey(text: string): KeyPair {
  return guard(
    () => parsePrivateUnguarded(text),
    (cause) => new ConfigError('ERR_PRIVATE_KEY_INVALID', 'private key could not be read', {}, { cause }),
  );
}

function parsePrivateUnguarded(text: string): KeyPair {
  const fail = (message: string): never => {
    throw new ConfigError('ERR_PRIVATE_KEY_INVALID', message);
  };
  const obj = parseSmallJson(text, 'private key', fail);
  exactKeys(obj, ['type', 'keyid', 'privateKey'], 'private key', fail);
  if (obj['type'] !== PRIVATE_KEY_TYPE) fail(`private key: type must be ${PRIVATE_KEY_TYPE}`);
  const keyid = obj['keyid'];
  if (typeof keyid !== 'string' || !/^[0-9a-f]{64}$/.test(keyid))
    fail('private key: keyid must be 64 lowercase hex');
  const encoded = obj['privateKey'];
  if (typeof encoded !== 'string') return fail('private key: privateKey must be a base64 string');
  let seed: Uint8Array;
  try {
    seed = decodeBase64Strict(encoded, 'privateKey');
  } catch {
    return fail('private key: privateKey is not canonical base64');
  }
  if (seed.length !== 32) fail(`private key: expected a 32-byte seed, got ${seed.length} bytes`);
  const pair = keyPairFromSeed(seed);
  // Defends against a mislabelled key file: the stated keyid must be the derived one.
  if (pair.keyid !== keyid)
    fail(`private key: keyid ${String(keyid)} does not match the key (derived ${pair.keyid})`);
  return pair;
}

/**
 * Parses a `NAME.pub.json` file: `{ keyid, publicKey }`.
 * @throws ConfigError ERR_PUBLIC_KEY_INVALID (malformed, keyid mismatch), ERR_KEY_WEAK (invalid or small-order point)
 */
export function parsePublicKeyFile(text: string): PublicKeyFile {
  return guard(
    () => parsePublicUnguarded(text),
    (cause) => new ConfigError('ERR_PUBLIC_KEY_INVALID', 'public key could not be read', {}, { cause }),
  );
}

function parsePublicUnguarded(text: string): PublicKeyFile {
  const fail = (message: string): never => {
    throw new ConfigError('ERR_PUBLIC_KEY_INVALID', message);
  };
  const obj = parseSmallJson(text, 'public key', fail);
  exactKeys(obj, ['keyid', 'publicKey'], 'public key', fail);
  const encoded = obj['publicKey'];
  if (typeof encoded !== 'string') return fail('public key: publicKey must be a base64 string');
  let publicKey: Uint8Array;
  try {
    publicKey = decodeBase64Strict(encoded, 'publicKey');
  } catch {
    return fail('public key: publicKey is not canonical base64');
  }
  if (publicKey.length !== 32) fail(`public key: expected 32 bytes, got ${publicKey.length}`);
  if (isSmallOrderOrInvalidPublicKey(publicKey)) {
    throw new ConfigError(
      'ERR_KEY_WEAK',
      'public key: not a valid prime-order Ed25519 point (small-order or invalid)',
    );
  }
  const keyid = keyIdOf(publicKey);
  if (obj['keyid'] !== keyid) fail(`public key: keyid does not match the key (derived ${keyid})`);
  return Object.freeze({ keyid, publicKey });
}
