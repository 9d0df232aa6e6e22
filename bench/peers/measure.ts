/**
 * The workloads, generic over an {@link Engine}: the same functions run in the comparison
 * process and in the per-engine child processes (SES, memory), so every engine sees exactly the
 * same measurement code.
 */
import { Bench } from 'tinybench';
import { median, timeRuns } from '../harness.ts';
import { bm25Workload } from '../workloads/bm25.ts';
import { coldComponent } from '../workloads/cold-component.ts';
import { ECHO_ARGUMENT, ECHO_COMPONENT } from '../workloads/echo.ts';
import { selfRssMb, treeRssMb } from './rss.ts';
import type { Engine, Json, LoadedComponent, PreparedComponent } from './engine.ts';

/** Sizes of one measurement run. */
export interface Sizes {
  /** cold loads timed (each a new tenant) */
  readonly coldRuns: number;
  /** source lines of the cold-load component (the figure: 200) */
  readonly coldLines: number;
  /** source lines of the large cold-load component (scaling with source size) */
  readonly coldLinesLarge: number;
  /** tinybench time budget per warm-call task, ms */
  readonly warmTimeMs: number;
  /** calls in flight per pipelined batch */
  readonly pipelineBatch: number;
  /** corpus size of the compute workload, bytes (the figure: 1 MB) */
  readonly corpusBytes: number;
  /** compute calls timed */
  readonly computeRuns: number;
  /** components (tenants) loaded for the memory figure (the figure: 200) */
  readonly memoryCount: number;
}

/** Full sizes (`npm run bench`). */
export const FULL_SIZES: Sizes = {
  coldRuns: 30,
  coldLines: 200,
  coldLinesLarge: 2000,
  warmTimeMs: 1500,
  pipelineBatch: 64,
  corpusBytes: 1024 * 1024,
  computeRuns: 10,
  memoryCount: 200,
};

/** Tiny sizes (`--quick` and the smoke test in `npm test`). */
export const QUICK_SIZES: Sizes = {
  coldRuns: 3,
  coldLines: 200,
  coldLinesLarge: 400,
  warmTimeMs: 40,
  pipelineBatch: 10,
  corpusBytes: 16 * 1024,
  computeRuns: 2,
  memoryCount: 4,
};

/** What one engine measured (all in one process, one run). */
export interface EngineFigures {
  readonly engine: string;
  /** cold load + first call result, median ms, `coldLines` lines */
  readonly coldMs: number;
  /** the same with `coldLinesLarge` lines */
  readonly coldLargeMs: number;
  /** sequential awaited echo calls per second, and their median latency (NaN until measured) */
  warmSeqOps: number;
  warmSeqMedianMs: number;
  /** pipelined echo calls per second (`pipelineBatch` in flight) */
  pipelinedOps: number;
  /** one BM25 rank over the corpus, median ms (NaN until measured) */
  computeMs: number;
  /** the compute call's result (the smoke test checks the engines agree) */
  computeResult: Json;
  /** the echo call's result (checked against the argument) */
  echoResult: Json;
}

let tenantCounter = 0;
function freshTenant(prefix: string): string {
  tenantCounter++;
  return `${prefix}-${process.pid}-${tenantCounter}`;
}

/** Median ms of loading a new component for a new tenant up to its first call result. */
export async function measureCold(engine: Engine, lines: number, runs: number): Promise<number> {
  const component = coldComponent(lines);
  const warmup = Math.min(3, runs);
  // Pack and sign (sealbox) ahead of the clock: a cold load starts with the envelope in hand.
  const prepared: PreparedComponent[] = [];
  // One tenant prefix per size (cold200-…, cold2000-…): the stage breakdown is of one size.
  for (let i = 0; i < runs + warmup; i++)
    prepared.push(await engine.prepare(component, freshTenant(`cold${lines}`)));
  let next = 0;
  const times = await timeRuns(
    async () => {
      const loaded = await engine.load(prepared[next++]!);
      await loaded.call('first');
      await loaded.dispose();
    },
    runs,
    warmup,
  );
  return median(times);
}

