/**
 * Crash attempts against the sandbox layer alone: out-of-memory, catastrophic isolate errors,
 * killed and frozen workers. The host process must survive, other tenants must keep working,
 * and every in-flight call must settle with a typed error.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { createSupervisor, type SandboxedComponent, type Supervisor } from '../../src/sandbox/supervisor.ts';
import { DEFAULT_DEADLINE_MS, heartbeatMissMs } from '../../src/sandbox/time-model.ts';
import { cls, isAlive, spec, waitFor, codeOf } from '../sandbox/helpers.ts';

const ATTACKS = cls(`
  ok() { return 'ok'; }
  spin(ms) { const end = Date.now() + ms; while (Date.now() < end) {} return 'spun'; }
  mapGrowth() { const m = new Map(); for (let i = 0; ; i++) m.set(i, { i, s: 'x' + i }); }
  hugeFill() { return new Array(1e9).fill(0).length; }
  hang() { for (;;) {} }
`);
/** Memory attacks need a deadline long enough for the heap to fill before the clock runs out. */
const OOM_LIMITS = { memoryMb: 16, callTimeoutMs: 4000 };
const supervisors: Supervisor[] = [];
afterAll(() => Promise.all(supervisors.map((s) => s.close())));

function make(workers: number, heartbeatMs = 1000): Supervisor {
  const s = createSupervisor({ workers, heartbeatMs });
  supervisors.push(s);
  return s;
}

