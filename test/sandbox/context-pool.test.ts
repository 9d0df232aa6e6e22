import ivm from 'isolated-vm';
import { afterEach, describe, expect, it } from 'vitest';
import { ContextPool, type PooledContext, type PooledIsolate } from '../../src/sandbox/context-pool.ts';
import { INIT_META } from './helpers.ts';

const META = INIT_META;

// What a component may do to its own context: globals, the unfrozen RegExp.prototype.
const POISON = `
  globalThis.leak = 'poisoned';
  RegExp.prototype.exec = function () { return null; };
  RegExp.prototype[Symbol.split] = function () { return ['pwned']; };
`;
const PROBE = `JSON.stringify([typeof globalThis.leak, 'a,b'.split(/,/), /x/.exec('x') !== null])`;
const CLEAN = JSON.stringify(['undefined', ['a', 'b'], true]);

let pools: ContextPool[] = [];
function makePool(
  options: { maxSpareTenants?: number; maxScripts?: number; schedule?: (work: () => void) => void } = {},
): ContextPool {
  const pool = new ContextPool({
    ivm,
    onBridge: () => {},
    onCatastrophicError: () => {},
    ...options,
  });
  pools.push(pool);
  return pool;
}
afterEach(async () => {
  for (const pool of pools) {
    await pool.settled();
    for (const key of [...pool.isolates.keys()]) pool.drop(key);
    pool.spareIsolate?.isolate.dispose();
  }
  pools = [];
});

/** What the worker does for one load: take a context, init, run `source`, mark the key loaded. */
async function load(
  pool: ContextPool,
  tenantKey: number,
  key: number,
  source = POISON,
): Promise<{ entry: PooledIsolate; taken: PooledContext }> {
  const entry = pool.isolateFor(tenantKey, 32);
  const taken = await pool.takeContext(entry, key, 1000);
  await taken.control.apply(undefined, ['init', META, [], []], { arguments: { copy: true } });
  const script = await pool.compiled(entry, `sha-${source.length}`, 'sealbox:w', source);
  await script.run(taken.context);
  entry.keys.add(key);
  pool.afterLoad(entry, 32);
  return { entry, taken };
}

describe('when a tenant loads again while resident (layer: sandbox context pool)', () => {
  it('gives the next component the spare context, never the one a component used', async () => {
    const pool = makePool();
    const first = await load(pool, 1, 1);
    const second = await load(pool, 1, 2);
    await pool.settled();
    const spare = second.entry.spare;
    expect(spare).toBeDefined();
    expect(spare?.context).not.toBe(first.taken.context);
    expect(spare?.context).not.toBe(second.taken.context);
    // Poisoned contexts stay poisoned: the pool must not have handed either of them out again.
    expect(await first.taken.context.eval(PROBE)).not.toBe(CLEAN);
    const third = await load(pool, 1, 3, 'globalThis.marker = 1;');
    expect(third.taken).toBe(spare);
    expect(second.entry.spare).toBeUndefined();
    expect(third.taken.owner.key).toBe(3);
    expect(await third.taken.context.eval(PROBE)).toBe(CLEAN);
  });

  it('starts the next spare context as soon as a re-loading tenant’s load has answered', async () => {
    // Scheduled work (the spare isolate) runs only when the test says so.
    const deferred: (() => void)[] = [];
    const pool = makePool({ schedule: (work) => deferred.push(work) });
    try {
      await load(pool, 1, 1);
      const { entry } = await load(pool, 1, 2);
      // Nothing scheduled has run: the tenant's next spare context is already being built.
      expect(deferred.length).toBeGreaterThan(0);
      expect(entry.refilling ?? entry.spare).toBeDefined();
      await entry.refilling;
      expect(entry.spare).toBeDefined();
    } finally {
      // The pool's settled() (afterEach) waits for scheduled work: let it run whatever happens.
      for (const work of deferred.splice(0)) work();
    }
  });

  it('keeps spares only for the most recently re-loading tenants', async () => {
    const pool = makePool({ maxSpareTenants: 1 });
    for (const tenant of [1, 2]) {
      await load(pool, tenant, tenant * 10);
      await load(pool, tenant, tenant * 10 + 1);
      await pool.settled();
    }
    expect(pool.isolates.get(2)?.spare).toBeDefined();
    expect(pool.isolates.get(1)?.spare).toBeUndefined();
  });

  it('does not make a spare for a tenant that loaded once', async () => {
    const pool = makePool();
    const { entry } = await load(pool, 1, 1);
    await pool.settled();
    expect(entry.spare).toBeUndefined();
    expect(pool.spareIsolate?.spare).toBeDefined();
  });
});

