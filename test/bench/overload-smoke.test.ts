/**
 * Smoke run of the overload bench (bench/overload.ts) with tiny sizes: it loads tenants, offers
 * load, and reports goodput, refusals and latency for every point with no crashed call. The real
 * figures come from `npm run bench`, never from here.
 */
import { describe, expect, it } from 'vitest';
import { bench } from '../../bench/overload.ts';

describe('when the overload bench runs quick', () => {
  it('reports a goodput, a p99 and a refused share for every point, and no crashed call', async () => {
    const report = await bench({ quick: true });
    expect(report.suite).toBe('overload');
    const goodput = report.rows.filter((r) => r.name.endsWith(': goodput'));
    expect(goodput.length).toBe(4);
    for (const row of goodput) expect(row.opsPerSec).toBeGreaterThanOrEqual(0);
    expect(report.rows.filter((r) => r.name.includes('refused')).length).toBe(4);
    const crashed = report.ratios.filter((r) => r.name.endsWith('ERR_SANDBOX_CRASHED'));
    expect(crashed.map((r) => r.value)).toEqual([0, 0]);
  }, 120_000);
});
