/**
 * The whole mission through the library API: pack, sign, verify, check, load, call; and each
 * refusal path with its typed error.
 */
import { readFileSync, rmSync, writeFileSync, mkdirSync, copyFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { encodeEnvelope } from '../../src/envelope/envelope.ts';
import { ComponentError, EnvelopeError, PolicyError, SandboxError, TrustError } from '../../src/errors.ts';
import { createLoader, type DecisionEvent, type Loader } from '../../src/loader.ts';
import { checkSource } from '../../src/policy/check.ts';
import { loadPolicy } from '../../src/policy/load.ts';
import { MemoryKvStore } from '../../src/sandbox/kv-store.ts';
import { verifyEnvelope } from '../../src/trust/verify.ts';
import { CHUNKER, DEDUP, SCORER, WEIGHTS, makeWorld, type World } from './helpers.ts';

const POLICIES = new URL('../../policies/', import.meta.url).pathname;
const TEXT = 'One sentence here. Another sentence there. And a third one, a little longer, to force a split.';

let world: World;
let loader: Loader;
const decisions: DecisionEvent[] = [];
const logs: unknown[] = [];

beforeAll(() => {
  world = makeWorld();
  loader = createLoader({
    keyring: world.keyring,
    kv: new MemoryKvStore(),
    workers: 2,
    logger: (entry) => logs.push(entry),
    onDecision: (event) => decisions.push(event),
  });
});

afterAll(async () => {
  await loader.close();
  rmSync(world.dir, { recursive: true, force: true });
});

describe('when a signed, policy-clean component is loaded', () => {
  it('packs, signs, verifies, checks, loads and calls the text chunker', async () => {
    const envelope = world.envelope(CHUNKER, {
      export: 'TextChunker',
      identifier: 'chunker',
      params: { maxChars: 40, overlap: 10 },
    });
    const verified = verifyEnvelope(envelope, world.keyring, { tenant: 'acme' });
    expect(verified.statement.entry).toBe('TextChunker');
    const check = checkSource(verified.statement.source, loadPolicy().forTenant('acme'), {
      requires: verified.statement.requires,
    });
    expect(check.violations).toEqual([]);

    const chunker = await loader.load(envelope, { tenant: 'acme' });
    const chunks = (await chunker.call('chunk', TEXT)) as { text: string }[];
    expect(chunks.length).toBeGreaterThan(2);
    expect(chunks.every((c) => c.text.length <= 40)).toBe(true);
    expect(chunker.methods).toEqual(expect.arrayContaining(['chunk', 'stats']));
  });

  it('runs a TypeScript component with a helper module and a binary artifact', async () => {
    const envelope = world.envelope(SCORER, {
      export: 'LinearScorer',
      identifier: 'scorer',
      params: { threshold: 0.5 },
      artifacts: { 'weights.bin': { path: WEIGHTS } },
    });
    const scorer = await loader.load(encodeEnvelope(envelope), { tenant: 'acme' });
    const ranked = (await scorer.call('rank', ['cooking pasta', 'a signed sandbox policy'])) as {
      text: string;
      relevant: boolean;
    }[];
    expect(ranked[0]).toMatchObject({ text: 'a signed sandbox policy', relevant: true });
    expect(ranked[1]).toMatchObject({ text: 'cooking pasta', relevant: false });
  });

  it('gives a component the kv and log capabilities, per tenant', async () => {
    const envelope = world.envelope(DEDUP, {
      export: 'DedupFilter',
      identifier: 'dedup',
      params: { prefix: 'fp:' },
      requires: ['kv', 'log'],
    });
    const dedup = await loader.load(new TextEncoder().encode(encodeEnvelope(envelope)), { tenant: 'acme' });
    expect(await dedup.call('filter', ['Hello world', 'hello   WORLD', 'new'])).toEqual([
      'Hello world',
      'new',
    ]);
    expect(await dedup.call('filter', ['new', 'newer'])).toEqual(['newer']);
    expect(await dedup.call('seen')).toBe(3);
    expect(logs.length).toBeGreaterThan(0);
  });

  it('reports one decision event per load, without source or params', async () => {
    const before = decisions.length;
    const envelope = world.envelope(CHUNKER, {
      export: 'TextChunker',
      identifier: 'chunker-events',
      params: { maxChars: 77, overlap: 7, secretParam: 424242 },
    });
    await loader.load(envelope, { tenant: 'acme' });
    await loader.load(envelope, { tenant: 'acme' });
    expect(decisions.length).toBe(before + 2);
    const [first, second] = decisions.slice(before);
    expect(first).toMatchObject({
      tenant: 'acme',
      identifier: 'chunker-events',
      version: 1,
      result: 'loaded',
    });
    expect(first!.signers).toEqual([world.key.keyid]);
    expect(typeof first!.policyRevision).toBe('number');
    expect(second!.cached).toEqual({ verify: true, policy: true });
    const text = JSON.stringify(decisions);
    expect(text).not.toContain('424242');
    expect(text).not.toContain('boundaryBefore');
  });
});

describe('when the input is malformed', () => {
  it('throws EnvelopeError ERR_ENVELOPE_MALFORMED for garbage', async () => {
    await expect(loader.load('{"not":"an envelope"}', { tenant: 'acme' })).rejects.toMatchObject({
      code: 'ERR_ENVELOPE_MALFORMED',
    });
    await expect(loader.load('{"not":"an envelope"}', { tenant: 'acme' })).rejects.toBeInstanceOf(
      EnvelopeError,
    );
  });
});

describe('when trust refuses', () => {
  it('throws ERR_SIGNATURE_INVALID for a tampered envelope', async () => {
    const envelope = world.envelope(CHUNKER, { export: 'TextChunker', identifier: 'chunker-t', params: {} });
    const payload = Buffer.from(envelope.payload, 'base64').toString().replace('"version":1', '"version":2');
    const tampered = { ...envelope, payload: Buffer.from(payload).toString('base64') };
    const error = await loader.load(tampered, { tenant: 'acme' }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(TrustError);
    expect(error).toMatchObject({ code: 'ERR_SIGNATURE_INVALID' });
  });

  it("refuses a tenant loading another tenant's envelope (ERR_TENANT_MISMATCH)", async () => {
    const envelope = world.envelope(CHUNKER, { export: 'TextChunker', identifier: 'chunker-x', params: {} });
    await expect(loader.load(envelope, { tenant: 'globex' })).rejects.toMatchObject({
      code: 'ERR_TENANT_MISMATCH',
    });
  });

  it('refuses a revoked key on the next load even though the digest is cached', async () => {
    const envelope = world.envelope(CHUNKER, { export: 'TextChunker', identifier: 'chunker-r', params: {} });
    const local = createLoader({ keyring: world.keyringPath });
    try {
      await local.load(envelope, { tenant: 'acme' });
      await local.load(envelope, { tenant: 'acme' }); // now cached
      const revoked = world.keyring.withRevoked(world.key.keyid);
      writeFileSync(world.keyringPath, JSON.stringify(revoked.toJSON()));
      await expect(local.load(envelope, { tenant: 'acme' })).rejects.toMatchObject({
        code: 'ERR_KEY_REVOKED',
      });
    } finally {
      writeFileSync(world.keyringPath, JSON.stringify(world.keyring.toJSON()));
      await local.close();
    }
  });
});

describe('when policy refuses', () => {
  it('throws PolicyError with rule ids and positions for a hostile source', async () => {
    const file = world.write(
      'hostile.js',
      "import { Component } from 'sealbox';\nexport class H extends Component {\n  run() { return globalThis.process; }\n}\n",
    );
    const envelope = world.envelope(file, { export: 'H', identifier: 'hostile' });
    const error = await loader.load(envelope, { tenant: 'acme' }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(PolicyError);
    expect((error as PolicyError).violations.length).toBeGreaterThan(0);
    expect((error as PolicyError).violations[0]!.line).toBeGreaterThan(0);
  });

  it('applies a policy reload that removes a capability on the next load', async () => {
    const dir = join(world.dir, 'policies');
    mkdirSync(dir, { recursive: true });
    copyFileSync(join(POLICIES, 'default.yaml'), join(dir, 'default.yaml'));
    const local = createLoader({ keyring: world.keyring, policy: dir });
    try {
      const envelope = world.envelope(DEDUP, {
        export: 'DedupFilter',
        identifier: 'dedup-reload',
        params: { prefix: 'p:' },
        requires: ['kv'],
      });
      await local.load(envelope, { tenant: 'acme' });
      const text = readFileSync(join(dir, 'default.yaml'), 'utf8');
      const withoutKv = text.replace(/^revision:\s*\d+/m, 'revision: 999999');
      writeFileSync(join(dir, 'default.yaml'), withoutKv);
      const tenantDir = join(dir, 'tenants');
      mkdirSync(tenantDir, { recursive: true });
      writeFileSync(join(tenantDir, 'acme.yaml'), 'capabilities:\n  kv:\n    granted: false\n');
      const reloaded = local.reloadPolicy();
      expect(reloaded.ok).toBe(true);
      await expect(local.load(envelope, { tenant: 'acme' })).rejects.toMatchObject({
        code: 'ERR_CAPABILITY_NOT_GRANTED',
      });
    } finally {
      await local.close();
    }
  });
});

describe('when the sandbox stops a component', () => {
  it('throws SandboxError ERR_TIMEOUT for an infinite loop and keeps the component usable', async () => {
    const file = world.write(
      'spin.js',
      "import { Component } from 'sealbox';\nexport class Spin extends Component {\n  spin() { for (;;) {} }\n  ok() { return 1; }\n}\n",
    );
    const spin = await loader.load(world.envelope(file, { export: 'Spin', identifier: 'spin' }), {
      tenant: 'acme',
    });
    const error = await spin.call('spin').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(SandboxError);
    expect(error).toMatchObject({ code: 'ERR_TIMEOUT' });
    expect(await spin.call('ok')).toBe(1);
  });

  it('throws ComponentError when the component throws', async () => {
    const file = world.write(
      'thrower.js',
      "import { Component } from 'sealbox';\nexport class T extends Component {\n  boom() { throw new Error('kaboom'); }\n}\n",
    );
    const thrower = await loader.load(world.envelope(file, { export: 'T', identifier: 'thrower' }), {
      tenant: 'acme',
    });
    const error = await thrower.call('boom').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ComponentError);
    expect((error as ComponentError).message).toContain('kaboom');
  });
});