async function tinybenchTask(name: string, timeMs: number, fn: () => Promise<unknown>) {
  const bench = new Bench({
    time: timeMs,
    warmupTime: Math.max(10, timeMs / 5),
    iterations: 5,
    throws: true,
  });
  // `async: true`: otherwise tinybench calls `fn` once, unawaited, to detect whether it is async,
  // which puts an extra batch in flight (sealbox then refuses it: its per-tenant queue is bounded).
  bench.add(name, fn, { async: true });
  await bench.run();
  const result = bench.tasks[0]!.result;
  if (result.state !== 'completed') throw new Error(`tinybench task ${name} ended ${result.state}`);
  return { opsPerSec: result.throughput.mean, medianMs: result.latency.p50 };
}

/** One engine's warm-call figures. */
export interface WarmFigure {
  readonly warmSeqOps: number;
  readonly warmSeqMedianMs: number;
  readonly pipelinedOps: number;
  readonly echoResult: Json;
}

/**
 * Warm calls on one resident echo component per engine: sequential awaited calls and pipelined
 * batches, as tinybench tasks, in rounds that alternate the engines (A seq, A pipe, B seq, B pipe,
 * A seq, ...) so that the machine's state (load, idle vCPUs that wake slowly) is shared between
 * them; each figure is the median over the rounds.
 */
export async function measureWarm(
  engines: readonly Engine[],
  sizes: Sizes,
): Promise<Map<string, WarmFigure>> {
  const rounds = sizes.warmTimeMs >= 500 ? 5 : 1;
  const taskMs = sizes.warmTimeMs / rounds;
  const batch = sizes.pipelineBatch;
  const echoes: LoadedComponent[] = [];
  for (const engine of engines)
    echoes.push(await engine.load(await engine.prepare(ECHO_COMPONENT, freshTenant('echo'))));
  const seqOps = engines.map((): number[] => []);
  const seqMedian = engines.map((): number[] => []);
  const pipeOps = engines.map((): number[] => []);
  const echoResults: Json[] = [];
  try {
    for (const echo of echoes) echoResults.push(await echo.call('echo', ECHO_ARGUMENT));
    for (let round = 0; round < rounds; round++) {
      for (let i = 0; i < engines.length; i++) {
        const echo = echoes[i]!;
        const sequential = await tinybenchTask('echo', taskMs, () => echo.call('echo', ECHO_ARGUMENT));
        seqOps[i]!.push(sequential.opsPerSec);
        seqMedian[i]!.push(sequential.medianMs);
        const pipelined = await tinybenchTask('pipelined', taskMs, () =>
          Promise.all(Array.from({ length: batch }, () => echo.call('echo', ECHO_ARGUMENT))),
        );
        pipeOps[i]!.push(pipelined.opsPerSec * batch);
      }
    }
  } finally {
    for (const echo of echoes) await echo.dispose();
  }
  return new Map(
    engines.map((engine, i) => [
      engine.name,
      {
        warmSeqOps: median(seqOps[i]!),
        warmSeqMedianMs: median(seqMedian[i]!),
        pipelinedOps: median(pipeOps[i]!),
        echoResult: echoResults[i]!,
      },
    ]),
  );
}

/** One engine's compute figure. */
export interface ComputeFigure {
  /** one BM25 rank over the corpus, median ms */
  readonly computeMs: number;
  readonly computeResult: Json;
}

/**
 * Times the BM25 rank on several engines with their runs interleaved (engine A, B, C, A, B, C,
 * ...), so a burst of load on the shared machine hits every engine alike and the ratios hold.
 * quickjs, an interpreter, takes part in at most 3 rounds.
 */
export async function measureCompute(
  engines: readonly Engine[],
  sizes: Sizes,
): Promise<Map<string, ComputeFigure>> {
  const { component, query } = bm25Workload(sizes.corpusBytes);
  const rankers: LoadedComponent[] = [];
  for (const engine of engines)
    rankers.push(await engine.load(await engine.prepare(component, freshTenant('bm25'))));
  const times = engines.map((): number[] => []);
  const results = engines.map((): Json => null);
  try {
    // One untimed warm-up call each (JIT, lazy compilation), then the timed rounds.
    for (let i = 0; i < engines.length; i++) results[i] = await rankers[i]!.call('rank', query, 10);
    for (let round = 0; round < sizes.computeRuns; round++) {
      for (let i = 0; i < engines.length; i++) {
        if (engines[i]!.name === 'quickjs' && round >= 3) continue;
        const start = performance.now();
        results[i] = await rankers[i]!.call('rank', query, 10);
        times[i]!.push(performance.now() - start);
      }
    }
  } finally {
    for (const ranker of rankers) await ranker.dispose();
  }
  return new Map(
    engines.map((engine, i) => [engine.name, { computeMs: median(times[i]!), computeResult: results[i]! }]),
  );
}

