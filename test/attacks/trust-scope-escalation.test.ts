/**
 * Attack: use a real, trusted key beyond what it was trusted for: another tenant, an identifier
 * outside its glob (including prefix/suffix tricks against unanchored matching), after revocation
 * or expiry, one key counted twice toward a threshold, an old version replayed.
 * Layer that must stop it: trust (Keyring scopes, verifyEnvelope threshold and rollback).
 */
import { describe, expect, it } from 'vitest';
import { SealboxError } from '../../src/errors.ts';
import { Keyring } from '../../src/trust/keyring.ts';
import { MemoryRollbackStore } from '../../src/trust/rollback.ts';
import { signEnvelope } from '../../src/trust/sign.ts';
import { verifyEnvelope } from '../../src/trust/verify.ts';
import { KEY_A, KEY_B, NOW, entryFor, makeStatement } from '../trust/fixtures.ts';

function codeOf(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (error) {
    return error instanceof SealboxError ? error.code : 'untyped';
  }
  return undefined;
}

const ring = Keyring.parse({
  version: 1,
  keys: [
    entryFor(KEY_A, { tenants: ['acme'], identifiers: ['tok*'] }),
    entryFor(KEY_B, { tenants: ['globex'] }),
  ],
});
const check = (statement: Record<string, unknown>, options = {}) =>
  codeOf(() =>
    verifyEnvelope(signEnvelope(makeStatement(statement), [KEY_A]), ring, {
      now: NOW,
      cache: false,
      ...options,
    }),
  );

describe('when a trusted key signs outside its scope (layer: trust)', () => {
  it('throws ERR_KEY_TENANT_SCOPE for another tenant', () => {
    expect(check({ tenant: 'globex' })).toBe('ERR_KEY_TENANT_SCOPE');
  });

  it.each(['evil-tokenizer', 'xtok', 'to'])(
    'throws ERR_KEY_IDENTIFIER_SCOPE for %s (globs are anchored)',
    (identifier) => {
      expect(check({ identifier })).toBe('ERR_KEY_IDENTIFIER_SCOPE');
    },
  );

  it('throws ERR_TENANT_MISMATCH when acme code is offered to globex', () => {
    expect(check({}, { tenant: 'globex' })).toBe('ERR_TENANT_MISMATCH');
  });

  it('throws ERR_KEY_TENANT_SCOPE when a globex key signs acme code, even with an acme key also signing badly', () => {
    const env = signEnvelope(makeStatement(), [KEY_B]);
    expect(codeOf(() => verifyEnvelope(env, ring, { now: NOW, cache: false }))).toBe('ERR_KEY_TENANT_SCOPE');
  });

  it('throws ERR_THRESHOLD when only one of two signers is in scope', () => {
    const env = signEnvelope(makeStatement(), [KEY_A, KEY_B]);
    expect(codeOf(() => verifyEnvelope(env, ring, { now: NOW, cache: false, threshold: 2 }))).toBe(
      'ERR_THRESHOLD',
    );
  });

  it('throws ERR_ENVELOPE_MALFORMED when one signature is listed twice to inflate the count', () => {
    const env = signEnvelope(makeStatement(), [KEY_A]);
    const doubled = { ...env, signatures: [env.signatures[0]!, env.signatures[0]!] };
    expect(codeOf(() => verifyEnvelope(doubled, ring, { now: NOW, cache: false, threshold: 2 }))).toBe(
      'ERR_ENVELOPE_MALFORMED',
    );
  });

  it('throws ERR_KEY_REVOKED after revocation, even for envelopes verified before', () => {
    const env = signEnvelope(makeStatement(), [KEY_A]);
    expect(verifyEnvelope(env, ring, { now: NOW }).signers).toEqual([KEY_A.keyid]);
    expect(codeOf(() => verifyEnvelope(env, ring.withRevoked(KEY_A.keyid), { now: NOW }))).toBe(
      'ERR_KEY_REVOKED',
    );
  });

  it('throws ERR_ROLLBACK for a replayed older version', () => {
    const rollback = new MemoryRollbackStore();
    verifyEnvelope(signEnvelope(makeStatement({ version: 4 }), [KEY_A]), ring, { now: NOW, rollback });
    expect(check({ version: 3 }, { rollback })).toBe('ERR_ROLLBACK');
    expect(check({ version: 4, repr: 'swapped' }, { rollback })).toBe('ERR_ROLLBACK_DIGEST');
  });
});
