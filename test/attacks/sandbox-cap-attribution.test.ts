/**
 * Regression (layer: sandbox worker, capability accounting): answers to capability requests that
 * an earlier call left behind (un-awaited, like the component contract's own `host.log` example) used
 * to be counted against whichever call of the component ran when they arrived. A later async call
 * awaiting its own capability then looked like it had nothing left to wait for, and the worker's
 * never-settles check failed it with ERR_TIMEOUT. Each answer now counts only for the call that
 * made the request.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { createSupervisor } from '../../src/sandbox/supervisor.ts';
import { cls, spec } from '../sandbox/helpers.ts';

const DELAY_MS = 300;
/** Answers to the requests `fire` leaves behind arrive while `wait` awaits its own. */
const LATER_MS = 100;
const supervisor = createSupervisor({
  workers: 1,
  capabilities: [
    {
      name: 'later',
      methods: {
        run: { handler: () => new Promise((resolve) => setTimeout(() => resolve(1), LATER_MS).unref()) },
      },
    },
    {
      name: 'delay',
      methods: {
        wait: {
          handler: () => new Promise((resolve) => setTimeout(() => resolve('waited'), DELAY_MS).unref()),
        },
      },
    },
  ],
});
afterAll(() => supervisor.close());

const SOURCE = cls(`
  fire(n) { for (let i = 0; i < n; i++) this.host.later.run(); return n; }
  async wait() { return await this.host.delay.wait(); }
`);

describe('when an earlier call leaves capability requests in flight (layer: sandbox)', () => {
  it('lets the next async call wait for its own capability answer', async () => {
    const c = await supervisor.instantiate(
      spec(SOURCE, { grants: { later: {}, delay: {} }, limits: { callTimeoutMs: 5000 } }),
    );
    for (let round = 0; round < 3; round++) {
      const fired = c.call('fire', 5);
      const waited = c.call('wait');
      expect(await fired).toBe(5);
      expect(await waited).toBe('waited');
    }
  });
});