/** Calls `victim.ok` in a loop until `stop` resolves; returns every outcome. */
async function keepCalling(victim: SandboxedComponent, stop: Promise<unknown>): Promise<string[]> {
  let done = false;
  void stop.finally(() => (done = true));
  const outcomes: string[] = [];
  while (!done) {
    outcomes.push(await codeOf(victim.call('ok')));
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
  return outcomes;
}

describe('when a tenant exhausts its memory limit (memoryLimit, worker replaced on catastrophe)', () => {
  it('throws ERR_MEMORY_LIMIT for Map growth, while another tenant keeps working', async () => {
    const s = make(2);
    const attacker = await s.instantiate(spec(ATTACKS, { tenant: 'attacker', limits: OOM_LIMITS }));
    const victim = await s.instantiate(spec(ATTACKS, { tenant: 'victim' }));
    const attack = codeOf(attacker.call('mapGrowth'));
    const outcomes = await keepCalling(victim, attack);
    expect(await attack).toBe('ERR_MEMORY_LIMIT');
    expect(outcomes.every((o) => o === 'fulfilled')).toBe(true);
    expect(await attacker.call('ok')).toBe('ok');
  });

  it('settles new Array(1e9).fill(0) with a typed error (worker replaced if needed), then recovers', async () => {
    const s = make(2);
    const attacker = await s.instantiate(
      spec(ATTACKS, { tenant: 'attacker', limits: { memoryMb: 16, callTimeoutMs: 1000 } }),
    );
    const victim = await s.instantiate(spec(ATTACKS, { tenant: 'victim' }));
    // The clock starts with the attack (it used to start after the attack had settled).
    const start = performance.now();
    const attack = codeOf(attacker.call('hugeFill'));
    const outcomes = await keepCalling(victim, attack);
    // V8 cannot fill 8 GB of elements: the attacker's worker dies (measured: SIGSEGV or the
    // catastrophic-error marker) or wedges until the deadline kills it. Either way the sandbox
    // stops it; V8's own RangeError (ERR_COMPONENT_THREW) would mean nothing did. Which of the two
    // codes the host reports is its crash classification (issue 13 #2, host side).
    expect(['ERR_MEMORY_LIMIT', 'ERR_TIMEOUT']).toContain(await attack);
    // Settled within the caller's own wall-clock bound (its deadline), never by outliving it.
    expect(performance.now() - start).toBeLessThan(Math.max(DEFAULT_DEADLINE_MS, 3 * 1000));
    expect(outcomes.every((o) => o === 'fulfilled')).toBe(true);
    expect(await attacker.call('ok')).toBe('ok');
    expect(await victim.call('ok')).toBe('ok');
  });
});

describe('when a worker process dies or freezes (supervisor kills and replaces it)', () => {
  it('throws ERR_SANDBOX_CRASHED for kill -9 mid-call, then recovers in a new worker', async () => {
    const s = make(1);
    const c = await s.instantiate(spec(ATTACKS, { limits: { callTimeoutMs: 2000 } }));
    const [pid] = s.stats().pids;
    const call = codeOf(c.call('spin', 1500));
    await new Promise((resolve) => setTimeout(resolve, 100));
    process.kill(pid!, 'SIGKILL');
    expect(await call).toBe('ERR_SANDBOX_CRASHED');
    expect(await c.call('ok')).toBe('ok');
    const [newPid] = s.stats().pids;
    expect(newPid).not.toBe(pid);
    expect(s.stats().restarts).toBeGreaterThanOrEqual(1);
  });

  it('keeps another tenant on another worker working while the attacker worker is killed', async () => {
    const s = make(2);
    const attacker = await s.instantiate(
      spec(ATTACKS, { tenant: 'attacker', limits: { callTimeoutMs: 2000 } }),
    );
    // Workers start lazily: the only worker so far serves the attacker.
    const [attackerPid] = s.stats().pids;
    const victim = await s.instantiate(spec(ATTACKS, { tenant: 'victim' }));
    const victimPid = s.stats().pids.find((pid) => pid !== attackerPid);
    const attack = codeOf(attacker.call('spin', 1500));
    const outcomes = keepCalling(victim, attack);
    await new Promise((resolve) => setTimeout(resolve, 100));
    process.kill(attackerPid!, 'SIGKILL');
    expect(await attack).toBe('ERR_SANDBOX_CRASHED');
    expect((await outcomes).every((o) => o === 'fulfilled')).toBe(true);
    expect(s.stats().pids).toContain(victimPid);
    expect(await attacker.call('ok')).toBe('ok');
  });

  it('replaces a worker that stops answering heartbeats (SIGSTOP)', async () => {
    const s = make(1, 50);
    const c = await s.instantiate(spec(ATTACKS, { limits: { callTimeoutMs: 2000 } }));
    const [pid] = s.stats().pids;
    process.kill(pid!, 'SIGSTOP');
    await waitFor(() => s.stats().restarts > 0, heartbeatMissMs(50) + 5000);
    await waitFor(() => !isAlive(pid!), 5000);
    expect(await c.call('ok')).toBe('ok');
    expect(s.stats().pids[0]).not.toBe(pid);
  });

  it('settles a call to a frozen worker with ERR_DEADLINE at its deadline, then the heartbeat replaces it', async () => {
    const heartbeatMs = 200;
    const s = make(1, heartbeatMs);
    const c = await s.instantiate(spec(ATTACKS));
    const [pid] = s.stats().pids;
    process.kill(pid!, 'SIGSTOP');
    const start = performance.now();
    const deadlineMs = 500;
    // The caller's deadline bounds its wait; nothing is killed for it.
    expect(await codeOf(c.invoke('ok', [], { deadlineMs }))).toBe('ERR_DEADLINE');
    expect(performance.now() - start).toBeLessThan(deadlineMs + 1000);
    // The worker itself is broken (silent for seconds): the heartbeat replaces it.
    await waitFor(() => s.stats().restarts > 0, heartbeatMissMs(heartbeatMs) + 4 * heartbeatMs + 2000);
    expect(await c.call('ok')).toBe('ok');
  });
});

describe('when tenants share one worker (async isolate entry, per-tenant isolates)', () => {
  it('keeps the other tenant working while one hangs', async () => {
    const s = make(1);
    const attacker = await s.instantiate(
      spec(ATTACKS, { tenant: 'attacker', limits: { callTimeoutMs: 800 } }),
    );
    const victim = await s.instantiate(spec(ATTACKS, { tenant: 'victim' }));
    const attack = codeOf(attacker.call('hang'));
    const outcomes = await keepCalling(victim, attack);
    expect(await attack).toBe('ERR_TIMEOUT');
    expect(outcomes.length).toBeGreaterThan(3);
    expect(outcomes.every((o) => o === 'fulfilled')).toBe(true);
  });

  it('keeps the other tenant working after one exhausts memory', async () => {
    const s = make(1);
    const attacker = await s.instantiate(spec(ATTACKS, { tenant: 'attacker', limits: OOM_LIMITS }));
    const victim = await s.instantiate(spec(ATTACKS, { tenant: 'victim' }));
    expect(await codeOf(attacker.call('mapGrowth'))).toBe('ERR_MEMORY_LIMIT');
    expect(await victim.call('ok')).toBe('ok');
    expect(await attacker.call('ok')).toBe('ok');
  });
});
