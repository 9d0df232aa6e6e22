/**
 * Memory a worker process holds outside what memoryLimit counts (ICU copies, V8 overshoot, native
 * leaks): the host's hard cap on each worker's resident memory (layer: sandbox, memory-cap.ts) kills
 * that worker and reports ERR_MEMORY_LIMIT to the tenant whose call was running. Other workers live on.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { processTreeRssKb, workerMemoryCapMb } from '../../src/sandbox/memory-cap.ts';
import { createSupervisor } from '../../src/sandbox/supervisor.ts';
import { cls, expectCode, isAlive, spec } from '../sandbox/helpers.ts';

const SLOW = { callTimeoutMs: 20_000 };

const LEAKER = cls(`
  // 320 MiB of touched buffer, inside a 1 GiB memoryLimit: the isolate allows it, the cap must not.
  hold() { this.keep = new Uint8Array(320 * 1024 * 1024).fill(7); const end = Date.now() + 15000; while (Date.now() < end) {} return 'survived'; }
`);
const BYSTANDER = cls(`
  constructor(params, context) { super(params, context); this.n = 0; }
  count() { return ++this.n; }
`);

describe('when a worker grows past its hard memory cap (layer: sandbox memory cap)', () => {
  const supervisor = createSupervisor({ workers: 2, workerMemoryCapMb: 256 });
  afterAll(() => supervisor.close());

  it('kills only that worker: ERR_MEMORY_LIMIT for the running tenant, the other worker untouched', async () => {
    // Tenants map to workers by affinity; find two tenants that land on different workers.
    const leaker = await supervisor.instantiate(
      spec(LEAKER, { tenant: 'leaker', limits: { ...SLOW, memoryMb: 1024 } }),
    );
    const leakerPid = supervisor.stats().pids;
    let other = '';
    let bystander;
    for (const tenant of ['t1', 't2', 't3', 't4', 't5', 't6']) {
      bystander = await supervisor.instantiate(spec(BYSTANDER, { tenant, limits: SLOW }));
      if (supervisor.stats().pids.length === 2) {
        other = tenant;
        break;
      }
    }
    expect(other).not.toBe('');
    const pids = supervisor.stats().pids;
    const otherPid = pids.find((pid) => !leakerPid.includes(pid))!;
    expect(await bystander!.call('count')).toBe(1);

    const started = performance.now();
    await expectCode(leaker.call('hold'), 'SandboxError', 'ERR_MEMORY_LIMIT');
    // Stopped by the cap, long before the busy loop's 15 s or the call's 20 s deadline.
    expect(performance.now() - started).toBeLessThan(15_000);
    expect(isAlive(otherPid)).toBe(true);
    // The bystander on the other worker kept its state.
    expect(await bystander!.call('count')).toBe(2);
    expect(supervisor.stats().restarts).toBe(1);
  });
});

describe('when tenants stay inside memoryLimit (layer: sandbox memory cap sizing)', () => {
  // The callers' deadline is not under test: each call segments megabytes, slow on a busy machine.
  const supervisor = createSupervisor({ workers: 1, deadlineMs: 600_000 });
  afterAll(() => supervisor.close());

  it('leaves the default cap to the isolate: a heap bomb gets ERR_MEMORY_LIMIT, the worker and its co-tenant live on', async () => {
    const bystander = await supervisor.instantiate(spec(BYSTANDER, { tenant: 'bystander', limits: SLOW }));
    const bomb = await supervisor.instantiate(
      spec(cls('grow() { const keep = []; for (;;) keep.push(new Array(1e5).fill(keep.length)); }'), {
        tenant: 'bomber',
        limits: { memoryMb: 64, callTimeoutMs: 10_000 },
      }),
    );
    expect(await bystander.call('count')).toBe(1);
    await expectCode(bomb.call('grow'), 'SandboxError', 'ERR_MEMORY_LIMIT');
    // The isolate's own limit stopped it: no worker was killed, the co-tenant kept its state.
    expect(supervisor.stats().restarts).toBe(0);
    expect(await bystander.call('count')).toBe(2);
  });

  it('keeps a worker holding Intl segments of huge strings (issue 13 #1) below its default cap', async () => {
    const memoryMb = 64;
    const c = await supervisor.instantiate(
      spec(
        cls(`
          constructor(params, context) { super(params, context); this.keep = []; }
          grow() {
            const text = 'ab '.repeat(1398102) + String(this.keep.length);
            const segments = new Intl.Segmenter('en', { granularity: 'word' }).segment(text);
            segments.containing(0);
            this.keep.push(segments);
            return this.keep.length;
          }`),
        { tenant: 'segmenter', limits: { memoryMb, callTimeoutMs: 10_000 } },
      ),
    );
    // Two tenants on this worker now: the bystander (32 MB) and this one.
    const cap = workerMemoryCapMb([32, 64, memoryMb], 3);
    let peakMb = 0;
    let outcome: unknown;
    for (let i = 0; i < 60 && outcome === undefined; i++) {
      try {
        await c.call('grow');
      } catch (error) {
        outcome = error;
      }
      const pid = supervisor.stats().pids[0];
      if (pid !== undefined) peakMb = Math.max(peakMb, (processTreeRssKb(pid) ?? 0) / 1024);
    }
    expect(outcome).toMatchObject({ name: 'SandboxError', code: 'ERR_MEMORY_LIMIT' });
    expect(peakMb).toBeLessThan(cap);
  });
});
