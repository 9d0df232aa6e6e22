/**
 * The policy check off the main thread: a small pool of worker threads that run `checkSource`,
 * each check with a deadline. The loader awaits it, so no source (however large or hostile) holds
 * the node's event loop while it is parsed, walked and folded.
 *
 * - Bounded: at most `size` workers (default 2), started lazily on the first check; more checks
 *   wait in a FIFO queue.
 * - A busy worker is ref'd (a pending load keeps the process alive, as any pending I/O does); an
 *   idle one is unref'd, so the pool never holds a process open.
 * - A check past its deadline, or whose worker dies (out of memory, crash), terminates that worker
 *   and fails closed: PolicyError ERR_POLICY_VIOLATION with one violation of rule `source.budget`,
 *   whatever the policy mode (an unfinished check is not a verdict audit mode could report).
 * - `close()` rejects every pending check with SandboxError ERR_SANDBOX_CLOSED and stops the workers.
 */
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import { InternalError, PolicyError, SandboxError, type Violation } from '../errors.ts';
import { checkSource } from './check.ts';
import type { CheckOptions, CheckResult, EffectivePolicy } from './types.ts';

/** Default deadline of one check, ms (a 2 MiB bundle checks in about 1 s on a busy 2-core host). */
export const DEFAULT_CHECK_DEADLINE_MS = 15_000;
/** Default number of worker threads. */
export const DEFAULT_CHECK_WORKERS = 2;
/** Heap of one check worker, MiB: a 2 MiB source at the default node limit needs about 300. */
const WORKER_HEAP_MB = 768;

/** A check posted to a worker. */
export interface CheckJob {
  readonly id: number;
  readonly source: string;
  readonly policy: EffectivePolicy;
  readonly requires: readonly string[];
}

/** A worker's answer: the result, or why checkSource threw. */
export type CheckReply =
  { readonly id: number; readonly result: CheckResult } | { readonly id: number; readonly error: string };

/** Options of {@link CheckPool}. */
export interface CheckPoolOptions {
  /** Most worker threads (default 2). */
  readonly size?: number;
  /** Deadline of one check once a worker runs it, ms (default 15,000). */
  readonly deadlineMs?: number;
}

interface Pending {
  readonly job: CheckJob;
  readonly resolve: (result: CheckResult) => void;
  readonly reject: (error: unknown) => void;
}

interface Slot {
  readonly worker: Worker;
  current: Pending | undefined;
  timer: NodeJS.Timeout | undefined;
}

const WORKER_FILE = fileURLToPath(
  new URL(`./check-worker${import.meta.url.endsWith('.ts') ? '.ts' : '.js'}`, import.meta.url),
);

function positive(value: number | undefined, fallback: number, name: string): number {
  if (value === undefined) return fallback;
  if (!Number.isSafeInteger(value) || value < 1) {
    throw new InternalError(`CheckPool: ${name} must be a positive integer`);
  }
  return value;
}

/** A check that did not finish: refused, never passed. */
function unfinished(policy: EffectivePolicy, why: string): PolicyError {
  const violation: Violation = Object.freeze({
    rule: 'source.budget',
    message: why,
    line: 0,
    column: 0,
    snippet: '',
  });
  return new PolicyError(
    'ERR_POLICY_VIOLATION',
    `1 policy violation(s) (policy revision ${policy.revision}); first: source.budget: ${why}`,
    Object.freeze([violation]),
    { revision: policy.revision, tenant: policy.tenant, mode: policy.mode },
  );
}

/** Worker results are plain clones: frozen again, as checkSource returns them. */
function freezeResult(result: CheckResult): CheckResult {
  return Object.freeze({
    ...result,
    violations: Object.freeze(result.violations.map((v) => Object.freeze({ ...v }))),
    stats: Object.freeze({ ...result.stats }),
  });
}

/** A bounded pool of policy-check worker threads. */
export class CheckPool {
  readonly #size: number;
  readonly #deadlineMs: number;
  readonly #slots = new Set<Slot>();
  readonly #queue: Pending[] = [];
  #nextId = 0;
  #closed = false;

  constructor(options: CheckPoolOptions = {}) {
    this.#size = positive(options.size, DEFAULT_CHECK_WORKERS, 'size');
    this.#deadlineMs = positive(options.deadlineMs, DEFAULT_CHECK_DEADLINE_MS, 'deadlineMs');
  }

