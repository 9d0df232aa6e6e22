/**
 * Attack (issue 13 #4): a tenant fills the node's memory through kv with allowed calls. default.yaml
 * used to grant 10,000 keys × 64 KiB, and one component grew the host heap by 621 MB. Under the
 * shipped default policy the tenant now stops at its byte quota.
 * Layer that must stop it: the store's quota check (store/common.ts `maxTotalBytes`, applied
 * atomically with the write) through the sandbox's kv capability → ERR_QUOTA_EXCEEDED.
 * What is measured: the bytes the store holds for the tenant, against the policy's own figure.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { loadPolicy } from '../../src/policy/load.ts';
import { MemoryKvStore } from '../../src/sandbox/kv-store.ts';
import { createSupervisor } from '../../src/sandbox/supervisor.ts';
import { cls, spec } from '../sandbox/helpers.ts';

const kvLimits = loadPolicy().forTenant('acme').capabilities['kv']!;
const MAX_TOTAL = kvLimits['maxTotalBytes'] as number;
const MAX_VALUE = kvLimits['maxValueBytes'] as number;
const MAX_KEYS = kvLimits['maxKeys'] as number;

const kv = new MemoryKvStore();
const supervisor = createSupervisor({ workers: 1, kv });
afterAll(() => supervisor.close());

// Each call writes `n` keys of the largest allowed value, one at a time, and reports the first
// refusal's code; the host's per-second rate is the policy's, so the test pays it honestly.
const FILLER = cls(`async fill(from, n, size) {
  const value = 'v'.repeat(size);
  for (let i = 0; i < n; i++) {
    try { await this.host.kv.set('k' + String(from + i).padStart(6, '0'), value); }
    catch (e) { return { stored: i, code: e.code }; }
  }
  return { stored: n, code: null };
}`);

describe('when a tenant stores the largest values it may until kv refuses (layer: store quota via sandbox kv)', () => {
  it('throws ERR_QUOTA_EXCEEDED once the namespace would pass maxTotalBytes, and holds no more', async () => {
    // Values a little under maxValueBytes once JSON-quoted; far fewer of them than maxKeys fit in
    // maxTotalBytes, so the byte quota (not the key count) is what must stop the tenant.
    const size = MAX_VALUE - 64;
    const fit = Math.floor(MAX_TOTAL / size);
    expect(fit).toBeLessThan(MAX_KEYS);
    const c = await supervisor.instantiate(
      spec(FILLER, {
        tenant: 'hog',
        grants: { kv: { ...kvLimits, callsPerSecond: 100_000 } },
        limits: { callTimeoutMs: 60_000, maxCapabilityCalls: 100_000 },
      }),
    );
    let stored = 0;
    let code: string | null = null;
    // Batches of 40 writes per call stay inside one call's capability quota.
    while (code === null && stored < MAX_KEYS) {
      const r = (await c.call('fill', stored, 40, size)) as { stored: number; code: string | null };
      stored += r.stored;
      code = r.code;
    }
    expect(code).toBe('ERR_QUOTA_EXCEEDED');
    const usage = await kv.usage('hog');
    expect(usage.bytes).toBeLessThanOrEqual(MAX_TOTAL);
    // It got close to its quota (every write that fit was accepted), not stopped early.
    expect(usage.bytes).toBeGreaterThan(MAX_TOTAL - 2 * size);
    expect(usage.keys).toBe(stored);
    // Replacing an existing value with one of the same size is still allowed at the quota.
    expect(await c.call('fill', 0, 1, size)).toEqual({ stored: 1, code: null });
  }, 120_000);
});
