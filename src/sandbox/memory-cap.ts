/**
 * The hard memory cap of a worker process: the backstop behind isolated-vm's `memoryLimit`, which
 * counts only the V8 heap (and array buffers) of each isolate. Memory V8 or ICU keep outside it, a
 * V8 that overshoots, or a leak in native code all grow the worker process itself; the host reads
 * the anonymous resident memory of the worker's whole process tree (the worker, and bwrap around it
 * when jailed) from /proc and kills a worker above its cap.
 *
 * Anonymous (plus shared-memory) pages only, not all of VmRSS: the file-backed part is the node
 * binary, its embedded ICU data and the shared libraries. It is bounded by those files (a worker
 * cannot map new ones), the kernel may drop it at any time, and it grows as a tenant's Intl use
 * touches more locale data (measured: 54 MB in a fresh worker, 59 MB after one Japanese date and
 * one Thai segment, 60 MB after an Intl attack). Counted, it left too little room under the cap for
 * a legitimate call after an attack in the same worker (a CI run: ERR_MEMORY_LIMIT for a call that
 * holds ~20 MB). Not counting it opens nothing: clean file pages are bounded by the mapped files and
 * reclaimable, while memory a tenant can make grow (heap, malloc, tmpfs, memfd) is anonymous or
 * shared and stays counted.
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
  /** Node, isolated-vm, the worker's code and one bare isolate: ~43 MB anonymous, tripled */
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
 * Anonymous resident memory (KiB) of process `pid` and all its descendants, or undefined when `pid`
 * is gone. Reads /proc/<pid>/status (RssAnon + RssShmem) and /proc/<pid>/task/<tid>/children;
 * never throws.
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
  const anon = /^RssAnon:\s+(\d+) kB$/m.exec(status);
  const shmem = /^RssShmem:\s+(\d+) kB$/m.exec(status);
  if (anon !== null && shmem !== null) return Number(anon[1]) + Number(shmem[1]);
  // A kernel before 4.5 has no split: all of VmRSS counts (stricter, never looser).
  const total = /^VmRSS:\s+(\d+) kB$/m.exec(status);
  // A zombie has no VmRSS line: it holds no memory.
  return total === null ? 0 : Number(total[1]);
}
