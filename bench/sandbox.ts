/**
 * Sandbox cost, next to raw isolated-vm in the same process and the same run:
 * - sequential awaited call round trip: sealbox (host → worker process → isolate → back) vs raw
 *   `Reference.apply` awaited in-process; target >= 0.5x of raw calls/s;
 * - pipelined calls/s (`Promise.all` of a batch): sealbox vs raw; target >= 0.5x;
 * - cold instantiate of a 200-line component (new tenant: isolate + context + bootstrap + compile +
 *   construct + first call) vs raw (isolate + context + compile + construct + first call);
 * - resident memory per loaded component with 200 tenants (one isolate each), workers' RSS delta;
 *   target <= 3 MB (decimal).
 * Rounds interleave raw and sealbox so machine noise hits both alike; figures are medians.
 */
import { readFileSync } from 'node:fs';
import ivm from 'isolated-vm';
import { DEFAULT_SANDBOX_LIMITS, type SandboxLimits } from '../src/sandbox/limits.ts';
import { createSupervisor, type ComponentSpec } from '../src/sandbox/supervisor.ts';
import { median, type BenchOptions, type BenchReport, type BenchRow, type BenchRatio } from './harness.ts';
import { COLD_ENTRY, coldComponentSource } from './workloads/cold-component.ts';

const ECHO_SOURCE = 'class Echo extends Component { echo(x) { return x; } }';
const ARG = { text: 'the quick brown fox', n: 42 };

const BENCH_LIMITS: SandboxLimits = {
  ...DEFAULT_SANDBOX_LIMITS,
  memoryMb: 64,
  callTimeoutMs: 30_000,
  maxConcurrentCalls: 10_000,
  maxQueuedCalls: 1_000_000,
};

function spec(
  tenant: string,
  source: string,
  entry: string,
  params: ComponentSpec['params'] = {},
): ComponentSpec {
  return {
    tenant,
    identifier: entry.toLowerCase(),
    version: 1,
    digest: '00'.repeat(32),
    entry,
    source,
    params,
    artifacts: {},
    grants: { log: {} },
    limits: BENCH_LIMITS,
  };
}

/** Resident set size of a process in decimal MB (Linux /proc, whose "kB" are KiB), 0 elsewhere. */
function rssMb(pid: number): number {
  try {
    const match = /^VmRSS:\s+(\d+) kB/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return match ? (Number(match[1]) * 1024) / 1e6 : 0;
  } catch {
    return 0;
  }
}

async function rate(n: number, fn: () => Promise<unknown>): Promise<number> {
  const start = performance.now();
  await fn();
  return (n / (performance.now() - start)) * 1000;
}

