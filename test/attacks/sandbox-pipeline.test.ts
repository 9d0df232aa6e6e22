/**
 * Attacks on pipelined calls (several calls of one component in the worker at once, entering its
 * isolate back to back). Layer: sandbox (worker lanes, the meter slot, the bootstrap's TAG.busy,
 * the host's hand-back of calls that never started).
 *
 * - A call that overruns cannot spend its neighbours' budgets, nor take them down with it: it gets
 *   ERR_TIMEOUT, the calls queued behind it never started and run again after the reload.
 * - Calls cannot interleave: a call queued behind an unsettled async call does not run until it
 *   settles (TAG.busy), so a component never sees a second call mid-await.
 * - A worker death re-runs only the pipelined calls that left no trace: once the component asked
 *   for a capability, its pipelined calls fail with ERR_SANDBOX_CRASHED instead of running twice.
 * - Found by review: a continuation left running after its call ended is charged to a call in
 *   flight (it was charged to no one); an own `then` on a returned promise cannot call the
 *   bootstrap's settle callbacks twice (it undid the busy count); a capability request counts
 *   against the quota of the call that made it only (it counted against every pipelined call);
 *   a capability request of work left running after its call was answered is refused, and no
 *   call in flight pays for it (it ran, charged to the next call); a tenant that comes for a turn
 *   on a full worker makes the pipelines there yield (it waited for all their queued calls).
 */
import { afterAll, describe, expect, it } from 'vitest';
import type { HostCapability } from '../../src/sandbox/capabilities.ts';
import { MemoryKvStore } from '../../src/sandbox/kv-store.ts';
import { createSupervisor, type SandboxedComponent, type Supervisor } from '../../src/sandbox/supervisor.ts';
import { PIPELINE_MIN_BUDGET_MS, WORKER_CONCURRENCY, wallCeilingMs } from '../../src/sandbox/time-model.ts';
import { cls, codeOf, spec } from '../sandbox/helpers.ts';

const BUDGET_MS = 500;
const SOURCE = `let calls = 0;\nconst events = [];\nlet background = 'none';\n${cls(`
  spin(ms) { const end = Date.now() + ms; while (Date.now() < end) {} calls++; return calls; }
  hang() { for (;;) {} }
  count() { calls++; return calls; }
  async slow() {
    events.length = 0;
    events.push('slow:start');
    await this.host.kv.get('k');
    await this.host.kv.get('k');
    events.push('slow:end');
    return events.slice();
  }
  mark() { events.push('mark'); return events.slice(); }
  fire(ms) {
    this.host.kv.get('k').then(() => { const end = Date.now() + ms; while (Date.now() < end) {} });
    return 'fired';
  }
  evil() {
    const p = Promise.resolve('e');
    Object.defineProperty(p, 'then', { value(ok) { ok('e'); ok('e'); ok('e'); } });
    return p;
  }
  async long(ms) {
    await this.host.kv.get('k');
    const end = Date.now() + ms;
    while (Date.now() < end) {}
    return 'long';
  }
  later() {
    this.host.kv.get('k').then(() => this.host.slow()).then(
      () => { background = 'ran'; },
      (e) => { background = e.code; },
    );
    return 'later';
  }
  background() { return background; }
  async three() {
    for (let i = 0; i < 3; i++) await this.host.kv.get('k' + i);
    return 'three';
  }
  async bump(ms) {
    const n = (await this.host.kv.get('n')) ?? 0;
    await this.host.kv.set('n', n + 1);
    const end = Date.now() + ms;
    while (Date.now() < end) {}
    return n + 1;
  }
`)}`;

/** A capability slower than the budget: whoever pays its wall time overruns. */
const SLOW: HostCapability = {
  name: 'slow',
  methods: {
    slow: { handler: () => new Promise((resolve) => setTimeout(() => resolve(1), BUDGET_MS * 2)) },
  },
};

const supervisors: Supervisor[] = [];
afterAll(() => Promise.all(supervisors.map((s) => s.close())));
function make(kv?: MemoryKvStore): Supervisor {
  const s = createSupervisor({ workers: 1, capabilities: [SLOW], ...(kv === undefined ? {} : { kv }) });
  supervisors.push(s);
  return s;
}
const limits = { callTimeoutMs: BUDGET_MS, maxConcurrentCalls: 8 };

/**
 * Fast calls first: the host pipelines only while the work in flight stays short
 * (PIPELINE_WINDOW_MS), judged by how long this worker's ops took so far (a load is slow).
 */
async function warm(c: SandboxedComponent): Promise<void> {
  for (let i = 0; i < 30; i++) await c.call('count');
}

