/**
 * Shared shapes for benchmarks. Every bench module exports `bench(options)` returning a
 * BenchReport; bench/run.ts runs them all, prints a table, writes JSON to bench/results/.
 * Targets are ratios measured in the same run, never absolute times from another run.
 */

export interface BenchOptions {
  /** Tiny sizes and few iterations: the smoke run inside `npm test`. */
  readonly quick: boolean;
}

export interface BenchRow {
  readonly name: string;
  /** operations per second (mean over the run), when the row is a throughput */
  readonly opsPerSec?: number;
  /** median latency of one operation, milliseconds */
  readonly medianMs?: number;
  /** any other figure, with its unit in the name (e.g. `rssPerComponentMB`) */
  readonly value?: number;
  readonly unit?: string;
}

export interface BenchRatio {
  readonly name: string;
  /** measured ratio */
  readonly value: number;
  /** human-readable target, e.g. `<= 1.15` */
  readonly target: string;
  readonly ok: boolean;
}

export interface BenchReport {
  readonly suite: string;
  readonly rows: readonly BenchRow[];
  readonly ratios: readonly BenchRatio[];
  readonly notes?: readonly string[];
}

/** Median of a list of numbers. */
export function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

/** Times `fn` `iterations` times (after `warmup` runs); returns per-run milliseconds. */
export async function timeRuns(fn: () => unknown, iterations: number, warmup = 3): Promise<number[]> {
  for (let i = 0; i < warmup; i++) await fn();
  const times: number[] = [];
  for (let i = 0; i < iterations; i++) {
    const start = performance.now();
    await fn();
    times.push(performance.now() - start);
  }
  return times;
}
