/**
 * The hard memory cap of a worker process: the backstop behind isolated-vm's `memoryLimit`, which
 * counts only the V8 heap (and array buffers) of each isolate. Memory V8 or ICU keep outside it, a
 * V8 that overshoots, or a leak in native code all grow the worker process itself; the host reads
 * the resident set of the worker's whole process tree (the worker, and bwrap around it when jailed)
 * from /proc and kills a worker above its cap.
 *
 * Why a resident-set watchdog and not the alternatives (measured on Node 26 + isolated-vm 7.0.1):
 * - RLIMIT_AS counts address space, and V8 reserves ~790 MB of it per isolate while ~8 MB are
 *   resident (a worker with 10 small isolates: 9.4 GB virtual, 133 MB resident). A limit loose
 *   enough for the reservations bounds nothing, and it is fixed when the process starts while the
 *   number of isolates changes.
 * - A cgroup v2 memory.max per worker is exact and enforced by the kernel, but needs a delegated,
 *   writable cgroup v2 subtree with the memory controller, which most containers do not give (this
 *   project's CI has a cgroup v1 memory hierarchy owned by its runner). Put the node itself in a
 *   memory-limited cgroup or container for a kernel-enforced outer bound (docs/sandbox.md).
 * What this does not do: it samples (every MEMORY_POLL_MS), so a worker can overshoot its cap by
 * what it allocates in one period before it is killed.
 */
import { readdirSync, readFileSync } from 'node:fs';

/** Sizing of a worker's cap, in MiB: base + per isolate (heapFactor × memoryMb + perIsolate) + per component. */
export const MEMORY_CAP_SIZING = Object.freeze({
  /** Node, isolated-vm, the worker's code and one bare isolate: ~50-70 MB resident, doubled */
  baseMb: 128,
  /** isolated-vm: an isolate may exceed memoryLimit "by 2-3 times" before V8 notices */
  heapFactor: 2,
  /** an isolate's own overhead outside its heap (~8 MB measured), doubled */
  perIsolateMb: 16,
  /** a context with the hardened bootstrap (~2.5 MB measured) */
  perComponentMb: 4,
});

/** How often the host samples every worker's resident memory. */
export const MEMORY_POLL_MS = 100;

/**
 * The cap of one worker in MiB, from the `memoryMb` of each tenant isolate it holds and the number
 * of components loaded in it.
 */
export function workerMemoryCapMb(isolateMemoryMb: Iterable<number>, components: number): number {
  let cap = MEMORY_CAP_SIZING.baseMb + MEMORY_CAP_SIZING.perComponentMb * components;
  for (const memoryMb of isolateMemoryMb) {
    cap += MEMORY_CAP_SIZING.heapFactor * memoryMb + MEMORY_CAP_SIZING.perIsolateMb;
  }
  return cap;
}

/** Whether this system exposes per-process resident memory in /proc (Linux). */
export const CAN_MEASURE_RSS = process.platform === 'linux';

/**
 * Resident memory (KiB) of process `pid` and all its descendants, or undefined when `pid` is gone.
 * Reads /proc/<pid>/status (VmRSS) and /proc/<pid>/task/<tid>/children; never throws.
 */
export function processTreeRssKb(pid: number): number | undefined {
  const root = rssKb(pid);
  if (root === undefined) return undefined;
  let total = root;
  const seen = new Set<number>([pid]);
  const stack = childrenOf(pid);
  // Bounded: a worker tree is bwrap, its init and the worker (the worker may not spawn).
  while (stack.length > 0 && seen.size < 64) {
    const child = stack.pop()!;
    if (seen.has(child)) continue;
    seen.add(child);
    total += rssKb(child) ?? 0;
    stack.push(...childrenOf(child));
  }
  return total;
}

/** Process ids below `pid` (every thread's children), empty when unknown. */
export function childrenOf(pid: number): number[] {
  const children: number[] = [];
  let tasks: string[];
  try {
    tasks = readdirSync(`/proc/${pid}/task`);
  } catch {
    return children;
  }
  for (const tid of tasks) {
    try {
      for (const word of readFileSync(`/proc/${pid}/task/${tid}/children`, 'utf8').split(' ')) {
        const child = Number(word);
        if (Number.isInteger(child) && child > 0) children.push(child);
      }
    } catch {
      // thread gone, or a kernel without CONFIG_PROC_CHILDREN
    }
  }
  return children;
}

function rssKb(pid: number): number | undefined {
  let status: string;
  try {
    status = readFileSync(`/proc/${pid}/status`, 'utf8');
  } catch {
    return undefined;
  }
  const match = /^VmRSS:\s+(\d+) kB$/m.exec(status);
  // A zombie has no VmRSS line: it holds no memory.
  return match === null ? 0 : Number(match[1]);
}