describe('when a pipelined call overruns (layer: sandbox meter; ERR_TIMEOUT)', () => {
  // Well under the wall ceiling: only the meter, charging the right call, ends the hang in time.
  it(
    'times out that call alone; the calls around it, each at 60% of its budget, all succeed',
    async () => {
      const s = make();
      const c = await s.instantiate(spec(SOURCE, { limits }));
      await warm(c);
      const spins = (n: number) => Array.from({ length: n }, () => codeOf(c.call('spin', BUDGET_MS * 0.6)));
      const before = spins(2);
      const hang = codeOf(c.call('hang'));
      const after = spins(3);
      expect(s.stats().running).toBeGreaterThan(1);
      expect(await hang).toBe('ERR_TIMEOUT');
      expect(await Promise.all(before)).toEqual(['fulfilled', 'fulfilled']);
      // Queued behind the hang on its isolate, they never started: run again after the reload.
      expect(await Promise.all(after)).toEqual(['fulfilled', 'fulfilled', 'fulfilled']);
    },
    wallCeilingMs(BUDGET_MS) / 2,
  );

  it('charges each pipelined call its own time: eight at 60% of the budget all succeed', async () => {
    const s = make();
    const c = await s.instantiate(spec(SOURCE, { limits }));
    await warm(c);
    const calls = Array.from({ length: 8 }, () => codeOf(c.call('spin', BUDGET_MS * 0.6)));
    expect(s.stats().running).toBeGreaterThan(1);
    expect(await Promise.all(calls)).toEqual(Array(8).fill('fulfilled'));
  });

  it('charges a continuation that outlives its call to a call in flight, never to no one', async () => {
    const s = make(new MemoryKvStore());
    const c = await s.instantiate(spec(SOURCE, { limits }));
    await warm(c);
    // `fire` answers at once; its capability answer arrives while `spin`, pipelined behind it,
    // runs. So the continuation (6 budgets of CPU) enters the isolate after `spin` and ahead of
    // `count`, sent meanwhile: the meter slot names `spin`, answered by then, and `count` pays.
    const fired = codeOf(c.call('fire', BUDGET_MS * 6));
    const spin = codeOf(c.call('spin', BUDGET_MS * 0.2));
    await new Promise((resolve) => setTimeout(resolve, BUDGET_MS * 0.1));
    const count = codeOf(c.call('count'));
    expect(await fired).toBe('fulfilled');
    expect(await Promise.all([spin, count])).toContain('ERR_TIMEOUT');
  });
});

describe('when the budget is below what the meter resolves (layer: sandbox meter; ERR_TIMEOUT)', () => {
  it('does not pipeline calls whose budget is under PIPELINE_MIN_BUDGET_MS: each is charged from its start', async () => {
    const s = make();
    const small = { ...limits, callTimeoutMs: PIPELINE_MIN_BUDGET_MS / 2 };
    const c = await s.instantiate(spec(SOURCE, { limits: small }));
    await warm(c);
    const calls = Array.from({ length: 4 }, () => c.call('count'));
    expect(s.stats().running).toBe(1);
    expect(await Promise.all(calls)).toEqual([31, 32, 33, 34]);
  });
});

describe('when tenant code hands the bootstrap its own then (layer: sandbox bootstrap; TAG.busy)', () => {
  it('keeps calls from interleaving and keeps charging the async call after the trick', async () => {
    const s = make(new MemoryKvStore());
    const c = await s.instantiate(spec(SOURCE, { limits }));
    await warm(c);
    expect(await c.call('evil')).toBe('e');
    expect(await Promise.all([c.call('slow'), c.call('mark'), c.call('mark')])).toEqual([
      ['slow:start', 'slow:end'],
      ['slow:start', 'slow:end', 'mark'],
      ['slow:start', 'slow:end', 'mark', 'mark'],
    ]);
    // An async call past its budget still fails, however the count was tampered with.
    const [long, short] = await Promise.all([
      codeOf(c.call('long', BUDGET_MS * 6)),
      codeOf(c.call('spin', 10)),
    ]);
    expect(long).toBe('ERR_TIMEOUT');
    expect(short).toBe('fulfilled');
  });
});

describe('when work left running after its call asks for a capability (layer: sandbox capabilities; ERR_CAPABILITY_DENIED)', () => {
  it('refuses it while later calls are in flight, and none of them pays for it', async () => {
    const s = make(new MemoryKvStore());
    const c = await s.instantiate(spec(SOURCE, { limits, grants: { log: {}, kv: {}, slow: {} } }));
    await warm(c);
    const calls = [
      codeOf(c.call('later')),
      codeOf(c.call('spin', BUDGET_MS * 0.6)),
      codeOf(c.call('spin', BUDGET_MS * 0.6)),
    ];
    expect(await Promise.all(calls)).toEqual(['fulfilled', 'fulfilled', 'fulfilled']);
    // The continuation runs once the capability answer arrives: wait for its outcome.
    let outcome: unknown = 'none';
    for (let i = 0; i < 100 && outcome === 'none'; i++) {
      await new Promise((resolve) => setTimeout(resolve, 10));
      outcome = await c.call('background');
    }
    expect(outcome).toBe('ERR_CAPABILITY_DENIED');
  });
});

