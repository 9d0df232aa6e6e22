/**
 * Tenant queues and scheduling for one worker slot. Each tenant's loads and calls wait in its own
 * host-side queue; tenants take turns round-robin, at most `concurrency` of them running on the
 * worker at once. A tenant's ops run one at a time in its isolate. While no other tenant waits for
 * a turn, consecutive calls of one component are pipelined: up to the job's `depth` of them are in
 * the worker at once, which runs them back to back (its meter charges each the isolate time it
 * used). Nothing here counts against a budget.
 *
 * Admission (fail fast, nothing queued): a tenant with too many calls waiting gets ERR_QUEUE_FULL
 * (its own flood); a worker with too many ops waiting, or a wait that would outlast the caller's
 * deadline, gets ERR_OVERLOADED with a retry hint (the node is busy). A job still waiting at its
 * deadline is cancelled (ERR_DEADLINE); a running job past it keeps running to its budget while
 * its caller is answered ERR_DEADLINE at once. Nothing is ever killed here.
 */
import { SandboxError } from '../errors.ts';
import { PIPELINE_WINDOW_MS } from './time-model.ts';

/**
 * What a job's run throws when its op never started on the worker (it was handed back, or the
 * worker died before it began): the job waits for its turn again. Never reaches a caller.
 */
export class NotStartedError extends Error {
  /** false for a call its tenant's yield gave back: that does not count towards MAX_RESTARTS */
  readonly counts: boolean;
  constructor(why: string, counts = true) {
    super(`the op never started: ${why}`);
    this.name = 'NotStartedError';
    this.counts = counts;
  }
}

/** Times one job may be handed back before it fails (a worker that keeps refusing it is broken). */
const MAX_RESTARTS = 3;

/** One load or call. */
export interface Job<T> {
  readonly tenant: string;
  /**
   * starts the work on the worker, on the tenant's turn (again, after a NotStartedError);
   * `ahead`: ops of the tenant already on the worker (0: not pipelined)
   */
  readonly run: (ahead: number) => Promise<T>;
  /** jobs of one tenant with the same lane (a component's calls) may be pipelined */
  readonly lane?: object | undefined;
  /** ops of the lane in the worker at once (1: never pipelined) */
  readonly depth?: number | undefined;
  /** whether the job may be sent behind the lane's running ops now (its component is loaded) */
  readonly canPipeline?: (() => boolean) | undefined;
  /** its budget: the run time assumed before any op of this worker has been timed */
  readonly budgetMs?: number | undefined;
  /** wall-clock deadline, on the performance.now() scale */
  readonly deadline: number;
  /** ops of this tenant allowed to wait (beyond the running one) before ERR_QUEUE_FULL */
  readonly maxWaiting: number;
  /** the caller gave up */
  readonly signal?: AbortSignal | undefined;
  /** what the job is, for messages ("call", "load") */
  readonly what: string;
}

interface Entry {
  readonly job: Job<unknown>;
  /** deadline minus submit time: the clock starts once the worker can take work */
  readonly allowance: number;
  readonly resolve: (value: unknown) => void;
  readonly reject: (error: Error) => void;
  timer: NodeJS.Timeout | undefined;
  settled: boolean;
  started: boolean;
  onAbort: (() => void) | undefined;
  /** submission order (a job handed back goes back in its place) */
  readonly seq: number;
  /** its deadline on the performance.now() scale, once armed (Infinity before) */
  deadlineAt: number;
  restarts: number;
}

interface TenantQueue {
  readonly waiting: Entry[];
  /** ops of this tenant on the worker (more than one only when pipelined) */
  inFlight: number;
  /** the lane of the ops in flight */
  lane: object | undefined;
  /** smoothed run time of this tenant's ops (ms); pipelined, the time between their completions */
  serviceMs: number;
  /** when its last op completed (performance.now()) */
  lastDone: number;
  /** the worker was asked to give back this pipeline's calls that have not started */
  yielding: boolean;
}

