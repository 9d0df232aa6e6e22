import ivm from 'isolated-vm';
import { afterEach, describe, expect, it } from 'vitest';
import { CodeCache } from '../../src/sandbox/code-cache.ts';
import { ContextPool } from '../../src/sandbox/context-pool.ts';

// Two texts of the same length: V8's own code-cache check compares only the length and the flags,
// so a cache made from A would be accepted for B and run A's code.
const A = "globalThis.ran = 'A';";
const B = "globalThis.ran = 'B';";

let pools: ContextPool[] = [];
afterEach(() => {
  for (const pool of pools) {
    for (const key of [...pool.isolates.keys()]) pool.drop(key);
    pool.spareIsolate?.isolate.dispose();
  }
  pools = [];
});

async function ran(pool: ContextPool, tenantKey: number, claimedSha: string, source: string) {
  const entry = pool.isolateFor(tenantKey, 32);
  const taken = await pool.takeContext(entry, tenantKey, 5000);
  const script = await pool.compiled(entry, claimedSha, 'sealbox:x', source);
  await script.run(taken.context);
  return { value: await taken.context.eval('globalThis.ran'), script };
}

describe('when a load claims another text’s digest to get its compiled code (layer: sandbox code cache)', () => {
  it('runs its own text: the cache is keyed by a digest the worker computes of the text itself', async () => {
    expect(A.length).toBe(B.length);
    const pool = new ContextPool({ ivm, onBridge: () => {}, onCatastrophicError: () => {} });
    pools.push(pool);
    const first = await ran(pool, 1, 'same-claimed-digest', A);
    expect(first.value).toBe('A');
    expect(pool.codeCache.bytes).toBeGreaterThan(0);
    // The same tenant, a new isolate (its old one dropped), the same claimed digest, another text.
    pool.drop(1);
    const second = await ran(pool, 1, 'same-claimed-digest', B);
    expect(second.value).toBe('B');
    // The same text again in a new isolate of that tenant does use the cache (V8 accepts it).
    pool.drop(1);
    const third = await ran(pool, 1, 'whatever', A);
    expect(third.value).toBe('A');
    expect((third.script as ivm.Script & { cachedDataRejected?: boolean }).cachedDataRejected).toBe(false);
  });
});

describe('when a tenant times loads to learn what other tenants compiled (layer: sandbox code cache)', () => {
  it('never gives one tenant a cache entry another tenant’s compile made', async () => {
    const pool = new ContextPool({ ivm, onBridge: () => {}, onCatastrophicError: () => {} });
    pools.push(pool);
    await ran(pool, 1, 'x', A);
    const bytes = pool.codeCache.bytes;
    const other = await ran(pool, 2, 'x', A);
    expect(other.value).toBe('A');
    // No cached data was offered to tenant 2's compile (so V8 had nothing to accept or reject),
    // and the compile made tenant 2 its own entry.
    expect(
      (other.script as ivm.Script & { cachedDataRejected?: boolean }).cachedDataRejected,
    ).toBeUndefined();
    expect(pool.codeCache.bytes).toBeGreaterThan(bytes);
  });
});

describe('the code cache bound (layer: sandbox code cache)', () => {
  it('drops least recently used entries past its byte limit and never keeps one over a quarter of it', () => {
    const isolate = new ivm.Isolate({ memoryLimit: 32 });
    try {
      const made = (text: string) =>
        (
          isolate.compileScriptSync(text, { produceCachedData: true }) as ivm.Script & {
            cachedData?: ivm.ExternalCopy<ArrayBuffer>;
          }
        ).cachedData!;
      const one = made('var one = function () { return 1; };');
      const size = one.copy().byteLength;
      const cache = new CodeCache(size * 4);
      cache.remember('a', one);
      cache.remember('b', made('var two = function () { return 2; };'));
      cache.remember('c', made('var tri = function () { return 3; };'));
      cache.get('a');
      cache.remember('d', made('var fou = function () { return 4; };'));
      cache.remember('e', made('var fiv = function () { return 5; };'));
      expect(cache.bytes).toBeLessThanOrEqual(size * 4);
      expect(cache.get('a')).toBeDefined();
      expect(cache.get('b')).toBeUndefined();
      const tooBig = made(`var big = [${'1,'.repeat(20_000)}];`);
      cache.remember('big', tooBig);
      expect(cache.get('big')).toBeUndefined();
    } finally {
      isolate.dispose();
    }
  });
});