  /**
   * Checks `source` against `policy` on a worker thread; same result as `checkSource`.
   * @throws PolicyError ERR_POLICY_VIOLATION (rule `source.budget`) when the check passes its
   * deadline or its worker dies; SandboxError ERR_SANDBOX_CLOSED after {@link close}.
   */
  check(source: string, policy: EffectivePolicy, options: CheckOptions = {}): Promise<CheckResult> {
    if (this.#closed)
      return Promise.reject(new SandboxError('ERR_SANDBOX_CLOSED', 'the policy checker is closed'));
    // A source over the byte limit is refused before parsing: nothing to send to a worker (and
    // no 64 MiB copy). Counting UTF-8 bytes is linear and fast (~1 ms per MiB).
    if (typeof source === 'string' && Buffer.byteLength(source, 'utf8') > policy.source.maxBytes) {
      try {
        return Promise.resolve(checkSource(source, policy, options));
      } catch (error) {
        return Promise.reject(error);
      }
    }
    return new Promise<CheckResult>((resolve, reject) => {
      const job: CheckJob = { id: ++this.#nextId, source, policy, requires: [...(options.requires ?? [])] };
      this.#queue.push({ job, resolve, reject });
      this.#dispatch();
    });
  }

  /** Rejects every pending check with ERR_SANDBOX_CLOSED and stops every worker. Idempotent. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    const closedError = (): SandboxError =>
      new SandboxError('ERR_SANDBOX_CLOSED', 'the policy checker is closed');
    for (const pending of this.#queue.splice(0)) pending.reject(closedError());
    const exits: Promise<number>[] = [];
    for (const slot of [...this.#slots]) {
      const current = slot.current;
      this.#retire(slot);
      current?.reject(closedError());
      exits.push(slot.worker.terminate());
    }
    await Promise.allSettled(exits);
  }

  #dispatch(): void {
    while (this.#queue.length > 0 && !this.#closed) {
      let slot = [...this.#slots].find((s) => s.current === undefined);
      if (slot === undefined) {
        if (this.#slots.size >= this.#size) return;
        slot = this.#spawn();
      }
      this.#run(slot, this.#queue.shift()!);
    }
  }

  #spawn(): Slot {
    const worker = new Worker(WORKER_FILE, {
      // Defends against a source whose AST exhausts memory taking the node down: the worker has
      // its own heap cap, and dying there fails that one check closed.
      resourceLimits: { maxOldGenerationSizeMb: WORKER_HEAP_MB },
      // The host's own flags (`--input-type`, `--eval`, loaders) are not the checker's business and
      // can stop a worker from starting; the worker needs none.
      execArgv: [],
    });
    const slot: Slot = { worker, current: undefined, timer: undefined };
    worker.unref();
    worker.on('message', (reply: CheckReply) => this.#settle(slot, reply));
    worker.on('error', (error: Error & { code?: unknown }) =>
      this.#fail(slot, `the policy check failed in its worker (${String(error.code ?? error.name)})`),
    );
    worker.on('exit', () => this.#fail(slot, 'the policy check worker exited'));
    this.#slots.add(slot);
    return slot;
  }

  #run(slot: Slot, pending: Pending): void {
    slot.current = pending;
    // Busy: a pending load keeps the process alive; idle workers are unref'd again in #settle.
    slot.worker.ref();
    slot.timer = setTimeout(() => {
      // Defends against a source that makes the check run unboundedly long: past the deadline
      // the worker is terminated and the load refused, never left running or passed.
      this.#fail(slot, `the policy check did not finish within ${this.#deadlineMs} ms`);
    }, this.#deadlineMs);
    slot.worker.postMessage(pending.job);
  }

  #settle(slot: Slot, reply: CheckReply): void {
    const pending = slot.current;
    if (pending === undefined || reply.id !== pending.job.id) return;
    clearTimeout(slot.timer);
    slot.current = undefined;
    slot.timer = undefined;
    slot.worker.unref();
    if ('result' in reply) pending.resolve(freezeResult(reply.result));
    else pending.reject(new InternalError(`policy check worker: ${reply.error}`));
    this.#dispatch();
  }

  /** The worker is unusable (deadline, crash, exit): drop it and fail its check closed. */
  #fail(slot: Slot, why: string): void {
    if (!this.#slots.has(slot)) return;
    const pending = slot.current;
    this.#retire(slot);
    void slot.worker.terminate();
    pending?.reject(unfinished(pending.job.policy, why));
    this.#dispatch();
  }

  #retire(slot: Slot): void {
    clearTimeout(slot.timer);
    slot.timer = undefined;
    slot.current = undefined;
    this.#slots.delete(slot);
    slot.worker.unref();
  }
}
