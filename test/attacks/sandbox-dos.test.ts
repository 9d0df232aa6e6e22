/**
 * Denial-of-service attempts against the sandbox layer alone: every call must settle with a typed
 * error within the product's own bound for a running call (its wall ceiling, time-model.ts) plus
 * one second, and the component must recover on the next call.
 */
import { readFileSync } from 'node:fs';
import { afterAll, describe, expect, it } from 'vitest';
import { SandboxError } from '../../src/errors.ts';
import { createSupervisor, type SandboxedComponent } from '../../src/sandbox/supervisor.ts';
import { wallCeilingMs } from '../../src/sandbox/time-model.ts';
import { cls, expectCode, spec, TEST_LIMITS } from '../sandbox/helpers.ts';

const logs: unknown[] = [];
const supervisor = createSupervisor({
  workers: 2,
  logger: (entry) => logs.push(entry),
  capabilities: [
    {
      name: 'slow',
      methods: {
        slow: { handler: () => new Promise((resolve) => setTimeout(() => resolve('late'), 5000).unref()) },
      },
    },
  ],
});
afterAll(() => supervisor.close());

const SETTLE_MS = wallCeilingMs(TEST_LIMITS.callTimeoutMs) + 1000;
const HEALTHY = `ok() { return 'ok'; }`;

async function attack(body: string, grants = {}): Promise<SandboxedComponent> {
  return supervisor.instantiate(spec(cls(`${HEALTHY}\n${body}`), { grants: { log: {}, kv: {}, ...grants } }));
}

/** Resident memory of every worker of the supervisor, in MiB, from /proc. */
function workersRssMb(): number {
  let total = 0;
  for (const pid of supervisor.stats().pids) {
    try {
      total += Number(/VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))![1]) / 1024;
    } catch {
      // the worker exited meanwhile
    }
  }
  return total;
}

/** Runs `attack`, sampling the workers' resident memory; resolves the peak growth in MiB. */
async function peakGrowthMb(attack: Promise<unknown>): Promise<number> {
  const before = workersRssMb();
  let peak = before;
  const sampler = setInterval(() => (peak = Math.max(peak, workersRssMb())), 5);
  try {
    await attack.catch(() => undefined);
  } finally {
    clearInterval(sampler);
  }
  return Math.max(peak, workersRssMb()) - before;
}

/** Runs the attack, asserts the code and the settle time, then asserts recovery. */
async function expectSettles(component: SandboxedComponent, codes: string[], method = 'go'): Promise<void> {
  const start = performance.now();
  let caught: unknown;
  try {
    await component.call(method);
  } catch (error) {
    caught = error;
  }
  const elapsed = performance.now() - start;
  expect(caught).toBeInstanceOf(Error);
  expect(codes).toContain((caught as SandboxError).code);
  expect(elapsed).toBeLessThan(SETTLE_MS);
  expect(await component.call('ok')).toBe('ok');
}

describe('when a method loops forever (isolate timeout + host wall clock, isolate disposed)', () => {
  it('throws ERR_TIMEOUT for a sync loop, then recovers', async () => {
    await expectSettles(await attack(`go() { for (;;) {} }`), ['ERR_TIMEOUT']);
  });
  it('throws ERR_TIMEOUT for a loop in a promise chain, then recovers', async () => {
    await expectSettles(
      await attack(`async go() { await null; await Promise.resolve(1).then(() => { for (;;) {} }); }`),
      ['ERR_TIMEOUT'],
    );
  });
  it('throws ERR_TIMEOUT for a loop queued to run after the method returned, then recovers', async () => {
    await expectSettles(await attack(`go() { Promise.resolve().then(() => { for (;;) {} }); return 1; }`), [
      'ERR_TIMEOUT',
    ]);
  });
  it('recovers after a loop that starts when a capability answers after the method returned', async () => {
    const c = await attack(`go() { this.host.kv.get('k').then(() => { for (;;) {} }); return 1; }`);
    expect(await c.call('go')).toBe(1);
    await new Promise((resolve) => setTimeout(resolve, TEST_LIMITS.callTimeoutMs + 100));
    // Known limit (docs/sandbox.md): on a starved machine the background loop may still hold the
    // isolate when the next call arrives, and what it runs then is metered as that call's
    // (ERR_TIMEOUT). The loop is bounded by its own budget, so the call after that one is served.
    const first = await c.call('ok').catch((error: SandboxError) => error.code);
    if (first !== 'ok') expect(first).toBe('ERR_TIMEOUT');
    expect(await c.call('ok')).toBe('ok');
  });
  it('throws ERR_TIMEOUT for a BigInt computation that ignores the isolate timeout, then recovers', async () => {
    // Four uninterruptible operations of ~0.7 s each (measured on this VM): well past the budget on
    // any machine. One alone costs 1-1.4 budgets, and on a fast moment it finished within it.
    await expectSettles(
      await attack(
        `go() { let n = 0; for (let i = 0; i < 4; i++) n += String(7n ** 3000000n).length; return n; }`,
      ),
      ['ERR_TIMEOUT'],
    );
  });
  it('throws ERR_TIMEOUT when a capability is slower than the deadline', async () => {
    await expectSettles(await attack(`async go() { return await this.host.slow(); }`, { slow: {} }), [
      'ERR_TIMEOUT',
    ]);
  });
});

