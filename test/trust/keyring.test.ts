import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { encodeBase64 } from '../../src/envelope/base64.ts';
import { ConfigError, SealboxError } from '../../src/errors.ts';
import { Keyring } from '../../src/trust/keyring.ts';
import { keyIdOf } from '../../src/trust/keys.ts';
import { KEY_A, KEY_B, SMALL_ORDER_KEYS, entryFor } from './fixtures.ts';

function failure(fn: () => unknown): { code: string; where?: unknown } | undefined {
  try {
    fn();
  } catch (error) {
    if (error instanceof SealboxError) return { code: error.code, where: error.details['where'] };
    return { code: `untyped ${String(error)}` };
  }
  return undefined;
}

describe('when parsing a valid keyring', () => {
  const text = JSON.stringify({
    version: 2,
    keys: [entryFor(KEY_A, { validUntil: '2030-01-01T00:00:00Z', comment: 'ci' })],
  });
  it('parses text and objects to the same frozen keyring', () => {
    const ring = Keyring.parse(text);
    expect(ring.version).toBe(2);
    expect(ring.get(KEY_A.keyid)?.comment).toBe('ci');
    expect(Keyring.parse(JSON.parse(text) as object).revision).toBe(ring.revision);
    expect(Object.isFrozen(ring)).toBe(true);
    expect(Object.isFrozen(ring.entries[0])).toBe(true);
    expect(Keyring.parse(JSON.stringify(ring.toJSON())).revision).toBe(ring.revision);
  });

  it('loads from a file', () => {
    const dir = mkdtempSync(join(tmpdir(), 'sealbox-ring-'));
    writeFileSync(join(dir, 'k.json'), text);
    expect(Keyring.load(join(dir, 'k.json')).get(KEY_A.keyid)).toBeDefined();
    expect(failure(() => Keyring.load(join(dir, 'missing.json')))?.code).toBe('ERR_IO');
  });

  it('changes revision and version on every edit', () => {
    const empty = Keyring.empty();
    const one = empty.withKey(entryFor(KEY_A));
    const revoked = one.withRevoked(KEY_A.keyid);
    expect(new Set([empty.revision, one.revision, revoked.revision]).size).toBe(3);
    expect([empty.version, one.version, revoked.version]).toEqual([0, 1, 2]);
    expect(revoked.get(KEY_A.keyid)?.status).toBe('revoked');
    expect(one.get(KEY_A.keyid)?.status).toBe('active');
  });
});

describe('when a keyring breaks a rule', () => {
  const ring = (keys: unknown[], extra: object = {}) => ({ version: 1, keys, ...extra });
  it.each([
    ['an unknown top-level field', ring([], { trusted: true }), '$.trusted'],
    ['a negative version', { version: -1, keys: [] }, '$.version'],
    ['keys not an array', { version: 1, keys: {} }, '$.keys'],
    ['an unknown entry field', ring([{ ...entryFor(KEY_A), admin: true }]), 'keys[0].admin'],
    ['a missing status', ring([{ ...entryFor(KEY_A), status: undefined }]), 'keys[0].status'],
    ['a wrong status', ring([entryFor(KEY_A, { status: 'trusted' })]), 'keys[0].status'],
    ['a keyid of another key', ring([entryFor(KEY_A, { keyid: KEY_B.keyid })]), 'keys[0].keyid'],
    [
      'a short public key',
      ring([entryFor(KEY_A, { publicKey: encodeBase64(new Uint8Array(31)) })]),
      'keys[0].publicKey',
    ],
    ['no tenants', ring([entryFor(KEY_A, { tenants: [] })]), 'keys[0].tenants'],
    ['a tenant wildcard', ring([entryFor(KEY_A, { tenants: ['*'] })]), 'keys[0].tenants[0]'],
    ['a regex identifier', ring([entryFor(KEY_A, { identifiers: ['(a+)+'] })]), 'keys[0].identifiers[0]'],
    ['a bad validUntil', ring([entryFor(KEY_A, { validUntil: 'tomorrow' })]), 'keys[0].validUntil'],
    [
      'validUntil before validFrom',
      ring([entryFor(KEY_A, { validFrom: '2027-01-01T00:00:00Z', validUntil: '2026-01-01T00:00:00Z' })]),
      'keys[0].validUntil',
    ],
    ['a duplicate key', ring([entryFor(KEY_A), entryFor(KEY_A, { tenants: ['other'] })]), 'keys[1].keyid'],
    ['a control character in a comment', ring([entryFor(KEY_A, { comment: 'a\u0007' })]), 'keys[0].comment'],
  ])('throws ERR_KEYRING_INVALID for %s, naming %s', (_name, value, where) => {
    const clean = JSON.parse(JSON.stringify(value)) as object;
    expect(failure(() => Keyring.parse(clean))).toEqual({ code: 'ERR_KEYRING_INVALID', where });
    expect(failure(() => Keyring.parse(JSON.stringify(clean)))?.code).toBe('ERR_KEYRING_INVALID');
  });

  it('throws ERR_KEYRING_INVALID for duplicate JSON keys and deep nesting', () => {
    expect(failure(() => Keyring.parse('{"version":1,"keys":[],"keys":[]}'))?.code).toBe(
      'ERR_KEYRING_INVALID',
    );
    expect(failure(() => Keyring.parse('['.repeat(100_000)))?.code).toBe('ERR_KEYRING_INVALID');
    expect(failure(() => Keyring.parse('not json'))?.code).toBe('ERR_KEYRING_INVALID');
  });

  it.each(SMALL_ORDER_KEYS.map((pk, i) => [i, pk] as const))(
    'throws ERR_KEY_WEAK for small-order key #%i',
    (_i, pk) => {
      const entry = { ...entryFor(KEY_A), keyid: keyIdOf(pk), publicKey: encodeBase64(pk) };
      const f = failure(() => Keyring.parse({ version: 1, keys: [entry] }));
      expect(f?.code).toBe('ERR_KEY_WEAK');
      expect(() => Keyring.parse({ version: 1, keys: [entry] })).toThrow(ConfigError);
    },
  );

  it('refuses adding a key twice and revoking an unknown key', () => {
    const one = Keyring.empty().withKey(entryFor(KEY_A));
    expect(failure(() => one.withKey(entryFor(KEY_A)))?.code).toBe('ERR_KEYRING_INVALID');
    expect(failure(() => one.withRevoked(KEY_B.keyid))?.code).toBe('ERR_KEY_UNKNOWN');
  });
});