/** Options of {@link measureEngine}. */
export interface MeasureOptions {
  /** false: skip the compute workload (the caller times it interleaved with other engines) */
  readonly compute?: boolean;
  /** false: skip the warm-call workloads (likewise) */
  readonly warm?: boolean;
}

/** Runs every timing workload on `engine`. */
export async function measureEngine(
  engine: Engine,
  sizes: Sizes,
  options: MeasureOptions = {},
): Promise<EngineFigures> {
  const coldMs = await measureCold(engine, sizes.coldLines, sizes.coldRuns);
  const coldLargeMs = await measureCold(engine, sizes.coldLinesLarge, Math.max(2, sizes.coldRuns >> 1));

  const warm = options.warm === false ? undefined : (await measureWarm([engine], sizes)).get(engine.name);
  const compute =
    options.compute === false ? undefined : (await measureCompute([engine], sizes)).get(engine.name);
  return {
    engine: engine.name,
    coldMs,
    coldLargeMs,
    warmSeqOps: warm?.warmSeqOps ?? Number.NaN,
    warmSeqMedianMs: warm?.warmSeqMedianMs ?? Number.NaN,
    pipelinedOps: warm?.pipelinedOps ?? Number.NaN,
    computeMs: compute?.computeMs ?? Number.NaN,
    computeResult: compute?.computeResult ?? null,
    echoResult: warm?.echoResult ?? null,
  };
}

/** Resident memory per loaded component. */
export interface MemoryFigures {
  readonly engine: string;
  readonly count: number;
  readonly baselineMb: number;
  readonly loadedMb: number;
  readonly perComponentMb: number;
  /** the part of perComponentMb in the measuring process itself (the rest is in its children) */
  readonly hostPerComponentMb: number;
  /** load + first call, median ms of the first tenth of the loads (few tenants resident) */
  readonly loadMsFirstTenth: number;
  /** the same for the last tenth (nearly `count` tenants resident) */
  readonly loadMsLastTenth: number;
}

async function settle(): Promise<void> {
  const gc = (globalThis as { gc?: () => void }).gc;
  for (let i = 0; i < 3; i++) {
    gc?.();
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/**
 * Loads `count` cold-load components, one tenant each, calls each once, and reports the RSS
 * growth of the process tree per component after gc. Run it in a fresh process per engine.
 */
export async function measureMemory(engine: Engine, count: number, lines = 200): Promise<MemoryFigures> {
  const component = coldComponent(lines);
  // Warm the engine up (module instantiation, worker start) so the baseline includes it.
  const warm = await engine.load(await engine.prepare(component, freshTenant('mem-warm')));
  await warm.call('first');
  await settle();
  const baselineMb = treeRssMb();
  const hostBaselineMb = selfRssMb();
  const loaded: LoadedComponent[] = [];
  const loadMs: number[] = [];
  for (let i = 0; i < count; i++) {
    const prepared = await engine.prepare(component, `mem-tenant-${i}`);
    const start = performance.now();
    const instance = await engine.load(prepared);
    await instance.call('first');
    loadMs.push(performance.now() - start);
    loaded.push(instance);
  }
  const tenth = Math.max(1, Math.floor(count / 10));
  await settle();
  const loadedMb = treeRssMb();
  const hostLoadedMb = selfRssMb();
  for (const instance of loaded) await instance.dispose();
  await warm.dispose();
  return {
    engine: engine.name,
    count,
    baselineMb,
    loadedMb,
    perComponentMb: (loadedMb - baselineMb) / count,
    hostPerComponentMb: (hostLoadedMb - hostBaselineMb) / count,
    loadMsFirstTenth: median(loadMs.slice(0, tenth)),
    loadMsLastTenth: median(loadMs.slice(-tenth)),
  };
}
