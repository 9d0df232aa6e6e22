/**
 * Timing helpers for tests that must show "bounded" or "not quadratic" without an absolute time:
 * a shared or busy machine makes every absolute bound a coin toss, so each claim is a ratio to a
 * baseline measured in the same run, each side timed as the fastest of a few runs (the least noisy
 * estimate when other processes steal the CPU).
 */

/** The fastest of `runs` timings of `fn`, in milliseconds. */
export function fastestMs(fn: () => unknown, runs = 3): number {
  let best = Infinity;
  for (let i = 0; i < runs; i++) {
    const started = performance.now();
    fn();
    best = Math.min(best, performance.now() - started);
  }
  return best;
}

/**
 * How many times slower `fn` is than `baseline` (each the fastest of `runs`). A floor of 0.05 ms on
 * the baseline keeps a near-zero baseline from turning timer resolution into a huge ratio.
 */
export function costRatio(fn: () => unknown, baseline: () => unknown, runs = 3): number {
  const base = Math.max(fastestMs(baseline, runs), 0.05);
  return fastestMs(fn, runs) / base;
}