/** Runs the sandbox suite. */
export async function bench(options: BenchOptions): Promise<BenchReport> {
  const rounds = options.quick ? 2 : 7;
  const seqCalls = options.quick ? 50 : 2000;
  const pipeCalls = options.quick ? 100 : 5000;
  const coldRuns = options.quick ? 3 : 20;
  const tenants = options.quick ? 10 : 200;
  const notes: string[] = [];

  // Raw isolated-vm, in this process.
  const isolate = new ivm.Isolate({ memoryLimit: 64 });
  const context = await isolate.createContext();
  const raw = (await context.eval('(function echo(x) { return x; })', { reference: true })) as ivm.Reference<
    (x: unknown) => unknown
  >;
  const rawCall = (): Promise<unknown> =>
    raw.apply(undefined, [ARG], { arguments: { copy: true }, result: { copy: true } });

  // The transport is what is measured: the worker's admission bound must hold a whole batch.
  const supervisor = createSupervisor({ workers: 2, maxQueuedPerWorker: pipeCalls });
  try {
    const echo = await supervisor.instantiate(spec('bench-echo', ECHO_SOURCE, 'Echo'));
    for (let i = 0; i < 200; i++) {
      await echo.call('echo', ARG);
      await rawCall();
    }

    const seq = { raw: [] as number[], sealbox: [] as number[] };
    const pipe = { raw: [] as number[], sealbox: [] as number[] };
    for (let round = 0; round < rounds; round++) {
      seq.raw.push(
        await rate(seqCalls, async () => {
          for (let i = 0; i < seqCalls; i++) await rawCall();
        }),
      );
      seq.sealbox.push(
        await rate(seqCalls, async () => {
          for (let i = 0; i < seqCalls; i++) await echo.call('echo', ARG);
        }),
      );
      pipe.raw.push(await rate(pipeCalls, () => Promise.all(Array.from({ length: pipeCalls }, rawCall))));
      pipe.sealbox.push(
        await rate(pipeCalls, () =>
          Promise.all(Array.from({ length: pipeCalls }, () => echo.call('echo', ARG))),
        ),
      );
    }

    // Cold instantiate of a 200-line component: a new tenant each time (new isolate in a warm worker).
    const coldSource = coldComponentSource(200);
    const params = { size: 5, overlap: 1 };
    const cold = { raw: [] as number[], sealbox: [] as number[] };
    for (let i = 0; i < coldRuns; i++) {
      let start = performance.now();
      const loaded = await supervisor.instantiate(spec(`cold-${i}`, coldSource, COLD_ENTRY, params));
      await loaded.call('normalize', ' a  b ');
      cold.sealbox.push(performance.now() - start);
      await loaded.dispose();

      start = performance.now();
      const iso = new ivm.Isolate({ memoryLimit: 64 });
      const ctx = await iso.createContext();
      await ctx.eval('class Component { constructor(p) { this.params = p; } }');
      await ctx.eval(coldSource);
      const first = (await ctx.eval(
        `(function (params, text) { return new ${COLD_ENTRY}(params).normalize(text); })`,
        { reference: true },
      )) as ivm.Reference<(params: unknown, text: string) => string>;
      await first.apply(undefined, [params, ' a  b '], { arguments: { copy: true }, result: { copy: true } });
      cold.raw.push(performance.now() - start);
      iso.dispose();
    }

    // Resident memory per loaded component: `tenants` tenants, one component (and isolate) each.
    const before = supervisor.stats().pids.reduce((sum, pid) => sum + rssMb(pid), 0);
    const loadedAll = [];
    for (let i = 0; i < tenants; i++) {
      const c = await supervisor.instantiate(spec(`mem-${i}`, coldSource, COLD_ENTRY, params));
      await c.call('normalize', 'x');
      loadedAll.push(c);
    }
    const stats = supervisor.stats();
    const after = stats.pids.reduce((sum, pid) => sum + rssMb(pid), 0);
    const perComponent = (after - before) / tenants;
    if (after === 0) notes.push('RSS not measurable here (no /proc): per-component memory is 0');
    notes.push(
      `${stats.components} components in ${stats.isolates} isolates over ${stats.workers} workers; ` +
        `worker RSS ${before.toFixed(1)} → ${after.toFixed(1)} MB`,
    );

    const rows: BenchRow[] = [
      { name: 'raw ivm apply, sequential awaited', opsPerSec: median(seq.raw) },
      { name: 'sealbox call, sequential awaited', opsPerSec: median(seq.sealbox) },
      { name: `raw ivm apply, pipelined x${pipeCalls}`, opsPerSec: median(pipe.raw) },
      { name: `sealbox call, pipelined x${pipeCalls}`, opsPerSec: median(pipe.sealbox) },
      { name: 'raw ivm cold load, 200-line class', medianMs: median(cold.raw) },
      { name: 'sealbox cold instantiate, 200-line class', medianMs: median(cold.sealbox) },
      { name: `rss per loaded component (${tenants} tenants)`, value: perComponent, unit: 'MB' },
    ];
    const seqRatio = median(seq.sealbox) / median(seq.raw);
    const pipeRatio = median(pipe.sealbox) / median(pipe.raw);
    const ratios: BenchRatio[] = [
      {
        name: 'sequential calls/s, sealbox / raw ivm',
        value: seqRatio,
        target: '>= 0.5',
        ok: seqRatio >= 0.5,
      },
      {
        name: 'pipelined calls/s, sealbox / raw ivm',
        value: pipeRatio,
        target: '>= 0.5',
        ok: pipeRatio >= 0.5,
      },
      {
        name: 'rss MB per loaded component',
        value: perComponent,
        target: '<= 3',
        ok: perComponent <= 3,
      },
    ];
    return { suite: 'sandbox', rows, ratios, notes };
  } finally {
    await supervisor.close();
    isolate.dispose();
  }
}
