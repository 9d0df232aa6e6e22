import { describe, expect, it } from 'vitest';
import { encodeBase64 } from '../../src/envelope/base64.ts';
import { canonicalBytes } from '../../src/envelope/canonical-json.ts';
import { encodeEnvelope } from '../../src/envelope/envelope.ts';
import { pae } from '../../src/envelope/pae.ts';
import { PAYLOAD_TYPE, type Envelope } from '../../src/envelope/types.ts';
import { SealboxError } from '../../src/errors.ts';
import { signEd25519 } from '../../src/trust/ed25519.ts';
import { Keyring } from '../../src/trust/keyring.ts';
import { MemoryRollbackStore } from '../../src/trust/rollback.ts';
import { signEnvelope } from '../../src/trust/sign.ts';
import { VerifyCache } from '../../src/trust/verify-cache.ts';
import { verifyEnvelope, type VerifyOptions } from '../../src/trust/verify.ts';
import { KEY_A, KEY_B, KEY_C, NOW, entryFor, makeStatement, ringOf, testKey } from './fixtures.ts';

function codeOf(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (error) {
    return error instanceof SealboxError ? error.code : `untyped ${String(error)}`;
  }
  return undefined;
}

const opts = (o: VerifyOptions = {}): VerifyOptions => ({ now: NOW, cache: false, ...o });
const ring1 = (overrides: Parameters<typeof entryFor>[1]) =>
  Keyring.parse({ version: 1, keys: [entryFor(KEY_A, overrides)] });

/** Signs raw payload bytes as-is (for non-canonical payload tests). */
function signRaw(payload: Uint8Array, ...keys: (typeof KEY_A)[]): Envelope {
  const message = pae(PAYLOAD_TYPE, payload);
  return {
    payloadType: PAYLOAD_TYPE,
    payload: encodeBase64(payload),
    signatures: keys.map((k) => ({ keyid: k.keyid, sig: encodeBase64(signEd25519(k.privateKey, message)) })),
  };
}

describe('when the envelope is valid', () => {
  const env = signEnvelope(makeStatement(), [KEY_A, KEY_B]);

  it('returns the frozen verified statement, digest and signers for every input form', () => {
    for (const input of [env, encodeEnvelope(env), new TextEncoder().encode(encodeEnvelope(env))]) {
      const v = verifyEnvelope(input, ringOf(KEY_A, KEY_B), opts({ tenant: 'acme', threshold: 2 }));
      expect(v.statement.identifier).toBe('tokenizer');
      expect(v.signers).toEqual([KEY_A.keyid, KEY_B.keyid]);
      expect(v.keyringRevision).toBe(ringOf(KEY_A, KEY_B).revision);
      expect(Object.isFrozen(v)).toBe(true);
    }
  });

  it('counts only keys in the keyring', () => {
    expect(verifyEnvelope(env, ringOf(KEY_B), opts()).signers).toEqual([KEY_B.keyid]);
  });
});