/** Options of a {@link Scheduler}. */
export interface SchedulerOptions {
  /** tenants running at once on the worker */
  readonly concurrency: number;
  /** ops waiting on this worker before ERR_OVERLOADED */
  readonly maxQueued: number;
  /** whether the worker can take work now (booted) */
  readonly canStart: () => boolean;
  /**
   * a tenant waits for a turn while this one has calls pipelined: ask the worker to give back
   * those that have not started (called once per pipeline)
   */
  readonly onContention?: ((tenant: string) => void) | undefined;
}

/** Weight of the newest run time in the smoothed averages. */
const SMOOTHING = 0.2;

/** A worker slot's tenant queues; see the module comment. */
export class Scheduler {
  readonly #options: SchedulerOptions;
  readonly #tenants = new Map<string, TenantQueue>();
  /** tenants with waiting ops and none running, in turn order */
  readonly #turns = new Set<string>();
  /** tenants with ops on the worker (at most `concurrency`) */
  #running = 0;
  /** ops on the worker */
  #inFlight = 0;
  #waiting = 0;
  /** waiting ops whose deadline clock has not started (no worker ready when they arrived) */
  #unarmed = 0;
  /** smoothed run time of any op on this worker (ms) */
  #serviceMs = 0;
  #seq = 0;

  constructor(options: SchedulerOptions) {
    this.#options = options;
  }

  /** Ops waiting for their turn. */
  get waiting(): number {
    return this.#waiting;
  }

  /** Ops running on the worker (pipelined ones included). */
  get running(): number {
    return this.#inFlight;
  }

