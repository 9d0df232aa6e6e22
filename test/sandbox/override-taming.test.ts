/**
 * Override taming in the bootstrap: assignments that shadow a property a frozen intrinsic defines
 * land on the object itself, so libraries compute in the sandbox what they compute in Node, while
 * the intrinsics stay frozen for everyone.
 */
import { createHash } from 'node:crypto';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { pack } from '../../src/component/pack.ts';
import type { JsonValue } from '../../src/envelope/types.ts';
import { createLoader } from '../../src/loader.ts';
import { MemoryKvStore } from '../../src/sandbox/kv-store.ts';
import { signEnvelope } from '../../src/trust/sign.ts';
import { callAsJson, fakeHost } from '../component/stand-in.ts';
import { makeWorld } from '../e2e/helpers.ts';

const FILE = fileURLToPath(new URL('../fixtures/packages/overrides.js', import.meta.url));
const POLICY = fileURLToPath(new URL('../../policies/default.yaml', import.meta.url));
const BASE = { tenant: 'acme', version: 1, issuedAt: '2026-01-01T00:00:00Z' } as const;

describe('when library code assigns over properties of frozen intrinsics', () => {
  const world = makeWorld();
  // The default policy refuses `prototype` members; this tests the sandbox alone, so the policy
  // runs in audit mode (it reports, the sandbox is the boundary).
  const audit = join(world.dir, 'audit.yaml');
  writeFileSync(audit, readFileSync(POLICY, 'utf8').replace(/^mode: enforce$/m, 'mode: audit'));
  const loader = createLoader({ keyring: world.keyring, kv: new MemoryKvStore(), workers: 1, policy: audit });
  afterAll(async () => {
    await loader.close();
    rmSync(world.dir, { recursive: true, force: true });
  });

  it('returns exactly what plain Node returns', async () => {
    const statement = pack(FILE, { ...BASE, export: 'Overrides', identifier: 'overrides' });
    const loaded = await loader.load(signEnvelope(statement, world.key), { tenant: 'acme' });
    const { Overrides } = (await import(FILE)) as {
      Overrides: new (p: unknown, c: unknown) => Record<string, unknown>;
    };
    const original = new Overrides(
      {},
      { identifier: 'overrides', version: 1, tenant: 'acme', artifacts: {}, host: fakeHost().host },
    );
    for (const method of ['errorName', 'prototypeMethods', 'constructorAssignment', 'ownOverrides']) {
      const expected = await callAsJson(original, method, []);
      expect(expected.startsWith('threw'), method).toBe(false);
      expect(JSON.stringify(await loaded.call(method)), method).toBe(expected);
    }
    await loaded.dispose();
  });

  it('keeps the intrinsics frozen: the prototypes cannot be changed through the setters', async () => {
    const statement = pack(FILE, { ...BASE, export: 'Overrides', identifier: 'frozen' });
    const source = `${statement.source}
class Probe extends Overrides {
  probe() {
    const out = [];
    for (const [name, change] of [
      ['Error.prototype.name', () => { Error.prototype.name = 'x'; }],
      ['Object.prototype.toString', () => { Object.prototype.toString = () => 'x'; }],
      ['Array.prototype.toString', () => { Array.prototype.toString = () => 'x'; }],
      ['Object.defineProperty', () => Object.defineProperty(Object.prototype, 'toString', { value: 1 })],
    ]) {
      try { change(); out.push(name + ' changed'); } catch (e) { out.push(name + ' refused'); }
    }
    out.push(Object.isFrozen(Object.prototype), Object.isFrozen(Error.prototype), new Error('e').name, String([1, 2]), ({}).toString());
    return out;
  }
}`;
    const probe = signEnvelope(
      { ...statement, entry: 'Probe', source, sourceSha256: sha256(source) } as typeof statement,
      world.key,
    );
    const loaded = await loader.load(probe, { tenant: 'acme' });
    expect(await loaded.call('probe')).toEqual([
      'Error.prototype.name refused',
      'Object.prototype.toString refused',
      'Array.prototype.toString refused',
      'Object.defineProperty refused',
      true,
      true,
      'Error',
      '1,2',
      '[object Object]',
    ] as JsonValue);
    await loaded.dispose();
  });
});

function sha256(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}