describe('when a new tenant arrives (layer: sandbox context pool)', () => {
  it('takes the spare isolate once; it never serves a second tenant', async () => {
    const pool = makePool();
    const a = await load(pool, 1, 1);
    await pool.settled();
    const spareIsolate = pool.spareIsolate;
    expect(spareIsolate).toBeDefined();
    const b = await load(pool, 2, 2, 'globalThis.marker = 2;');
    expect(b.entry).toBe(spareIsolate);
    expect(b.entry.owner.tenantKey).toBe(2);
    expect(b.entry.isolate).not.toBe(a.entry.isolate);
    expect(await b.taken.context.eval(PROBE)).toBe(CLEAN);
    await pool.settled();
    expect(pool.spareIsolate).toBeDefined();
    expect(pool.spareIsolate).not.toBe(b.entry);
    const c = await load(pool, 3, 3);
    expect(c.entry.isolate).not.toBe(b.entry.isolate);
    expect(c.entry.isolate).not.toBe(a.entry.isolate);
  });

  it('creates a fresh isolate when the spare has another memory limit', async () => {
    const pool = makePool();
    await load(pool, 1, 1);
    await pool.settled();
    const spare = pool.spareIsolate;
    const entry = pool.isolateFor(2, 48);
    expect(entry).not.toBe(spare);
    expect(entry.memoryMb).toBe(48);
    expect(pool.spareIsolate).toBe(spare);
  });
});

describe('when a tenant isolate is disposed or crashes (layer: sandbox context pool)', () => {
  it('drops its spare context and compiled scripts with it', async () => {
    const pool = makePool();
    await load(pool, 1, 1);
    const { entry } = await load(pool, 1, 2);
    await pool.settled();
    expect(entry.spare).toBeDefined();
    expect(entry.scripts.size).toBe(1);
    expect(pool.drop(1)).toBe(entry);
    expect(entry.isolate.isDisposed).toBe(true);
    expect(entry.spare).toBeUndefined();
    expect(entry.scripts.size).toBe(0);
    const again = await load(pool, 1, 3, 'globalThis.marker = 3;');
    expect(again.entry).not.toBe(entry);
    expect(await again.taken.context.eval(PROBE)).toBe(CLEAN);
  });

  it('replaces an isolate disposed behind its back (memory limit) without reusing its spares', async () => {
    const pool = makePool();
    await load(pool, 1, 1);
    const { entry } = await load(pool, 1, 2);
    await pool.settled();
    entry.isolate.dispose();
    const next = pool.isolateFor(1, 32);
    expect(next).not.toBe(entry);
    expect(entry.spare).toBeUndefined();
    expect(entry.scripts.size).toBe(0);
  });
});

describe('when the same verified source is loaded again (layer: sandbox context pool)', () => {
  it('compiles it once per isolate and runs it per context', async () => {
    const pool = makePool({ maxScripts: 2 });
    const entry = pool.isolateFor(1, 32);
    const one = await pool.compiled(entry, 'aa', 'sealbox:w', 'globalThis.n = (globalThis.n || 0) + 1;');
    const two = await pool.compiled(entry, 'aa', 'sealbox:w', 'ignored: the digest names the source');
    expect(two).toBe(one);
    // Another script name (identifier) is another cache entry: stacks name the right component.
    expect(await pool.compiled(entry, 'aa', 'sealbox:x', 'globalThis.n = 0;')).not.toBe(one);
    for (const key of [1, 2]) {
      const taken = await pool.takeContext(entry, key, 1000);
      await one.run(taken.context);
      expect(await taken.context.eval('globalThis.n')).toBe(1);
    }
    await pool.compiled(entry, 'bb', 'sealbox:w', '1');
    expect(entry.scripts.size).toBe(2);
    expect([...entry.scripts.keys()]).not.toContain('aa\u0000sealbox:w');
  });

  it('does not cache a script that fails to compile', async () => {
    const pool = makePool();
    const entry = pool.isolateFor(1, 32);
    await expect(pool.compiled(entry, 'cc', 'sealbox:w', 'class {')).rejects.toThrow();
    expect(entry.scripts.size).toBe(0);
  });
});