describe('when a method exhausts the stack or memory (memoryLimit, worker replaced if needed)', () => {
  it('throws ERR_COMPONENT_THREW for deep recursion', async () => {
    const c = await attack(`go() { const f = (n) => f(n + 1) + 1; return f(0); }`);
    await expectCode(c.call('go'), 'ComponentError', 'ERR_COMPONENT_THREW');
    expect(await c.call('ok')).toBe('ok');
  });
  it('throws ERR_MEMORY_LIMIT for a string bomb; the workers grow < 4 × memoryMb', async () => {
    // A deadline long enough for the heap to fill before the clock runs out.
    const c = await supervisor.instantiate(
      spec(
        cls(
          `${HEALTHY}\ngo() { const keep = []; for (let i = 0; ; i++) keep.push(('x' + i).repeat(1 << 20)); }`,
        ),
        {
          limits: { memoryMb: 16, callTimeoutMs: 4000 },
        },
      ),
    );
    const call = c.call('go');
    const growth = await peakGrowthMb(call);
    await expectCode(call, 'SandboxError', 'ERR_MEMORY_LIMIT');
    expect(growth).toBeLessThan(4 * 16);
    expect(await c.call('ok')).toBe('ok');
  });
  it('settles a rope-flattening string bomb within timeout + 1 s; the workers grow < 1 GiB', async () => {
    // Flattening a rope ignores the isolate timeout, and isolated-vm lets the heap overshoot
    // memoryLimit while it does: which of the deadline, memoryLimit or V8's own string-length limit
    // (ComponentError "Invalid string length", at 2^29 characters) stops it depends on the machine's
    // speed. What the sandbox guarantees is the settle time and a bounded worker.
    const c = await attack(`go() { let s = 'xy'; for (;;) s = s + s + s.slice(1); }`);
    const before = workersRssMb();
    const restarts = supervisor.stats().restarts;
    const growth = await peakGrowthMb(
      expectSettles(c, ['ERR_MEMORY_LIMIT', 'ERR_TIMEOUT', 'ERR_COMPONENT_THREW']),
    );
    expect(growth).toBeLessThan(1024);
    // The flattened strings can stay in the tenant's heap as garbage (past the worker's memory cap)
    // until V8 collects them; the cap's watchdog then replaces the worker. Either way the workers
    // come back near where they started, and the next test does not inherit this one's heap.
    await c.dispose();
    await expect
      .poll(() => supervisor.stats().restarts > restarts || workersRssMb() < before + 64, { timeout: 30_000 })
      .toBe(true);
  });
  it('throws ERR_MEMORY_LIMIT for an ArrayBuffer bomb, even when the component catches the refusal', async () => {
    await expectSettles(
      await attack(`go() { const a = []; for (;;) a.push(new ArrayBuffer(8 * 1024 * 1024)); }`),
      ['ERR_MEMORY_LIMIT'],
    );
    await expectSettles(
      await attack(
        `go() { const a = []; try { for (;;) a.push(new ArrayBuffer(8 * 1024 * 1024)); } catch { return a.length; } }`,
      ),
      ['ERR_MEMORY_LIMIT'],
    );
  });
  it('throws ERR_MEMORY_LIMIT for one huge ArrayBuffer', async () => {
    await expectSettles(await attack(`go() { return new Uint8Array(new ArrayBuffer(2 ** 31)).length; }`), [
      'ERR_MEMORY_LIMIT',
    ]);
  });
});