describe('when a check refuses the envelope', () => {
  const env = signEnvelope(makeStatement(), KEY_A);
  it.each([
    ['ERR_KEY_UNKNOWN', () => verifyEnvelope(env, ringOf(KEY_B), opts())],
    ['ERR_KEY_REVOKED', () => verifyEnvelope(env, ring1({ status: 'revoked' }), opts())],
    [
      'ERR_SIGNATURE_INVALID',
      () =>
        verifyEnvelope(
          {
            ...env,
            signatures: [
              {
                keyid: KEY_A.keyid,
                sig: signEnvelope(makeStatement({ version: 4 }), KEY_A).signatures[0]!.sig,
              },
            ],
          },
          ringOf(KEY_A),
          opts(),
        ),
    ],
    ['ERR_KEY_TENANT_SCOPE', () => verifyEnvelope(env, ring1({ tenants: ['globex'] }), opts())],
    ['ERR_KEY_IDENTIFIER_SCOPE', () => verifyEnvelope(env, ring1({ identifiers: ['scorer-*'] }), opts())],
    ['ERR_KEY_EXPIRED', () => verifyEnvelope(env, ring1({ validUntil: '2026-05-01T00:00:00Z' }), opts())],
    [
      'ERR_KEY_NOT_YET_VALID',
      () => verifyEnvelope(env, ring1({ validFrom: '2026-07-01T00:00:00Z' }), opts()),
    ],
    ['ERR_THRESHOLD', () => verifyEnvelope(env, ringOf(KEY_A, KEY_B), opts({ threshold: 2 }))],
    ['ERR_TENANT_MISMATCH', () => verifyEnvelope(env, ringOf(KEY_A), opts({ tenant: 'globex' }))],
    [
      'ERR_STATEMENT_EXPIRED',
      () =>
        verifyEnvelope(
          signEnvelope(makeStatement({ expiresAt: '2026-02-01T00:00:00Z' }), KEY_A),
          ringOf(KEY_A),
          opts(),
        ),
    ],
    [
      'ERR_STATEMENT_NOT_YET_VALID',
      () =>
        verifyEnvelope(
          signEnvelope(makeStatement({ issuedAt: '2026-06-01T01:00:00Z' }), KEY_A),
          ringOf(KEY_A),
          opts(),
        ),
    ],
    ['ERR_EXPIRY_REQUIRED', () => verifyEnvelope(env, ringOf(KEY_A), opts({ requireExpiry: true }))],
    ['ERR_CONFIG_INVALID', () => verifyEnvelope(env, ringOf(KEY_A), { treshold: 2 } as VerifyOptions)],
    ['ERR_CONFIG_INVALID', () => verifyEnvelope(env, ringOf(KEY_A), opts({ threshold: 5 }))],
    ['ERR_CONFIG_INVALID', () => verifyEnvelope(env, {} as Keyring, opts())],
  ])('throws %s', (code, fn) => {
    expect(codeOf(fn)).toBe(code);
  });

  it('throws ERR_ROLLBACK and ERR_ROLLBACK_DIGEST through the rollback store', () => {
    const rollback = new MemoryRollbackStore();
    verifyEnvelope(signEnvelope(makeStatement({ version: 5 }), KEY_A), ringOf(KEY_A), opts({ rollback }));
    expect(codeOf(() => verifyEnvelope(env, ringOf(KEY_A), opts({ rollback })))).toBe('ERR_ROLLBACK');
    const other = signEnvelope(makeStatement({ version: 5, repr: 'another build' }), KEY_A);
    expect(codeOf(() => verifyEnvelope(other, ringOf(KEY_A), opts({ rollback })))).toBe(
      'ERR_ROLLBACK_DIGEST',
    );
    // The same bytes again are fine (idempotent reload).
    verifyEnvelope(signEnvelope(makeStatement({ version: 5 }), KEY_A), ringOf(KEY_A), opts({ rollback }));
  });

  it('does not record rollback state for a refused statement', () => {
    const rollback = new MemoryRollbackStore();
    expect(codeOf(() => verifyEnvelope(env, ringOf(KEY_A), opts({ rollback, tenant: 'globex' })))).toBe(
      'ERR_TENANT_MISMATCH',
    );
    expect(rollback.highest('acme', 'tokenizer')).toBeUndefined();
  });

  it('counts a key with a valid signature once, even when listed under two keyids', () => {
    const env2 = signEnvelope(makeStatement(), [KEY_A, KEY_B]);
    const forged = {
      ...env2,
      signatures: [env2.signatures[0]!, { keyid: KEY_C.keyid, sig: env2.signatures[0]!.sig }],
    };
    expect(codeOf(() => verifyEnvelope(forged, ringOf(KEY_A, KEY_C), opts({ threshold: 2 })))).toBe(
      'ERR_THRESHOLD',
    );
  });

  it('lets the most specific reason win when no key counts', () => {
    const env2 = signEnvelope(makeStatement(), [KEY_A, KEY_B]);
    const ring = Keyring.parse({
      version: 1,
      keys: [entryFor(KEY_A, { tenants: ['globex'] }), entryFor(KEY_B, { status: 'revoked' })],
    });
    expect(codeOf(() => verifyEnvelope(env2, ring, opts()))).toBe('ERR_KEY_TENANT_SCOPE');
  });
});

describe('when the payload is not canonical but correctly signed', () => {
  const text = new TextDecoder().decode(canonicalBytes(makeStatement()));
  it.each([
    ['extra whitespace', text.replace('{', '{ ')],
    ['reordered keys', `{"tenant":"acme",${text.slice(1).replace('"tenant":"acme",', '')}`],
    ['a duplicate key', text.replace('{"_type"', '{"version":1,"_type"')],
  ])('throws ERR_PAYLOAD_NOT_CANONICAL for %s', (_name, payload) => {
    const env = signRaw(new TextEncoder().encode(payload), KEY_A);
    expect(codeOf(() => verifyEnvelope(env, ringOf(KEY_A), opts()))).toBe('ERR_PAYLOAD_NOT_CANONICAL');
  });

  it('refuses an unsigned payload before parsing it (garbage payload, bad signature)', () => {
    const env = signRaw(new TextEncoder().encode('['.repeat(100_000)), KEY_A);
    const tampered = { ...env, payload: encodeBase64(new TextEncoder().encode('['.repeat(100_001))) };
    expect(codeOf(() => verifyEnvelope(tampered, ringOf(KEY_A), opts()))).toBe('ERR_SIGNATURE_INVALID');
  });
});