describe('when a tenant comes for a turn on a full worker (layer: sandbox scheduler; yield)', () => {
  it('gets it after the calls running there, not after every call the pipelines hold', async () => {
    const s = make();
    const wide = { ...limits, maxConcurrentCalls: 16 };
    // WORKER_CONCURRENCY tenants fill the one worker, each with a pipeline of 16 calls.
    const busy = await Promise.all(
      Array.from({ length: WORKER_CONCURRENCY }, (_, i) =>
        s.instantiate(spec(SOURCE, { tenant: `busy${i}`, limits: wide })),
      ),
    );
    const late = await s.instantiate(spec(SOURCE, { tenant: 'late', limits }));
    for (const c of [...busy, late]) await warm(c);
    const done: string[] = [];
    const pipelines = busy.map((c, i) =>
      Promise.all(Array.from({ length: 16 }, () => c.call('spin', BUDGET_MS * 0.1))).then(() =>
        done.push(`busy${i}`),
      ),
    );
    expect(s.stats().running).toBeGreaterThan(WORKER_CONCURRENCY);
    const turn = late.call('count').then(() => done.push('late'));
    await Promise.all([...pipelines, turn]);
    // Before the yield, the late tenant waited until a whole pipeline had drained.
    expect(done[0]).toBe('late');
  });
});

describe('when pipelined calls make capability calls (layer: sandbox capabilities; ERR_QUOTA_EXCEEDED)', () => {
  it('counts each request against the call that made it only', async () => {
    const s = make(new MemoryKvStore());
    const c = await s.instantiate(spec(SOURCE, { limits: { ...limits, maxCapabilityCalls: 3 } }));
    await warm(c);
    const calls = Array.from({ length: 4 }, () => c.call('three'));
    expect(await Promise.all(calls)).toEqual(Array(4).fill('three'));
  });
});

describe('when calls queue behind an async call (layer: sandbox bootstrap; TAG.busy)', () => {
  it('runs the next call only once the async call has settled, never mid-await', async () => {
    const s = make();
    const c = await s.instantiate(spec(SOURCE, { limits }));
    await warm(c);
    const [slow, mark, count] = await Promise.all([c.call('slow'), c.call('mark'), c.call('count')]);
    expect(slow).toEqual(['slow:start', 'slow:end']);
    expect(mark).toEqual(['slow:start', 'slow:end', 'mark']);
    expect(count).toBe(31);
    // The same order once more, on a component that has seen the hand-back.
    expect(await Promise.all([c.call('slow'), c.call('mark')])).toEqual([
      ['slow:start', 'slow:end'],
      ['slow:start', 'slow:end', 'mark'],
    ]);
  });
});

describe('when the worker dies under pipelined calls (layer: sandbox supervisor)', () => {
  it('runs the calls that left no trace again on the replacement', async () => {
    const s = make();
    const c = await s.instantiate(spec(SOURCE, { limits: { ...limits, callTimeoutMs: 2000 } }));
    await warm(c);
    const [pid] = s.stats().pids;
    const head = codeOf(c.call('spin', 1500));
    const behind = Array.from({ length: 3 }, () => c.call('count'));
    await new Promise((resolve) => setTimeout(resolve, 100));
    process.kill(pid!, 'SIGKILL');
    expect(await head).toBe('ERR_SANDBOX_CRASHED');
    // The component was reloaded on the new worker: its counter starts again.
    expect(await Promise.all(behind)).toEqual([1, 2, 3]);
    expect(s.stats().restarts).toBe(1);
  });

  it('fails, and never re-runs, pipelined calls of a component that asked for a capability', async () => {
    const kv = new MemoryKvStore();
    const s = make(kv);
    const c = await s.instantiate(spec(SOURCE, { limits: { ...limits, callTimeoutMs: 2000 } }));
    await warm(c);
    const [pid] = s.stats().pids;
    const bumps = Array.from({ length: 3 }, () => codeOf(c.call('bump', 1500)));
    // The first bump has written n = 1 and spins; the others wait behind it in the worker.
    for (let i = 0; i < 200 && (await kv.get('acme', 'n')) !== 1; i++) {
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    expect(await kv.get('acme', 'n')).toBe(1);
    process.kill(pid!, 'SIGKILL');
    expect(await Promise.all(bumps)).toEqual(Array(3).fill('ERR_SANDBOX_CRASHED'));
    expect(await kv.get('acme', 'n')).toBe(1);
  });
});