  /**
   * Admits a job or refuses it at once; resolves with its result.
   * @throws SandboxError ERR_QUEUE_FULL, ERR_OVERLOADED, ERR_DEADLINE
   */
  submit<T>(job: Job<T>): Promise<T> {
    const queue = this.#queue(job.tenant);
    const now = performance.now();
    if (job.signal?.aborted === true) return Promise.reject(aborted(job));
    if (job.deadline <= now) {
      return Promise.reject(
        new SandboxError('ERR_DEADLINE', `the ${job.what} reached its deadline before it started`),
      );
    }
    // Defends against one tenant flooding the node: a bounded per-tenant queue (ops pipelined past
    // the first still count as waiting).
    const queued = queue.waiting.length + Math.max(0, queue.inFlight - 1);
    if (queued >= job.maxWaiting) {
      return Promise.reject(
        new SandboxError('ERR_QUEUE_FULL', `the tenant already has ${queued} ops waiting`),
      );
    }
    // Defends against a queue that grows without bound when offered load exceeds capacity: shed.
    if (this.#waiting >= this.#options.maxQueued) {
      return Promise.reject(this.#overloaded(`${this.#waiting} ops are waiting on this worker`));
    }
    const expected = this.#expectedWait(queue);
    if (expected > job.deadline - now) {
      return Promise.reject(
        this.#overloaded(`the expected wait (~${Math.ceil(expected)} ms) exceeds the ${job.what}'s deadline`),
      );
    }
    return new Promise<T>((resolve, reject) => {
      const entry: Entry = {
        job,
        allowance: job.deadline - now,
        resolve: resolve as (value: unknown) => void,
        reject,
        timer: undefined,
        settled: false,
        started: false,
        onAbort: undefined,
        seq: ++this.#seq,
        deadlineAt: Number.POSITIVE_INFINITY,
        restarts: 0,
      };
      // Waiting for a worker to boot is the node's cost: the deadline clock starts once it can
      // take work (a worker replaced by the warm spare is ready at once).
      if (this.#options.canStart()) this.#arm(entry, job.deadline - now);
      else this.#unarmed++;
      if (job.signal !== undefined) {
        entry.onAbort = () => this.#cancel(entry, aborted(job));
        job.signal.addEventListener('abort', entry.onAbort, { once: true });
      }
      queue.waiting.push(entry);
      this.#waiting++;
      if (queue.inFlight === 0) this.#turns.add(job.tenant);
      this.kick();
      this.#pipeline(job.tenant, queue);
    });
  }

  /** Starts waiting ops while the worker can take them. */
  kick(): void {
    if (this.#unarmed > 0 && this.#options.canStart()) {
      this.#unarmed = 0;
      for (const queue of this.#tenants.values()) {
        for (const entry of queue.waiting) if (entry.timer === undefined) this.#arm(entry, entry.allowance);
      }
    }
    while (this.#running < this.#options.concurrency && this.#turns.size > 0 && this.#options.canStart()) {
      const [tenant] = this.#turns;
      this.#turns.delete(tenant!);
      const queue = this.#tenants.get(tenant!)!;
      const entry = queue.waiting.shift();
      if (entry === undefined) continue;
      this.#waiting--;
      this.#start(tenant!, queue, entry);
    }
    if (this.#turns.size > 0) this.#contend();
  }

  /**
   * Defends against a pipeline holding a full worker for all its queued calls (depth x budget)
   * while another tenant waits for a turn: each pipelining tenant is asked to yield, once.
   */
  #contend(): void {
    const notify = this.#options.onContention;
    if (notify === undefined) return;
    for (const [tenant, queue] of this.#tenants) {
      if (queue.inFlight > 1 && !queue.yielding) {
        queue.yielding = true;
        notify(tenant);
      }
    }
  }

  /**
   * Sends the tenant's next calls behind its running ones while they share a lane, up to the
   * lane's depth. Only while no other tenant waits for a turn: a pipeline never delays another
   * tenant's start by more than the ops already in it.
   */
  #pipeline(tenant: string, queue: TenantQueue): void {
    while (
      queue.inFlight > 0 &&
      this.#turns.size === 0 &&
      this.#options.canStart() &&
      queue.waiting.length > 0
    ) {
      const next = queue.waiting[0]!;
      const { lane, depth, canPipeline, budgetMs } = next.job;
      if (lane === undefined || lane !== queue.lane || queue.inFlight >= (depth ?? 1)) return;
      // Bounded in time too: a pipeline holds at most PIPELINE_WINDOW_MS of work, so a tenant that
      // comes for a turn later waits about that long for it to drain, not depth x budget.
      const serviceMs = queue.serviceMs || this.#serviceMs || (budgetMs ?? 0);
      if (queue.inFlight * serviceMs >= PIPELINE_WINDOW_MS) return;
      if (canPipeline !== undefined && !canPipeline()) return;
      if (queue.yielding) return;
      queue.waiting.shift();
      this.#waiting--;
      this.#start(tenant, queue, next);
    }
  }

  /** Rejects every waiting op (the slot cannot serve them: closed, or its workers cannot start). */
  failWaiting(error: () => Error): void {
    for (const queue of this.#tenants.values()) {
      for (const entry of queue.waiting.splice(0)) {
        this.#waiting--;
        this.#settle(entry, undefined, error());
      }
    }
    this.#turns.clear();
  }

  #start(tenant: string, queue: TenantQueue, entry: Entry): void {
    const ahead = queue.inFlight;
    if (ahead === 0) {
      this.#running++;
      queue.lane = entry.job.lane;
    }
    queue.inFlight++;
    this.#inFlight++;
    entry.started = true;
    const began = performance.now();
    let work: Promise<unknown>;
    try {
      work = entry.job.run(ahead);
    } catch (error) {
      work = Promise.reject(error as Error);
    }
    let handedBack = false;
    work
      .then(
        (value) => this.#settle(entry, value, undefined),
        (error: unknown) => {
          if (error instanceof NotStartedError && !entry.settled)
            handedBack = this.#restart(queue, entry, error);
          if (!handedBack) this.#settle(entry, undefined, restartFailure(error, entry));
        },
      )
      .finally(() => {
        const now = performance.now();
        if (!handedBack) {
          // Pipelined ops overlap: each one's service is the time since the one before it ended.
          const took = now - Math.max(began, queue.lastDone);
          queue.lastDone = now;
          queue.serviceMs =
            queue.serviceMs === 0 ? took : queue.serviceMs + SMOOTHING * (took - queue.serviceMs);
          this.#serviceMs =
            this.#serviceMs === 0 ? took : this.#serviceMs + SMOOTHING * (took - this.#serviceMs);
        }
        queue.inFlight--;
        this.#inFlight--;
        if (queue.inFlight === 0) {
          queue.lane = undefined;
          queue.yielding = false;
          this.#running--;
          if (queue.waiting.length > 0) this.#turns.add(tenant);
          else if (this.#tenants.get(tenant) === queue) this.#tenants.delete(tenant);
        }
        this.kick();
        this.#pipeline(tenant, queue);
      });
  }

  /** Puts a job the worker never started back in its place in the queue; false past MAX_RESTARTS. */
  #restart(queue: TenantQueue, entry: Entry, error: NotStartedError): boolean {
    // Past its deadline it is not sent again: the caller gets ERR_DEADLINE.
    if (performance.now() >= entry.deadlineAt) return false;
    if (error.counts) {
      if (entry.restarts >= MAX_RESTARTS) return false;
      entry.restarts++;
    }
    entry.started = false;
    let index = queue.waiting.findIndex((other) => other.seq > entry.seq);
    if (index < 0) index = queue.waiting.length;
    queue.waiting.splice(index, 0, entry);
    this.#waiting++;
    return true;
  }

