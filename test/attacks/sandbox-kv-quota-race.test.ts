/**
 * The kv key quota under concurrent writes, against the sandbox layer alone: maxKeys must hold
 * however many sets one tenant has in flight at once.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { MemoryKvStore } from '../../src/sandbox/kv-store.ts';
import { createSupervisor } from '../../src/sandbox/supervisor.ts';
import { cls, spec } from '../sandbox/helpers.ts';

const kv = new MemoryKvStore();
const supervisor = createSupervisor({ workers: 1, kv });
afterAll(() => supervisor.close());

const FLOOD = cls(`async go(n, from) {
  const settled = await Promise.allSettled(Array.from({ length: n }, (_, i) => this.host.kv.set('k' + (from + i), i)));
  return settled.map((s) => s.status === 'fulfilled' ? 'ok' : s.reason.code);
}`);

describe('when a tenant races many kv.set calls past maxKeys (layer: sandbox)', () => {
  it('stores at most maxKeys keys and refuses the rest with ERR_QUOTA_EXCEEDED', async () => {
    const c = await supervisor.instantiate(
      spec(FLOOD, { tenant: 'racer', grants: { kv: { maxKeys: 5, callsPerSecond: 1000 } } }),
    );
    const first = (await c.call('go', 40, 0)) as string[];
    expect(first.filter((s) => s === 'ok')).toHaveLength(5);
    expect(new Set(first.filter((s) => s !== 'ok'))).toEqual(new Set(['ERR_QUOTA_EXCEEDED']));
    const second = (await c.call('go', 40, 100)) as string[];
    expect(second.filter((s) => s === 'ok')).toHaveLength(0);
    expect(await kv.count('racer')).toBe(5);
  });

  it('still lets concurrent sets overwrite existing keys at the quota', async () => {
    const c = await supervisor.instantiate(
      spec(FLOOD, { tenant: 'rewriter', grants: { kv: { maxKeys: 5, callsPerSecond: 1000 } } }),
    );
    await c.call('go', 5, 0);
    expect(await c.call('go', 5, 0)).toEqual(['ok', 'ok', 'ok', 'ok', 'ok']);
    expect(await kv.count('rewriter')).toBe(5);
  });
});