describe('when a result is hostile (serialised inside the timed call, size- and depth-capped)', () => {
  it('throws ERR_RESULT_INVALID for a 100 MB result', async () => {
    await expectSettles(
      await attack(`go() { const s = 'x'.repeat(1024 * 1024); return new Array(100).fill(s); }`),
      ['ERR_RESULT_INVALID'],
    );
  });
  it('throws ERR_RESULT_INVALID for deeply nested and cyclic results', async () => {
    await expectSettles(
      await attack(`go() { let o = {}; for (let i = 0; i < 100000; i++) o = { o }; return o; }`),
      ['ERR_RESULT_INVALID'],
    );
    await expectSettles(await attack(`go() { const o = {}; o.self = o; return o; }`), ['ERR_RESULT_INVALID']);
  });
  it('throws ERR_RESULT_INVALID for a BigInt result', async () => {
    await expectSettles(await attack(`go() { return { n: 1n }; }`), ['ERR_RESULT_INVALID']);
  });
  it('throws ERR_TIMEOUT for a getter or toJSON that loops', async () => {
    await expectSettles(await attack(`go() { return { get x() { for (;;) {} } }; }`), ['ERR_TIMEOUT']);
    await expectSettles(await attack(`async go() { return { toJSON() { for (;;) {} } }; }`), ['ERR_TIMEOUT']);
  });
  it('throws ERR_TIMEOUT for a thrown Proxy whose traps loop', async () => {
    await expectSettles(await attack(`go() { throw new Proxy({}, { get() { for (;;) {} } }); }`), [
      'ERR_TIMEOUT',
    ]);
  });
  it('throws ERR_COMPONENT_THREW for a thrown Proxy whose traps throw', async () => {
    const c = await attack(`go() { throw new Proxy({}, { get() { throw new Error('trap'); } }); }`);
    await expectCode(c.call('go'), 'ComponentError', 'ERR_COMPONENT_THREW');
  });
  it('returns a thenable result only through its own then, under the deadline', async () => {
    await expectSettles(await attack(`go() { return { then() { for (;;) {} } }; }`), ['ERR_TIMEOUT']);
  });
});

