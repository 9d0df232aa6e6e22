/**
 * The sandbox's time model, in one place (docs/sandbox.md, "Time"):
 *
 * - **Budget** (`callTimeoutMs`): CPU time the tenant's own code runs in its isolate during one
 *   load or call, plus the wall time its capability calls take on the host. It starts when the
 *   call starts executing; time queued on the host, waiting for an isolate thread, waiting for a
 *   worker, or descheduled by a busy machine is never charged. The worker meters it from
 *   isolated-vm's per-isolate clock scaled by the CPU share the worker really got, and disposes
 *   the isolate past it (`ERR_TIMEOUT`).
 * - **Wall ceiling**: a generous wall-clock bound on one running call, the backstop for code that
 *   stops consuming CPU but never finishes (an async method awaiting nothing) and for a worker
 *   whose meter cannot run. It is isolated-vm's `timeout` of every isolate entry.
 * - **Deadline**: the caller's wall-clock bound on latency (queue time included). Past it the
 *   caller's promise settles with `ERR_DEADLINE`; work not started is cancelled, nothing is killed.
 * - **Heartbeat**: a worker is killed only when it is broken: no heartbeat answer for seconds, a
 *   dead process, or an isolate that keeps running after termination.
 */

/**
 * Wall-clock ceiling of one running load or call with this budget: 60x the budget + 10 s. Generous
 * on purpose: the meter stops code that runs past its budget; the ceiling only ends ops that stop
 * running without finishing, and must never fire for a legal call on a starved machine (measured:
 * a worker got ~3% of a core with 22 runnable processes on 2 cores).
 */
export function wallCeilingMs(budgetMs: number): number {
  return budgetMs * 60 + 10_000;
}

/**
 * How long a terminated isolate may keep its thread busy before the worker declares it runaway
 * (V8 ignored termination, e.g. one huge BigInt operation) and exits with the runaway marker.
 */
export const RUNAWAY_GRACE_MS = 2000;

/**
 * How long a terminated isolate may keep its thread before the worker tells the host it is stuck.
 * The host then moves the tenant to a worker of its own at once, before the runaway grace or the
 * worker's memory cap ends the shared worker. Termination normally lands within milliseconds; a
 * false alarm on a starved machine costs the tenant one quarantine back-off, never a wrong result.
 */
export const STUCK_NOTICE_MS = 500;

/** A worker that has not answered a heartbeat for this long (or 3 periods, if longer) is broken. */
export const HEARTBEAT_MISS_FLOOR_MS = 3000;

/** Silence after which a worker is broken, for a heartbeat period. */
export function heartbeatMissMs(periodMs: number): number {
  return Math.max(HEARTBEAT_MISS_FLOOR_MS, 3 * periodMs);
}

/**
 * Host-side backstop for one running op: past it the worker has neither answered nor died, though
 * its own meter, ceiling and runaway check should have ended the op long before; it is broken.
 */
export function hostBackstopMs(budgetMs: number): number {
  return wallCeilingMs(budgetMs) + RUNAWAY_GRACE_MS + HEARTBEAT_MISS_FLOOR_MS;
}

/**
 * A backstop (wall ceiling, host backstop) of an op pipelined behind `ahead` others in its
 * isolate: it may wait for each of them to end at its own backstop first. At most what a Node
 * timer holds (a longer one would fire at once).
 */
export function pipelinedBackstopMs(backstopMs: number, ahead: number): number {
  return Math.min(2 ** 31 - 1, backstopMs * (ahead + 1));
}

/** Default caller deadline of a call or load (wall clock, queue time included). */
export const DEFAULT_DEADLINE_MS = 10_000;

/** Ops one worker runs at once (across tenants; one per tenant). More wait on the host. */
export const WORKER_CONCURRENCY = 4;

/** Default bound of ops waiting on the host per worker before `ERR_OVERLOADED`. */
export const DEFAULT_MAX_QUEUED_PER_WORKER = 256;

/** Period of the worker's CPU meter while anything runs. */
export const METER_PERIOD_MS = 5;

/**
 * Smallest budget whose calls are pipelined. A period in which one call ends and the next starts
 * is charged to neither, so a pipelined call may run up to two periods uncharged (the one it
 * starts in and the one it ends in): at this budget, at most 5% of it. Calls with smaller budgets
 * go one at a time, charged from their first instant.
 */
export const PIPELINE_MIN_BUDGET_MS = 40 * METER_PERIOD_MS;

/** Most calls of one component in the worker at once, whatever maxConcurrentCalls says. */
export const MAX_PIPELINE_DEPTH = 64;

/**
 * Work a pipeline may hold (its calls in flight times their usual run time): another tenant that
 * comes for a turn while the worker is full waits about this long for the pipeline to drain.
 */
export const PIPELINE_WINDOW_MS = 20;