describe('when the cache is used', () => {
  const env = signEnvelope(makeStatement({ expiresAt: '2026-07-01T00:00:00Z' }), KEY_A);
  const text = encodeEnvelope(env);

  it('serves repeats from the cache but still re-checks time, tenant, revocation and rollback', () => {
    const cache = new VerifyCache();
    const ring = ringOf(KEY_A);
    verifyEnvelope(text, ring, { now: NOW, cache });
    expect(cache.size).toBe(1);
    verifyEnvelope(text, ring, { now: NOW, cache });
    expect(cache.size).toBe(1);
    expect(codeOf(() => verifyEnvelope(text, ring, { now: new Date('2026-08-01T00:00:00Z'), cache }))).toBe(
      'ERR_STATEMENT_EXPIRED',
    );
    expect(codeOf(() => verifyEnvelope(text, ring, { now: NOW, cache, tenant: 'globex' }))).toBe(
      'ERR_TENANT_MISMATCH',
    );
    expect(codeOf(() => verifyEnvelope(text, ring.withRevoked(KEY_A.keyid), { now: NOW, cache }))).toBe(
      'ERR_KEY_REVOKED',
    );
    const rollback = new MemoryRollbackStore();
    rollback.accept('acme', 'tokenizer', 9, 'c'.repeat(64));
    expect(codeOf(() => verifyEnvelope(text, ring, { now: NOW, cache, rollback }))).toBe('ERR_ROLLBACK');
    expect(codeOf(() => verifyEnvelope(text, ring, { now: NOW, cache, threshold: 2 }))).toBe('ERR_THRESHOLD');
    expect(
      codeOf(() => verifyEnvelope(text, ring, { now: NOW, cache, limits: { maxEnvelopeBytes: 100 } })),
    ).toBe('ERR_INPUT_TOO_LARGE');
  });

  it('never caches a forgery', () => {
    const cache = new VerifyCache();
    const bad = text.replace(env.signatures[0]!.sig.slice(0, 4), 'AAAA');
    expect(codeOf(() => verifyEnvelope(bad, ringOf(KEY_A), { now: NOW, cache }))).toBe(
      'ERR_SIGNATURE_INVALID',
    );
    expect(cache.size).toBe(0);
  });

  it('stays bounded (LRU)', () => {
    const cache = new VerifyCache({ maxEntries: 2 });
    for (const v of [1, 2, 3])
      verifyEnvelope(signEnvelope(makeStatement({ version: v }), KEY_A), ringOf(KEY_A), { now: NOW, cache });
    expect(cache.size).toBe(2);
  });

  it('throws ERR_CONFIG_INVALID for a NaN or negative bound (NaN would disable eviction)', () => {
    expect(codeOf(() => new VerifyCache({ maxEntries: Number.NaN }))).toBe('ERR_CONFIG_INVALID');
    expect(codeOf(() => new VerifyCache({ maxBytes: Number.NaN }))).toBe('ERR_CONFIG_INVALID');
    expect(codeOf(() => new VerifyCache({ maxEntries: -1 }))).toBe('ERR_CONFIG_INVALID');
  });

  it('returns a payload copy the caller cannot use to poison the cache', () => {
    const cache = new VerifyCache();
    const first = verifyEnvelope(text, ringOf(KEY_A), { now: NOW, cache });
    first.payload.fill(0);
    expect(verifyEnvelope(text, ringOf(KEY_A), { now: NOW, cache }).payload[0]).toBe(0x7b);
  });
});

describe('when signing', () => {
  it('signs once per distinct key and refuses more than 4 keys', () => {
    expect(signEnvelope(makeStatement(), [KEY_A, KEY_A, KEY_B]).signatures).toHaveLength(2);
    const five = [1, 2, 3, 4, 5].map((n) => testKey(n));
    expect(codeOf(() => signEnvelope(makeStatement(), five))).toBe('ERR_TOO_MANY_SIGNATURES');
  });

  it('throws ERR_PRIVATE_KEY_INVALID for a mislabelled key pair', () => {
    expect(codeOf(() => signEnvelope(makeStatement(), { ...KEY_A, keyid: KEY_B.keyid }))).toBe(
      'ERR_PRIVATE_KEY_INVALID',
    );
  });
});
