import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { MemoryKvStore, SqliteKvStore, type KvStore } from '../../src/sandbox/kv-store.ts';
import { expectCode } from './helpers.ts';

const dir = mkdtempSync(join(tmpdir(), 'sealbox-kvtest-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const stores: Array<[string, () => KvStore]> = [
  ['MemoryKvStore', () => new MemoryKvStore()],
  ['SqliteKvStore', () => new SqliteKvStore(join(dir, `kv-${Math.random().toString(36).slice(2)}.db`))],
];

describe.each(stores)('when %s is used', (_name, make) => {
  it('stores JSON values per namespace and returns copies', async () => {
    const store = make();
    const value = { a: [1, 2], b: 'x' };
    await store.set('t1', 'k', value);
    value.a.push(3);
    expect(await store.get('t1', 'k')).toEqual({ a: [1, 2], b: 'x' });
    expect(await store.get('t2', 'k')).toBeNull();
    await store.set('t1', 'k', null);
    expect(await store.get('t1', 'k')).toBeNull();
    expect(await store.count('t1')).toBe(1);
    await store.delete('t1', 'k');
    expect(await store.count('t1')).toBe(0);
    store.close?.();
  });

  it('lists keys by literal prefix, sorted, never across namespaces', async () => {
    const store = make();
    for (const key of ['b', 'a%', 'a_1', 'a', 'ab', 'A', 'é', '😀', 'z']) await store.set('t1', key, 1);
    await store.set('t2', 'a-other', 1);
    expect(await store.list('t1', 'a')).toEqual(['a', 'a%', 'a_1', 'ab']);
    expect(await store.list('t1', 'a%')).toEqual(['a%']);
    expect(await store.list('t1', '_')).toEqual([]);
    expect(await store.list('t1', '')).toEqual(['A', 'a', 'a%', 'a_1', 'ab', 'b', 'z', 'é', '😀']);
    expect(await store.list('t3', '')).toEqual([]);
    store.close?.();
  });
});

describe('when the SQLite file cannot be opened', () => {
  it('throws ERR_STATE_STORE', async () => {
    await expectCode(
      Promise.resolve().then(() => new SqliteKvStore(join(dir, 'missing-dir', 'x', 'kv.db'))),
      'ConfigError',
      'ERR_STATE_STORE',
    );
  });
  it('creates only its own file', () => {
    const path = join(dir, 'only.db');
    const store = new SqliteKvStore(path);
    store.close();
    expect(existsSync(path)).toBe(true);
    expect(readdirSync(dir).filter((f) => f.startsWith('only'))).toEqual(['only.db']);
  });
});
