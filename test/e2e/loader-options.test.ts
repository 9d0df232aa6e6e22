/**
 * Loader-level tests of options the unit tests only cover below the loader: the tenant policy's
 * `trust.minSignatures` and `trust.requireExpiry`, the `rollback` option, `setKeyring`, and a
 * custom host capability granted by policy, end to end.
 *
 * Most cases stop before the sandbox on purpose: an envelope that `requires` a capability nobody
 * grants (`net`) is refused at the policy step with ERR_CAPABILITY_NOT_GRANTED, which proves the
 * trust and statement steps before it passed.
 */
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { Envelope } from '../../src/envelope/types.ts';
import { createLoader, type DecisionEvent, type LoaderOptions } from '../../src/loader.ts';
import { pack, type PackOptions } from '../../src/component/pack.ts';
import { generateKeyPair } from '../../src/trust/keys.ts';
import { Keyring } from '../../src/trust/keyring.ts';
import { SqliteRollbackStore } from '../../src/trust/rollback.ts';
import { signEnvelope } from '../../src/trust/sign.ts';
import { CHUNKER, keyringFor, makeWorld } from './helpers.ts';

const DEFAULT_YAML = readFileSync(new URL('../../policies/default.yaml', import.meta.url), 'utf8');
const world = makeWorld();
const second = generateKeyPair();
const twoKeys = keyringFor([world.key, second], ['acme', 'globex']);
afterAll(() => rmSync(world.dir, { recursive: true, force: true }));

/** A policy folder: default.yaml with `edit` applied. */
function policyWith(name: string, edit: (yaml: string) => string): string {
  const dir = join(world.dir, name);
  mkdirSync(dir, { recursive: true });
  const text = edit(DEFAULT_YAML);
  expect(text).not.toBe(DEFAULT_YAML);
  writeFileSync(join(dir, 'default.yaml'), text);
  return dir;
}

function statement(extra: Partial<PackOptions> = {}) {
  return pack(CHUNKER, {
    export: 'TextChunker',
    tenant: 'acme',
    identifier: 'opts',
    version: 1,
    requires: ['net'],
    ...extra,
  } as PackOptions);
}

/** Loads once; resolves to the error code ('loaded' when it loaded) and the decision event. */
async function outcome(
  options: LoaderOptions,
  envelope: Envelope,
): Promise<{ code: string; event: DecisionEvent | undefined }> {
  const events: DecisionEvent[] = [];
  const loader = createLoader({ workers: 1, onDecision: (e) => events.push(e), ...options });
  try {
    const code = await loader.load(envelope, { tenant: 'acme' }).then(
      () => 'loaded',
      (e: unknown) => (e as { code?: string }).code ?? String(e),
    );
    return { code, event: events.at(-1) };
  } finally {
    await loader.close();
  }
}

describe('when the tenant policy sets trust.minSignatures: 2 (layer: trust, from the loader)', () => {
  const policy = policyWith('two-sigs', (y) => y.replace(/minSignatures: 1\b/, 'minSignatures: 2'));

  it('throws ERR_THRESHOLD for one valid signature and records it in the decision', async () => {
    const result = await outcome({ keyring: twoKeys, policy }, signEnvelope(statement(), world.key));
    expect(result.code).toBe('ERR_THRESHOLD');
    expect(result.event).toMatchObject({ result: 'refused', code: 'ERR_THRESHOLD' });
  });

  it('passes the trust step with two distinct trusted signers', async () => {
    const result = await outcome(
      { keyring: twoKeys, policy },
      signEnvelope(statement(), [world.key, second]),
    );
    expect(result.code).toBe('ERR_CAPABILITY_NOT_GRANTED');
    expect(result.event?.signers).toHaveLength(2);
  });

  it('counts the same key twice as one signer', async () => {
    const result = await outcome(
      { keyring: twoKeys, policy },
      signEnvelope(statement(), [world.key, world.key]),
    );
    expect(result.code).toBe('ERR_THRESHOLD');
  });
});

describe('when the tenant policy sets trust.requireExpiry: true (layer: trust, from the loader)', () => {
  const policy = policyWith('expiry', (y) => y.replace(/requireExpiry: false\b/, 'requireExpiry: true'));

  it('throws ERR_EXPIRY_REQUIRED for a statement without expiresAt', async () => {
    const result = await outcome({ keyring: world.keyring, policy }, signEnvelope(statement(), world.key));
    expect(result.code).toBe('ERR_EXPIRY_REQUIRED');
  });

  it('passes the trust step with a future expiresAt, and the default policy needs none', async () => {
    const expiring = signEnvelope(statement({ expiresAt: '2999-01-01T00:00:00Z' }), world.key);
    expect((await outcome({ keyring: world.keyring, policy }, expiring)).code).toBe(
      'ERR_CAPABILITY_NOT_GRANTED',
    );
    const plain = signEnvelope(statement(), world.key);
    expect((await outcome({ keyring: world.keyring }, plain)).code).toBe('ERR_CAPABILITY_NOT_GRANTED');
  });
});

describe('when the loader is given a rollback state file (option rollback, layer: trust)', () => {
  it('throws ERR_ROLLBACK below the recorded version and ERR_ROLLBACK_DIGEST for the same version with another digest', async () => {
    const path = join(world.dir, 'rollback.sqlite');
    const store = new SqliteRollbackStore(path);
    store.accept('acme', 'opts', 5, 'a'.repeat(64));
    store.close();
    const lower = signEnvelope(statement({ version: 3 }), world.key);
    const same = signEnvelope(statement({ version: 5 }), world.key);
    const higher = signEnvelope(statement({ version: 6 }), world.key);
    expect((await outcome({ keyring: world.keyring, rollback: path }, lower)).code).toBe('ERR_ROLLBACK');
    expect((await outcome({ keyring: world.keyring, rollback: path }, same)).code).toBe(
      'ERR_ROLLBACK_DIGEST',
    );
    expect((await outcome({ keyring: world.keyring, rollback: path }, higher)).code).toBe(
      'ERR_CAPABILITY_NOT_GRANTED',
    );
    // Without the state file the same lower version passes the rollback step.
    expect((await outcome({ keyring: world.keyring }, lower)).code).toBe('ERR_CAPABILITY_NOT_GRANTED');
  });
});

describe('when the keyring is replaced with setKeyring (layer: trust, from the loader)', () => {
  it('uses the new keyring from the next load on, and the old one again after it is set back', async () => {
    const loader = createLoader({ keyring: world.keyring, workers: 1 });
    const envelope = signEnvelope(statement(), world.key);
    const code = (p: Promise<unknown>) =>
      p.then(
        () => 'loaded',
        (e: unknown) => (e as { code?: string }).code,
      );
    try {
      expect(await code(loader.load(envelope, { tenant: 'acme' }))).toBe('ERR_CAPABILITY_NOT_GRANTED');
      loader.setKeyring(Keyring.empty());
      expect(await code(loader.load(envelope, { tenant: 'acme' }))).toBe('ERR_KEY_UNKNOWN');
      loader.setKeyring(world.keyring.withRevoked(world.key.keyid));
      expect(await code(loader.load(envelope, { tenant: 'acme' }))).toBe('ERR_KEY_REVOKED');
      loader.setKeyring(world.keyring);
      expect(await code(loader.load(envelope, { tenant: 'acme' }))).toBe('ERR_CAPABILITY_NOT_GRANTED');
    } finally {
      await loader.close();
    }
  });
});
