/** Signing: canonical statement payload, DSSE PAE, one Ed25519 signature per distinct key. */
import { ConfigError, EnvelopeError } from '../errors.ts';
import { encodeBase64 } from '../envelope/base64.ts';
import { guard } from '../envelope/guard.ts';
import { pae } from '../envelope/pae.ts';
import { buildStatementPayload } from '../envelope/statement.ts';
import {
  MAX_SIGNATURES,
  PAYLOAD_TYPE,
  type Envelope,
  type Signature,
  type Statement,
} from '../envelope/types.ts';
import { publicKeyOf, signEd25519 } from './ed25519.ts';
import { keyIdOf, type KeyPair } from './keys.ts';

function checkKeyPair(pair: unknown, index: number): KeyPair {
  const where = `keys[${index}]`;
  if (pair === null || typeof pair !== 'object')
    throw new ConfigError('ERR_PRIVATE_KEY_INVALID', `${where}: expected a KeyPair`);
  const { privateKey, keyid } = pair as Partial<KeyPair>;
  if (!(privateKey instanceof Uint8Array) || privateKey.length !== 32) {
    throw new ConfigError('ERR_PRIVATE_KEY_INVALID', `${where}: privateKey must be a 32-byte seed`);
  }
  const publicKey = publicKeyOf(privateKey);
  const derived = keyIdOf(publicKey);
  // Defends against signing under a keyid that names another key (a mislabelled pair).
  if (keyid !== derived)
    throw new ConfigError('ERR_PRIVATE_KEY_INVALID', `${where}: keyid does not match the private key`);
  return { keyid: derived, publicKey, privateKey };
}

/**
 * Signs a statement: canonical (RFC 8785) payload, PAE, one signature per distinct key (max 4).
 * Only the statement's own enumerable properties are signed.
 * @throws EnvelopeError ERR_STATEMENT_INVALID / ERR_JSON_INVALID / ERR_DIGEST_MISMATCH (bad statement),
 *   ERR_TOO_MANY_SIGNATURES; ConfigError ERR_PRIVATE_KEY_INVALID
 * @example const envelope = signEnvelope(statement, generateKeyPair());
 */
export function signEnvelope(statement: Statement, keys: KeyPair | readonly KeyPair[]): Envelope {
  return guard(
    () => signUnguarded(statement, keys),
    (cause) =>
      new ConfigError('ERR_PRIVATE_KEY_INVALID', 'signEnvelope: keys could not be read', {}, { cause }),
  );
}

function signUnguarded(statement: Statement, keys: KeyPair | readonly KeyPair[]): Envelope {
  const list = Array.isArray(keys) ? (keys as readonly KeyPair[]) : [keys as KeyPair];
  if (list.length === 0)
    throw new ConfigError('ERR_PRIVATE_KEY_INVALID', 'signEnvelope: expected at least one key');
  const pairs: KeyPair[] = [];
  const seen = new Set<string>();
  list.forEach((pair, i) => {
    const checked = checkKeyPair(pair, i);
    if (!seen.has(checked.keyid)) {
      seen.add(checked.keyid);
      pairs.push(checked);
    }
  });
  if (pairs.length > MAX_SIGNATURES) {
    throw new EnvelopeError(
      'ERR_TOO_MANY_SIGNATURES',
      `signEnvelope: expected at most ${MAX_SIGNATURES} distinct keys, got ${pairs.length}`,
    );
  }
  const payload = buildStatementPayload(statement);
  const message = pae(PAYLOAD_TYPE, payload);
  const signatures: Signature[] = pairs.map((pair) =>
    Object.freeze({ keyid: pair.keyid, sig: encodeBase64(signEd25519(pair.privateKey, message)) }),
  );
  return Object.freeze({
    payloadType: PAYLOAD_TYPE,
    payload: encodeBase64(payload),
    signatures: Object.freeze(signatures),
  });
}
