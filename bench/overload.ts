/**
 * Throughput and latency against offered load (issue 10): open-loop arrivals at increasing rates
 * against one supervisor (2 workers), for 1, 10 and 100 tenants. Each call runs ~0.3 ms of CPU in
 * its isolate. Reported per point: goodput (successful calls/s), the share refused (ERR_OVERLOADED
 * at admission, ERR_DEADLINE, ERR_QUEUE_FULL), and p50/p99 latency of the calls that succeeded.
 * Targets: past saturation, goodput holds (>= 0.7 x the peak) and the p99 of successful calls
 * stays bounded by the deadline; no call ever fails with ERR_SANDBOX_CRASHED.
 */
import { createSupervisor, type SandboxedComponent } from '../src/sandbox/supervisor.ts';
import { DEFAULT_SANDBOX_LIMITS } from '../src/sandbox/limits.ts';
import type { BenchOptions, BenchReport, BenchRow } from './harness.ts';

const SOURCE = `class C extends Component {
  work() { let x = 0; for (let i = 0; i < 100000; i++) x = (x * 31 + i) | 0; return x; }
}`;
/** Caller deadline of every call the suite offers (also the p99 bound its chart draws). */
export const DEADLINE_MS = 1000;

interface Point {
  readonly offered: number;
  readonly goodput: number;
  readonly refusedShare: number;
  readonly p50: number;
  readonly p99: number;
  readonly crashed: number;
}

function quantile(sorted: readonly number[], q: number): number {
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!;
}

async function loadTenants(
  count: number,
  supervisor: ReturnType<typeof createSupervisor>,
): Promise<SandboxedComponent[]> {
  const components: SandboxedComponent[] = [];
  for (let i = 0; i < count; i += 10) {
    const batch = Array.from({ length: Math.min(10, count - i) }, (_, k) =>
      supervisor.instantiate(
        {
          tenant: `t${i + k}`,
          identifier: 'work',
          version: 1,
          digest: 'ab'.repeat(32),
          entry: 'C',
          source: SOURCE,
          params: {},
          artifacts: {},
          grants: {},
          limits: DEFAULT_SANDBOX_LIMITS,
        },
        { deadlineMs: 120_000 },
      ),
    );
    components.push(...(await Promise.all(batch)));
  }
  return components;
}

/** Offers `rate` calls/s for `durationMs`, round-robin over the tenants; waits for all to settle. */
async function offer(
  components: readonly SandboxedComponent[],
  rate: number,
  durationMs: number,
): Promise<Point> {
  const latencies: number[] = [];
  let refused = 0;
  let crashed = 0;
  const calls: Promise<void>[] = [];
  const start = performance.now();
  let sent = 0;
  while (performance.now() - start < durationMs) {
    const due = Math.floor(((performance.now() - start) / 1000) * rate);
    for (; sent < due; sent++) {
      const issued = performance.now();
      calls.push(
        components[sent % components.length]!.invoke('work', [], { deadlineMs: DEADLINE_MS }).then(
          () => void latencies.push(performance.now() - issued),
          (error: { code?: string }) => {
            if (error.code === 'ERR_SANDBOX_CRASHED') crashed++;
            else refused++;
          },
        ),
      );
    }
    await new Promise((resolve) => setImmediate(resolve));
  }
  await Promise.all(calls);
  const sorted = latencies.sort((a, b) => a - b);
  return {
    offered: rate,
    goodput: (latencies.length * 1000) / durationMs,
    refusedShare: sent === 0 ? 0 : refused / sent,
    p50: quantile(sorted, 0.5),
    p99: quantile(sorted, 0.99),
    crashed,
  };
}

/** Runs the overload suite. */
export async function bench(options: BenchOptions): Promise<BenchReport> {
  const tenantCounts = options.quick ? [1, 10] : [1, 10, 100];
  const rates = options.quick ? [200, 4000] : [250, 500, 1000, 2000, 4000, 8000, 16000];
  const durationMs = options.quick ? 300 : 3000;
  const rows: BenchRow[] = [];
  const ratios: BenchReport['ratios'][number][] = [];
  for (const tenants of tenantCounts) {
    const supervisor = createSupervisor({ workers: 2, deadlineMs: DEADLINE_MS });
    try {
      const components = await loadTenants(tenants, supervisor);
      await offer(components, rates[0]!, Math.min(300, durationMs)); // warm-up
      const points: Point[] = [];
      for (const rate of rates) points.push(await offer(components, rate, durationMs));
      for (const p of points) {
        const label = `${tenants} tenant${tenants === 1 ? '' : 's'}, offered ${p.offered}/s`;
        rows.push({ name: `${label}: goodput`, opsPerSec: p.goodput, medianMs: p.p50 });
        rows.push({ name: `${label}: p99 of successful calls`, value: p.p99, unit: 'ms' });
        rows.push({
          name: `${label}: refused (overloaded/deadline)`,
          value: 100 * p.refusedShare,
          unit: '%',
        });
      }
      const peak = Math.max(...points.map((p) => p.goodput));
      const last = points[points.length - 1]!;
      ratios.push({
        name: `${tenants} tenants: goodput at the highest offered load / peak goodput`,
        value: last.goodput / peak,
        target: '>= 0.7',
        ok: last.goodput / peak >= 0.7,
      });
      ratios.push({
        name: `${tenants} tenants: p99 of successful calls at the highest load / deadline`,
        value: last.p99 / DEADLINE_MS,
        target: '<= 1',
        ok: last.p99 <= DEADLINE_MS,
      });
      const crashed = points.reduce((n, p) => n + p.crashed, 0);
      ratios.push({
        name: `${tenants} tenants: calls failed ERR_SANDBOX_CRASHED`,
        value: crashed,
        target: '0',
        ok: crashed === 0,
      });
    } finally {
      await supervisor.close();
    }
  }
  return {
    suite: 'overload',
    rows,
    ratios,
    notes: [
      `Open-loop arrivals, deadline ${DEADLINE_MS} ms per call, 2 workers, default queue bound (256 per worker); each call ~0.3 ms of CPU.`,
      'Saturation: where goodput stops following the offered load; beyond it the excess is refused at admission (ERR_OVERLOADED) or at its deadline, and what is accepted keeps a bounded latency.',
    ],
  };
}

if (process.argv[1] !== undefined && import.meta.url.endsWith(process.argv[1].split('/').pop() ?? '')) {
  console.log(JSON.stringify(await bench({ quick: process.argv.includes('--quick') }), null, 2));
}