describe('when a component floods the host (per-invocation and per-tenant quotas, bounded queue)', () => {
  it('throws ERR_QUOTA_EXCEEDED for a flood of capability calls and logs at most the quota', async () => {
    const before = logs.length;
    await expectSettles(
      await attack(
        `async go() { const all = []; for (let i = 0; i < 5000; i++) all.push(this.host.log('info', 'x' + i)); await Promise.all(all); }`,
      ),
      ['ERR_QUOTA_EXCEEDED'],
    );
    expect(logs.length - before).toBeLessThanOrEqual(TEST_LIMITS.maxCapabilityCalls);
  });
  it('throws ERR_QUOTA_EXCEEDED when the per-tenant rate is spent', async () => {
    const c = await supervisor.instantiate(
      spec(cls(`async go() { for (let i = 0; i < 20; i++) await this.host.kv.get('k'); return 1; }`), {
        tenant: 'rate-limited',
        grants: { kv: { callsPerSecond: 5 } },
      }),
    );
    await expectCode(c.call('go'), 'SandboxError', 'ERR_QUOTA_EXCEEDED');
  });
  it('throws ERR_QUEUE_FULL beyond the running and queued calls of a tenant', async () => {
    const c = await supervisor.instantiate(
      spec(cls(`spin() { const end = Date.now() + 60; while (Date.now() < end) {} return 1; }`), {
        tenant: 'queued',
        limits: { maxConcurrentCalls: 1, maxQueuedCalls: 1 },
      }),
    );
    const results = await Promise.allSettled([c.call('spin'), c.call('spin'), c.call('spin')]);
    expect(
      results.map((r) => (r.status === 'fulfilled' ? r.value : (r.reason as SandboxError).code)),
    ).toEqual([1, 1, 'ERR_QUEUE_FULL']);
  });
  it('throws ERR_DEADLINE for a call still waiting at its deadline, and charges no queue time to budgets', async () => {
    const budgetMs = 500;
    const c = await supervisor.instantiate(
      spec(cls(`spin() { const end = Date.now() + 300; while (Date.now() < end) {} return 1; }`), {
        tenant: 'queued-deadline',
        limits: { maxConcurrentCalls: 1, maxQueuedCalls: 4, callTimeoutMs: budgetMs },
      }),
    );
    const deadlineMs = 400;
    const start = performance.now();
    let lateSettled = 0;
    const first = [c.call('spin'), c.call('spin'), c.call('spin')];
    const late = c.invoke('spin', [], { deadlineMs }).finally(() => {
      lateSettled = performance.now() - start;
    });
    const results = await Promise.allSettled([...first, late]);
    // Three 300 ms calls run one after another: the last finishes ~900 ms after it was made, far
    // past its 500 ms budget, and still succeeds (waiting is not charged).
    expect(results.slice(0, 3)).toEqual(Array(3).fill({ status: 'fulfilled', value: 1 }));
    expect(results[3]?.status).toBe('rejected');
    expect((results[3] as PromiseRejectedResult).reason).toMatchObject({ code: 'ERR_DEADLINE' });
    // Settled at its deadline, not when the queue drained.
    expect(lateSettled).toBeLessThan(deadlineMs + 1000);
  });
  it('refuses capability calls from background work after the call ended (ERR_CAPABILITY_DENIED)', async () => {
    // `later` issues kv.get('k2') while it runs (allowed: its call is active; the request reaches
    // the host before the call's result), then returns. Only when that answer arrives, after the
    // call ended, does the continuation call log: background work that the host must refuse.
    const c = await attack(`
      async later(tag) {
        await this.host.kv.get('k');
        this.host.kv.get('k2').then(
          () => { this.q = this.host.log('info', tag).then(() => 'done', (e) => e.code); },
          (e) => { this.q = 'k2 refused: ' + e.code; },
        );
        return 1;
      }
      check() { return this.q === undefined ? 'pending' : this.q; }`);
    const tag = `background-${Math.random()}`;
    expect(await c.call('later', tag)).toBe(1);
    let outcome: unknown = 'pending';
    // Polls with pauses: a check that happened to run when the background call reached the host
    // would make it look like foreground work.
    for (let i = 0; i < 40 && outcome === 'pending'; i++) {
      await new Promise((resolve) => setTimeout(resolve, 50));
      outcome = await c.call('check');
    }
    expect(outcome).toBe('ERR_CAPABILITY_DENIED');
    expect(JSON.stringify(logs)).not.toContain(tag);
  });
});

describe('when loading itself is hostile (the load runs under the same deadline)', () => {
  it.each([
    ['a top-level loop', `for (;;) {}\nclass C extends Component {}`, 'ERR_TIMEOUT'],
    ['a constructor loop', cls(`constructor(p, c) { super(p, c); for (;;) {} }`), 'ERR_TIMEOUT'],
    [
      'a looping global getter named like the entry',
      `Object.defineProperty(globalThis, 'C', { get() { for (;;) {} } });`,
      'ERR_TIMEOUT',
    ],
    [
      'a top-level memory bomb',
      `const keep = []; for (;;) keep.push(new Array(1e5).fill(1));\nclass C extends Component {}`,
      'ERR_MEMORY_LIMIT',
    ],
  ])('settles %s with a typed error within timeout + 1 s', async (_name, source, code) => {
    const start = performance.now();
    let caught: unknown;
    try {
      await supervisor.instantiate(spec(source, { tenant: 'hostile-load', limits: { memoryMb: 16 } }));
    } catch (error) {
      caught = error;
    }
    expect(performance.now() - start).toBeLessThan(SETTLE_MS);
    expect(caught).toBeInstanceOf(SandboxError);
    expect((caught as SandboxError).code).toBe(code);
    const healthy = await supervisor.instantiate(spec(cls(HEALTHY), { tenant: 'hostile-load' }));
    expect(await healthy.call('ok')).toBe('ok');
  });
});
