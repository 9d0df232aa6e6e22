/**
 * A flood of un-awaited capability calls, against the sandbox layer alone: it must not starve the
 * shared worker (another tenant's calls keep succeeding, no worker is replaced) and must settle in time.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { createSupervisor } from '../../src/sandbox/supervisor.ts';
import { cls, spec } from '../sandbox/helpers.ts';

// One worker: attacker and victim share the process, as on a busy node.
const supervisor = createSupervisor({ workers: 1 });
afterAll(() => supervisor.close());

const TIMEOUT_MS = 1000;

describe('when a tenant floods capability calls without awaiting them (layer: sandbox)', () => {
  it('keeps another tenant on the same worker answering, replaces no worker, settles in time', async () => {
    const victim = await supervisor.instantiate(spec(cls(`ok() { return 'ok'; }`), { tenant: 'victim' }));
    const attacker = await supervisor.instantiate(
      spec(
        cls(`go() {
          let n = 0;
          const end = Date.now() + 900;
          while (Date.now() < end) for (let i = 0; i < 1000; i++) { this.host.kv.get('x').catch(() => {}); n++; }
          return n > 0;
        }`),
        { tenant: 'attacker', limits: { callTimeoutMs: TIMEOUT_MS } },
      ),
    );
    const restarts = supervisor.stats().restarts;
    const start = performance.now();
    const attack = attacker.call('go').then(
      () => 'settled',
      (error: { code?: string }) => error.code,
    );
    await new Promise((resolve) => setTimeout(resolve, 300));
    const answers: unknown[] = [];
    for (let i = 0; i < 5; i++) {
      answers.push(await victim.call('ok').catch((error: { code?: string }) => error.code));
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    expect(['settled', 'ERR_TIMEOUT']).toContain(await attack);
    expect(performance.now() - start).toBeLessThan(TIMEOUT_MS + 1000 + 600);
    expect(answers).toEqual(['ok', 'ok', 'ok', 'ok', 'ok']);
    expect(supervisor.stats().restarts).toBe(restarts);
    expect(await attacker.call('go')).toBe(true);
  });
});
