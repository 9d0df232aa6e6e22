import { describe, expect, it } from 'vitest';
import { encodeBase64 } from '../../src/envelope/base64.ts';
import { ConfigError } from '../../src/errors.ts';
import {
  formatPrivateKeyFile,
  formatPublicKeyFile,
  generateKeyPair,
  keyIdOf,
  parsePrivateKey,
  parsePublicKeyFile,
} from '../../src/trust/keys.ts';
import { KEY_A, KEY_B, SMALL_ORDER_KEYS } from './fixtures.ts';

function failure(fn: () => unknown): { code: string; message: string } | undefined {
  try {
    fn();
  } catch (error) {
    if (error instanceof ConfigError) return { code: error.code, message: error.message };
    return { code: 'untyped', message: String(error) };
  }
  return undefined;
}

describe('when generating and storing keys', () => {
  it('round-trips both file formats', () => {
    const pair = generateKeyPair();
    expect(pair.keyid).toBe(keyIdOf(pair.publicKey));
    expect(parsePrivateKey(formatPrivateKeyFile(pair))).toEqual(pair);
    expect(parsePublicKeyFile(formatPublicKeyFile(pair))).toEqual({
      keyid: pair.keyid,
      publicKey: pair.publicKey,
    });
  });

  it('generates distinct keys', () => {
    expect(generateKeyPair().keyid).not.toBe(generateKeyPair().keyid);
  });
});

describe('when a private key file is bad', () => {
  const good = JSON.parse(formatPrivateKeyFile(KEY_A)) as Record<string, unknown>;
  it.each([
    ['not JSON', 'nope'],
    ['wrong type', JSON.stringify({ ...good, type: 'other' })],
    ['extra field', JSON.stringify({ ...good, x: 1 })],
    ['keyid of another key', JSON.stringify({ ...good, keyid: KEY_B.keyid })],
    ['31-byte seed', JSON.stringify({ ...good, privateKey: encodeBase64(new Uint8Array(31)) })],
    ['non-canonical base64', JSON.stringify({ ...good, privateKey: `${String(good['privateKey'])}\n` })],
  ])('throws ERR_PRIVATE_KEY_INVALID for %s, never echoing the seed', (_name, text) => {
    const f = failure(() => parsePrivateKey(text));
    expect(f?.code).toBe('ERR_PRIVATE_KEY_INVALID');
    expect(f?.message).not.toContain(String(good['privateKey']).slice(0, 16));
  });

  it('does not echo the seed when JSON is broken around it', () => {
    const text = formatPrivateKeyFile(KEY_A).replace('}', ',}');
    expect(failure(() => parsePrivateKey(text))?.message).not.toContain(
      String(good['privateKey']).slice(0, 16),
    );
  });
});

describe('when a public key file is bad', () => {
  it('throws ERR_PUBLIC_KEY_INVALID for a keyid mismatch', () => {
    const text = JSON.stringify({ keyid: KEY_B.keyid, publicKey: encodeBase64(KEY_A.publicKey) });
    expect(failure(() => parsePublicKeyFile(text))?.code).toBe('ERR_PUBLIC_KEY_INVALID');
  });

  it('throws ERR_KEY_WEAK for a small-order key', () => {
    const pk = SMALL_ORDER_KEYS[1]!;
    expect(
      failure(() => parsePublicKeyFile(JSON.stringify({ keyid: keyIdOf(pk), publicKey: encodeBase64(pk) })))
        ?.code,
    ).toBe('ERR_KEY_WEAK');
  });
});