  /** The wait a new op of this tenant would likely see: its own queue, or the worker's. */
  #expectedWait(queue: TenantQueue): number {
    const own = (queue.waiting.length + queue.inFlight) * queue.serviceMs;
    const node = (this.#waiting / this.#options.concurrency) * this.#serviceMs;
    return Math.max(own, node);
  }

  #overloaded(why: string): SandboxError {
    const hint = Math.max(50, Math.ceil(((this.#waiting + 1) / this.#options.concurrency) * this.#serviceMs));
    return new SandboxError('ERR_OVERLOADED', `the node is overloaded (${why}); retry in about ${hint} ms`, {
      retryAfterMs: hint,
    });
  }

  #arm(entry: Entry, ms: number): void {
    entry.deadlineAt = performance.now() + ms;
    entry.timer = setTimeout(() => this.#expire(entry), Math.max(1, Math.ceil(ms)));
  }

  #expire(entry: Entry): void {
    entry.timer = undefined;
    this.#cancel(
      entry,
      new SandboxError(
        'ERR_DEADLINE',
        entry.started
          ? `the ${entry.job.what} did not finish before its deadline (it runs on to its budget)`
          : `the ${entry.job.what} reached its deadline before it started; it was cancelled`,
      ),
    );
  }

  /** Settles the caller now; a waiting op leaves its queue, a running one runs on unobserved. */
  #cancel(entry: Entry, error: Error): void {
    if (entry.settled) return;
    if (!entry.started) {
      const queue = this.#tenants.get(entry.job.tenant);
      const index = queue?.waiting.indexOf(entry) ?? -1;
      if (queue !== undefined && index >= 0) {
        queue.waiting.splice(index, 1);
        this.#waiting--;
        if (queue.waiting.length === 0) {
          this.#turns.delete(entry.job.tenant);
          if (queue.inFlight === 0) this.#tenants.delete(entry.job.tenant);
        }
      }
    }
    this.#settle(entry, undefined, error);
  }

  #settle(entry: Entry, value: unknown, error: Error | undefined): void {
    if (entry.settled) return;
    entry.settled = true;
    clearTimeout(entry.timer);
    if (entry.onAbort !== undefined) entry.job.signal?.removeEventListener('abort', entry.onAbort);
    if (error !== undefined) entry.reject(error);
    else entry.resolve(value);
  }

  #queue(tenant: string): TenantQueue {
    let queue = this.#tenants.get(tenant);
    if (queue === undefined) {
      queue = { waiting: [], inFlight: 0, lane: undefined, serviceMs: 0, lastDone: 0, yielding: false };
      this.#tenants.set(tenant, queue);
    }
    return queue;
  }
}

/** A job handed back more than MAX_RESTARTS times fails as a crash; other errors pass as they are. */
function restartFailure(error: unknown, entry: Entry): Error {
  if (!(error instanceof NotStartedError)) return error as Error;
  if (performance.now() >= entry.deadlineAt) {
    return new SandboxError(
      'ERR_DEADLINE',
      `the ${entry.job.what} reached its deadline before it started; it was cancelled`,
    );
  }
  return new SandboxError(
    'ERR_SANDBOX_CRASHED',
    'the sandbox worker kept handing the op back without running it',
  );
}

function aborted(job: Job<unknown>): SandboxError {
  return new SandboxError('ERR_DEADLINE', `the caller aborted the ${job.what}`);
}
