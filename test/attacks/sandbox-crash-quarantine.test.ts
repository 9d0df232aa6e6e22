/**
 * One tenant takes its shared worker down on purpose (issue 13 #2, host side; layer: sandbox
 * supervisor). `new Array(1e9).fill(0)` keeps its thread after isolated-vm disposes the isolate for
 * memory: the attacker gets ERR_MEMORY_LIMIT, the worker exits naming it (runaway marker, read
 * after the exit), and the attacker is quarantined on a worker of its own, so a second attack
 * never reaches its former co-tenant.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { createSupervisor } from '../../src/sandbox/supervisor.ts';
import { cls, spec, codeOf } from '../sandbox/helpers.ts';

const SOURCE = cls(`
  ok() { return 'ok'; }
  hugeFill() { return new Array(1e9).fill(0).length; }
`);
const supervisor = createSupervisor({ workers: 1 });
afterAll(() => supervisor.close());

describe('when a tenant crashes the worker it shares (quarantine with back-off)', () => {
  it('pins ERR_MEMORY_LIMIT on the attacker and keeps its former co-tenant out of the next crash', async () => {
    const limits = { memoryMb: 16, callTimeoutMs: 1000 };
    const attacker = await supervisor.instantiate(spec(SOURCE, { tenant: 'attacker', limits }));
    const victim = await supervisor.instantiate(spec(SOURCE, { tenant: 'victim' }));
    expect(supervisor.stats().workers).toBe(1);

    expect(await codeOf(attacker.call('hugeFill'))).toBe('ERR_MEMORY_LIMIT');
    // The terminated isolate keeps its thread: the worker reports it stuck and the attacker moves
    // to a worker of its own at once. The shared worker then goes down (its memory cap or the
    // runaway grace, whichever comes first) and is replaced.
    await expect.poll(() => supervisor.stats().quarantined, { timeout: 30_000 }).toBe(1);
    await expect.poll(() => supervisor.stats().restarts, { timeout: 30_000 }).toBe(1);
    expect(await victim.call('ok')).toBe('ok');
    const [victimPid] = supervisor.stats().pids;
    expect(supervisor.stats().pids).toHaveLength(1);
    const restarts = supervisor.stats().restarts;

    // Second attack, after the back-off: only the attacker's own worker goes down.
    const second = codeOf(attacker.call('hugeFill'));
    const outcomes: string[] = [];
    let done = false;
    void second.finally(() => (done = true));
    while (!done) {
      outcomes.push(await codeOf(victim.call('ok')));
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    expect(await second).toBe('ERR_MEMORY_LIMIT');
    await expect.poll(() => supervisor.stats().restarts, { timeout: 30_000 }).toBeGreaterThan(restarts);
    expect(outcomes.every((o) => o === 'fulfilled')).toBe(true);
    expect(await victim.call('ok')).toBe('ok');
    expect(supervisor.stats().pids).toContain(victimPid);
  }, 120_000);
});
