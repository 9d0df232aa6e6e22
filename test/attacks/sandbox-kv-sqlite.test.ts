/**
 * kv attacks against the durable store a node uses in production (SqliteKvStore), through the
 * sandbox: a quota race past maxKeys, reading another tenant's keys, and keys spelled to break out
 * of SQL text or reach a prototype. The same attacks against MemoryKvStore live in
 * sandbox-kv-quota-race.test.ts and the sandbox tests.
 * Layer that must stop them: sandbox (capabilities.ts quota and namespacing), then the store
 * (store/sqlite.ts: bound parameters, tenant column) → ERR_QUOTA_EXCEEDED, or the value simply
 * not being there.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { SqliteKvStore } from '../../src/sandbox/kv-store.ts';
import { createSupervisor } from '../../src/sandbox/supervisor.ts';
import { cls, spec } from '../sandbox/helpers.ts';

const dir = mkdtempSync(join(tmpdir(), 'sealbox-kv-sqlite-'));
const kv = new SqliteKvStore(join(dir, 'kv.sqlite'));
const supervisor = createSupervisor({ workers: 1, kv });
afterAll(async () => {
  await supervisor.close();
  rmSync(dir, { recursive: true, force: true });
});

const KV = cls(`async go(n, from) {
  const settled = await Promise.allSettled(Array.from({ length: n }, (_, i) => this.host.kv.set('k' + (from + i), i)));
  return settled.map((s) => s.status === 'fulfilled' ? 'ok' : s.reason.code);
}
async put(key, value) { await this.host.kv.set(key, value); return 'ok'; }
async read(key) { return await this.host.kv.get(key); }`);

const GRANT = { kv: { maxKeys: 5, callsPerSecond: 1000 } };
// What these tests check is the store's answers, not timing: the first call also starts the
// worker and the isolate, which took ~3 s on a machine with load 18, so the call budget is 10 s
// here (the sandbox tests' 250 ms turns them into ERR_TIMEOUT until the time model lands).
const LIMITS = { callTimeoutMs: 10_000 };

describe('when a tenant races kv.set past maxKeys on SQLite (layer: sandbox)', () => {
  it('stores at most maxKeys keys and refuses the rest with ERR_QUOTA_EXCEEDED', async () => {
    const c = await supervisor.instantiate(spec(KV, { tenant: 'racer', grants: GRANT, limits: LIMITS }));
    const first = (await c.call('go', 40, 0)) as string[];
    expect(first.filter((s) => s === 'ok')).toHaveLength(5);
    expect(new Set(first.filter((s) => s !== 'ok'))).toEqual(new Set(['ERR_QUOTA_EXCEEDED']));
    expect(await kv.count('racer')).toBe(5);
  });
});

describe('when a tenant reads keys another tenant wrote on SQLite (layer: sandbox)', () => {
  it('sees null: each tenant has its own namespace', async () => {
    const owner = await supervisor.instantiate(spec(KV, { tenant: 'owner', grants: GRANT, limits: LIMITS }));
    const thief = await supervisor.instantiate(spec(KV, { tenant: 'thief', grants: GRANT, limits: LIMITS }));
    expect(await owner.call('put', 'secret', { card: '4111' })).toBe('ok');
    expect(await thief.call('read', 'secret')).toBe(null);
    expect(await owner.call('read', 'secret')).toEqual({ card: '4111' });
  });
});

describe('when keys are spelled to escape SQL text or reach a prototype (layer: store)', () => {
  it('stores and reads them back verbatim, and nothing else changes', async () => {
    const c = await supervisor.instantiate(
      spec(KV, { tenant: 'spell', grants: { kv: { maxKeys: 10, callsPerSecond: 1000 } }, limits: LIMITS }),
    );
    const keys = ["x'); DROP TABLE kv; --", '__proto__', 'constructor', "o' OR '1'='1"];
    for (const [i, key] of keys.entries()) expect(await c.call('put', key, i)).toBe('ok');
    for (const [i, key] of keys.entries()) expect(await c.call('read', key)).toBe(i);
    expect(await kv.count('spell')).toBe(keys.length);
    expect(await kv.count('racer')).toBe(5);
  });
});
