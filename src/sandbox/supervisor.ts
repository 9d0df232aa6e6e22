/**
 * The supervisor: the sandbox's host side. Owns worker slots (one worker process each, plus a warm
 * spare), maps each tenant to a slot (affinity), runs each tenant's loads and calls one at a time
 * through its slot's scheduler, dispatches capability calls, and replaces workers that are broken.
 *
 * Time (time-model.ts, docs/sandbox.md): a tenant's budget counts only its own code's run time; a
 * caller's deadline bounds its latency and never kills anything; a worker is killed only when it
 * is itself broken (silent for seconds, dead, or holding an isolate that ignores termination).
 * Ops that had not started on a dead worker run on its replacement; a tenant whose code took a
 * worker down is moved to a worker of its own (quarantine) and waits out a growing back-off.
 *
 * Modules: component-spec.ts (spec validation), capability-dispatch.ts (capability calls),
 * supervisor-options.ts (option checks), worker-answers.ts (what a worker's answer means),
 * scheduler.ts (tenant queues, admission, deadlines), worker-process.ts (one process),
 * spawn-args.ts (its command line), protocol.ts (frames and typed answers).
 *
 * Boundary: each worker is a child process with an empty environment; inside it one isolated-vm
 * isolate per tenant and one context per component. Nothing from a worker is trusted: its
 * messages are type-checked and all JSON is re-parsed here with dangerous keys dropped.
 */
import type { JsonValue } from '../envelope/types.ts';
import { ComponentError, SandboxError } from '../errors.ts';
import type { TokenBucket } from './capabilities.ts';
import { createCapabilityRegistry, dispatchCapability, type Invocation } from './capability-dispatch.ts';
import { checkSpec, type CheckedSpec, type ComponentSpec } from './component-spec.ts';
import { encodeJson } from './json.ts';
import { MemoryKvStore, type KvStore } from './kv-store.ts';
import { NOT_STARTED, YIELDED, type Answer, type HostMessage } from './protocol.ts';
import { NotStartedError, Scheduler } from './scheduler.ts';
import {
  HEARTBEAT_MISS_FLOOR_MS,
  hostBackstopMs,
  MAX_PIPELINE_DEPTH,
  PIPELINE_MIN_BUDGET_MS,
  pipelinedBackstopMs,
  RUNAWAY_GRACE_MS,
  WORKER_CONCURRENCY,
} from './time-model.ts';
import { CAN_MEASURE_RSS, MEMORY_POLL_MS, processTreeRssKb, workerMemoryCapMb } from './memory-cap.ts';
import {
  parseInvokeOptions,
  parseOptions,
  type InvokeOptions,
  type SupervisorOptions,
} from './supervisor-options.ts';
import { callResult, loadFailure, parseMethods } from './worker-answers.ts';
import { BASE_FRAME_BYTES, WorkerProcess, type WorkerDeath } from './worker-process.ts';

export type { LogEntry, HostCapability, CapabilityContext, CapabilityMethod } from './capabilities.ts';
export type { KvStore } from './kv-store.ts';
export type { SandboxLimits, CapabilityGrants } from './limits.ts';
export type { ComponentSpec } from './component-spec.ts';
export { trimStack } from './component-spec.ts';
export type { InvokeOptions, SupervisorOptions } from './supervisor-options.ts';

/** A component running in the sandbox. */
export interface SandboxedComponent {
  /** the entry class's own public methods, sorted */
  readonly methods: readonly string[];
  /**
   * Calls a method with JSON arguments; resolves its JSON result.
   * @throws SandboxError ERR_SANDBOX_CLOSED, ERR_METHOD_NOT_FOUND, ERR_ARGS_INVALID, ERR_RESULT_INVALID,
   *   ERR_TIMEOUT, ERR_MEMORY_LIMIT, ERR_SANDBOX_CRASHED, ERR_QUEUE_FULL, ERR_OVERLOADED, ERR_DEADLINE,
   *   ERR_CAPABILITY_DENIED, ERR_QUOTA_EXCEEDED, ERR_INSTANTIATE (re-instantiation failed)
   * @throws ComponentError ERR_COMPONENT_THREW
   */
  invoke(method: string, args: readonly JsonValue[], options?: InvokeOptions): Promise<JsonValue>;
  /** `invoke(method, args)` with the default deadline. */
  call(method: string, ...args: JsonValue[]): Promise<JsonValue>;
  /** Drops the component's context; later calls reject with ERR_SANDBOX_CLOSED. */
  dispose(): Promise<void>;
}

/** Counters for monitoring and tests. */
export interface SupervisorStats {
  /** live worker processes serving tenants (spare not counted) */
  readonly workers: number;
  /** (worker, tenant) isolates holding at least one loaded component */
  readonly isolates: number;
  /** loaded components */
  readonly components: number;
  /** workers replaced after they died or were found broken */
  readonly restarts: number;
  /** pids of live workers serving tenants */
  readonly pids: readonly number[];
  /** ops waiting on the host for their turn */
  readonly waiting: number;
  /** ops running on workers */
  readonly running: number;
  /** tenants moved to a worker of their own after taking a worker down */
  readonly quarantined: number;
}

/** The sandbox's host side. */
export interface Supervisor {
  /**
   * Loads a component into a fresh context of its tenant's isolate and constructs its entry class.
   * @throws ConfigError ERR_CONFIG_INVALID (bad spec, unknown capability in grants)
   * @throws EnvelopeError ERR_JSON_INVALID (params are not JSON)
   * @throws SandboxError ERR_INSTANTIATE, ERR_TIMEOUT, ERR_MEMORY_LIMIT, ERR_SANDBOX_CRASHED,
   *   ERR_SANDBOX_CLOSED, ERR_QUEUE_FULL, ERR_OVERLOADED, ERR_DEADLINE
   */
  instantiate(spec: ComponentSpec, options?: InvokeOptions): Promise<SandboxedComponent>;
  /** Rejects everything pending, kills every worker, leaves no process or handle behind. */
  close(): Promise<void>;
  stats(): SupervisorStats;
}

/** Failures after which the worker has disposed the tenant's isolate. */
const ISOLATE_LOST_CODES: ReadonlySet<string> = new Set([
  'ERR_TIMEOUT',
  'ERR_MEMORY_LIMIT',
  'ERR_SANDBOX_CRASHED',
]);
/** First quarantine back-off of a tenant that took a worker down; doubles per crash, up to the max. */
const QUARANTINE_BASE_MS = 1000;
const QUARANTINE_MAX_MS = 60_000;
/** Longest close() waits for worker processes to exit after SIGKILL. */
const CLOSE_WAIT_MS = 5000;

interface ComponentRecord extends CheckedSpec {
  readonly tenant: TenantState;
  /** the process the key belongs to, undefined when not loaded */
  worker: WorkerProcess | undefined;
  key: number | undefined;
  methods: ReadonlySet<string>;
  disposed: boolean;
  readonly active: Set<Invocation>;
}

interface Slot {
  worker: WorkerProcess | undefined;
  readonly scheduler: Scheduler;
  /** a quarantine slot serves one tenant */
  readonly privateTo: string | undefined;
}

interface TenantState {
  readonly name: string;
  slot: Slot;
  readonly buckets: Map<string, TokenBucket>;
  /** worker deaths this tenant caused */
  crashes: number;
  /** performance.now() before which its ops are refused (quarantine back-off) */
  backoffUntil: number;
  /**
   * Set while a disposed isolate of this tenant still holds its thread on `worker`: its next op
   * waits (for 'released', or for the quarantine a stuck notice brings) instead of starting next
   * to it, where the worker may yet go down for what that isolate does.
   */
  held:
    | { readonly worker: WorkerProcess; readonly done: Promise<void>; readonly release: () => void }
    | undefined;
}

let nextComponentKey = 0;

/**
 * Creates a supervisor. Workers start lazily, on the first component of a tenant mapped to them.
 * @throws ConfigError ERR_CONFIG_INVALID for bad options
 * @example
 * const supervisor = createSupervisor({ workers: 2, logger: (e) => console.log(e) });
 * const component = await supervisor.instantiate(spec);
 * await component.call('tokenize', 'Hello world');
 * await supervisor.close();
 */
export function createSupervisor(options: SupervisorOptions = {}): Supervisor {
  const settings = parseOptions(options);
  const kv: KvStore = options.kv ?? new MemoryKvStore();
  const capabilities = createCapabilityRegistry(
    options.logger ?? ((): void => undefined),
    kv,
    options.capabilities,
  );
  const slots: Slot[] = [];
  for (let i = 0; i < settings.workers; i++) slots.push(newSlot(undefined));
  const tenants = new Map<string, TenantState>();
  /** every process not yet exited, spare and dying ones included */
  const processes = new Set<WorkerProcess>();
  const owners = new Map<WorkerProcess, Slot>();
  /** tenants already quarantined for what they did to a worker (each counted once per worker) */
  const charged = new WeakMap<WorkerProcess, Set<string>>();
  let spare: WorkerProcess | undefined;
  let closed = false;
  let restarts = 0;
  let heartbeat: NodeJS.Timeout | undefined;
  let memoryWatch: NodeJS.Timeout | undefined;

  function newSlot(privateTo: string | undefined): Slot {
    const slot: Slot = {
      worker: undefined,
      privateTo,
      scheduler: new Scheduler({
        concurrency: WORKER_CONCURRENCY,
        maxQueued: settings.maxQueuedPerWorker,
        canStart: () => slot.worker?.ready === true,
        onContention: (tenant) => {
          const worker = slot.worker;
          if (worker !== undefined && !worker.gone)
            worker.send({ t: 'yield', tenantKey: worker.tenantKey(tenant) });
        },
      }),
    };
    return slot;
  }

  // ---------------------------------------------------------------- workers

  function spawnWorker(): WorkerProcess {
    const worker = new WorkerProcess(
      {
        onReady: (w) => {
          owners.get(w)?.scheduler.kick();
          // The spare boots after a serving worker is up, never competing with it for the CPU.
          if (settings.spareWorker && !closed && spare === undefined && owners.has(w)) spare = spawnWorker();
        },
        onCapability: (w, message) => void onCapability(w, message),
        onLost: (w, keys) => {
          for (const key of keys) {
            const record =
              typeof key === 'number' ? (w.records.get(key) as ComponentRecord | undefined) : undefined;
            if (record === undefined) continue;
            w.records.delete(key as number);
            if (record.worker === w) record.key = undefined;
          }
        },
        onLingering: (w, tenant) => hold(w, tenant),
        onReleased: (w, tenant) => unhold(w, tenant),
        onStuck: (w, tenant) => {
          // Defends against a stuck isolate taking its co-tenants down with the worker: the tenant
          // moves to a worker of its own now, before the runaway grace or the memory cap ends this one.
          if (owners.has(w) && !closed) chargeCrash(w, tenant);
          unhold(w, tenant);
        },
        onGone: onWorkerGone,
      },
      settings.jail,
    );
    processes.add(worker);
    void worker.exited.then(() => processes.delete(worker));
    ensureHeartbeat();
    return worker;
  }

  /** The slot's live worker: its own, the warm spare, or a new one; and a new spare behind it. */
  function ensureWorker(slot: Slot): WorkerProcess {
    if (slot.worker !== undefined && !slot.worker.gone) return slot.worker;
    let worker: WorkerProcess;
    if (spare !== undefined && !spare.gone) {
      worker = spare;
      spare = undefined;
    } else {
      worker = spawnWorker();
    }
    slot.worker = worker;
    owners.set(worker, slot);
    if (worker.ready) {
      if (settings.spareWorker && !closed && spare === undefined) spare = spawnWorker();
      slot.scheduler.kick();
    }
    return worker;
  }

  function onWorkerGone(worker: WorkerProcess, death: WorkerDeath): void {
    const slot = owners.get(worker);
    owners.delete(worker);
    if (worker === spare) spare = undefined;
    for (const record of worker.records.values()) {
      const r = record as ComponentRecord;
      if (r.worker === worker) {
        r.key = undefined;
        r.worker = undefined;
      }
    }
    worker.records.clear();
    if (slot === undefined || slot.worker !== worker || closed) return;
    slot.worker = undefined;
    if (death.killedBy !== 'close') restarts++;
    // Defends against one tenant crashing its co-tenants again and again: a tenant whose isolate
    // took the worker down (lost control, or ignored termination) runs on a worker of its own from
    // now on, after a back-off that doubles with each crash.
    for (const name of new Set([...death.fatal, ...death.runaway])) chargeCrash(worker, name);
    for (const name of worker.tenantKeys.keys()) unhold(worker, name);
    if (worker.booted) {
      // Replaced now (by the warm spare, when there is one): ops that never started here wait in
      // the slot's queue and run on the replacement.
      ensureWorker(slot);
    } else {
      // A worker that died before it was ready is not respawned eagerly: no crash loop when
      // workers cannot start. The ops waiting for it fail; the next op tries again.
      slot.scheduler.failWaiting(
        () => new SandboxError('ERR_SANDBOX_CRASHED', 'the sandbox worker could not start'),
      );
    }
  }

  /** Holds the tenant's next ops while its disposed isolate still runs on `worker` (bounded). */
  function hold(worker: WorkerProcess, name: string): void {
    const state = tenants.get(name);
    if (state === undefined || state.held !== undefined || closed) return;
    let release!: () => void;
    const done = new Promise<void>((resolve) => (release = resolve));
    // Bounded: a worker that never reports back (broken) holds nobody past the runaway grace.
    const timer = setTimeout(() => unhold(worker, name), RUNAWAY_GRACE_MS + HEARTBEAT_MISS_FLOOR_MS);
    timer.unref();
    state.held = {
      worker,
      done,
      release: () => {
        clearTimeout(timer);
        release();
      },
    };
  }

  function unhold(worker: WorkerProcess, name: string): void {
    const state = tenants.get(name);
    if (state?.held === undefined || state.held.worker !== worker) return;
    const { release } = state.held;
    state.held = undefined;
    release();
  }

  /** Quarantines `name` for what it did to `worker`, once per worker (a stuck notice, then the death). */
  function chargeCrash(worker: WorkerProcess, name: string): void {
    let names = charged.get(worker);
    if (names === undefined) charged.set(worker, (names = new Set()));
    if (names.has(name)) return;
    names.add(name);
    quarantine(name);
  }

  function quarantine(name: string): void {
    const state = tenants.get(name);
    if (state === undefined) return;
    state.crashes++;
    const backoff = Math.min(QUARANTINE_MAX_MS, QUARANTINE_BASE_MS * 2 ** (state.crashes - 1));
    state.backoffUntil = performance.now() + backoff;
    if (state.slot.privateTo !== name) state.slot = newSlot(name);
  }

  function ensureHeartbeat(): void {
    if (heartbeat !== undefined || closed) return;
    heartbeat = setInterval(() => {
      const now = performance.now();
      for (const worker of processes) worker.heartbeat(now, settings.heartbeatMs);
    }, settings.heartbeatMs);
    heartbeat.unref();
    if (CAN_MEASURE_RSS) {
      memoryWatch = setInterval(checkMemory, MEMORY_POLL_MS);
      memoryWatch.unref();
    }
  }

  /**
   * Defends against memory that memoryLimit does not see (ICU copies, V8 overshoot, native leaks)
   * taking the node's RAM: a worker whose process tree is resident above its cap is killed; every
   * call or load in flight on it gets ERR_MEMORY_LIMIT (the host cannot tell whose memory it is; the
   * growing call is almost always among them), and components reload on their next call.
   */
  function checkMemory(): void {
    for (const worker of owners.keys()) {
      const pid = worker.pid;
      if (pid === undefined || worker.gone || worker.records.size === 0) continue;
      const rssKb = processTreeRssKb(pid);
      if (rssKb === undefined || rssKb <= workerCapMb(worker) * 1024) continue;
      worker.kill('memory');
    }
  }

  function workerCapMb(worker: WorkerProcess): number {
    if (settings.workerMemoryCapMb !== undefined) return settings.workerMemoryCapMb;
    // One isolate per tenant on this worker; its memoryLimit is that of the tenant's first component
    // (the largest of its components is counted: never below the real limit).
    const isolates = new Map<string, number>();
    for (const record of worker.records.values()) {
      const { tenant, limits } = (record as ComponentRecord).spec;
      isolates.set(tenant, Math.max(isolates.get(tenant) ?? 0, limits.memoryMb));
    }
    return workerMemoryCapMb(isolates.values(), worker.records.size);
  }

  // ---------------------------------------------------------------- capabilities

  async function onCapability(
    worker: WorkerProcess,
    message: {
      readonly key: unknown;
      readonly req: unknown;
      readonly cap: unknown;
      readonly method: unknown;
      readonly args: unknown;
      readonly op?: unknown;
    },
  ): Promise<void> {
    const { key, req } = message;
    if (typeof key !== 'number' || typeof req !== 'number') return;
    const record = worker.records.get(key) as ComponentRecord | undefined;
    const reply =
      record === undefined || record.disposed
        ? { ok: false, text: 'the component is not loaded', code: 'ERR_CAPABILITY_DENIED' }
        : await dispatchCapability(
            capabilities,
            { spec: record.spec, active: record.active, buckets: record.tenant.buckets },
            message,
          );
    if (!worker.gone) worker.send({ t: 'capres', key, req, ...reply });
  }

  // ---------------------------------------------------------------- tenants

  function tenantState(tenant: string): TenantState {
    let state = tenants.get(tenant);
    if (state === undefined) {
      // Affinity: a tenant stays on one worker slot; new tenants go to the least loaded slot.
      const counts = new Map<Slot, number>(slots.map((slot) => [slot, 0]));
      for (const s of tenants.values()) if (counts.has(s.slot)) counts.set(s.slot, counts.get(s.slot)! + 1);
      let best = slots[0]!;
      for (const slot of slots) if (counts.get(slot)! < counts.get(best)!) best = slot;
      state = {
        name: tenant,
        slot: best,
        buckets: new Map(),
        crashes: 0,
        backoffUntil: 0,
        held: undefined,
      };
      tenants.set(tenant, state);
    }
    return state;
  }

  /**
   * Runs one op of a tenant on its turn, on its slot's live worker. A tenant moved to quarantine
   * while the op waited is resubmitted to its new slot (deadline unchanged). A call passes its
   * component's record: calls of one loaded component are pipelined up to maxConcurrentCalls.
   */
  function schedule<T>(
    state: TenantState,
    limits: ComponentSpec['limits'],
    what: string,
    invoke: InvokeOptions | undefined,
    work: (worker: WorkerProcess, ahead: number, deadline: number) => Promise<T>,
    lane?: ComponentRecord,
  ): Promise<T> {
    if (closed) return Promise.reject(new SandboxError('ERR_SANDBOX_CLOSED', 'the supervisor is closed'));
    const deadlineMs = invoke?.deadlineMs ?? Math.max(settings.deadlineMs, 3 * limits.callTimeoutMs);
    const deadline = performance.now() + deadlineMs;
    const submit = (slot: Slot): Promise<T> => {
      const wait = state.backoffUntil - performance.now();
      if (wait > 0) {
        // A quarantined tenant's ops wait out its back-off (a crash loop costs it, not the node).
        if (performance.now() + wait >= deadline) {
          return Promise.reject(
            new SandboxError(
              'ERR_OVERLOADED',
              `the tenant is quarantined after its code took a worker down; retry in about ${Math.ceil(wait)} ms`,
              { retryAfterMs: Math.ceil(wait) },
            ),
          );
        }
        return new Promise<void>((resolve) => setTimeout(resolve, Math.ceil(wait))).then(() =>
          submit(state.slot),
        );
      }
      ensureWorker(slot);
      return slot.scheduler.submit({
        tenant: state.name,
        what,
        deadline,
        signal: invoke?.signal,
        maxWaiting: limits.maxConcurrentCalls + limits.maxQueuedCalls - 1,
        lane,
        // Small budgets are not pipelined (PIPELINE_MIN_BUDGET_MS: the meter's precision).
        depth:
          limits.callTimeoutMs >= PIPELINE_MIN_BUDGET_MS
            ? Math.min(limits.maxConcurrentCalls, MAX_PIPELINE_DEPTH)
            : 1,
        budgetMs: limits.callTimeoutMs,
        // Pipelined only behind calls of the same live component: a call that must reload it (or
        // wait for a held tenant, or move to quarantine) waits for its turn instead.
        canPipeline: () =>
          lane !== undefined &&
          lane.key !== undefined &&
          lane.worker === slot.worker &&
          lane.worker?.ready === true &&
          state.held === undefined &&
          state.slot === slot &&
          !closed,
        run: async (ahead) => {
          if (state.held !== undefined) await state.held.done;
          if (state.slot !== slot) return submit(state.slot);
          if (closed) throw new SandboxError('ERR_SANDBOX_CLOSED', 'the supervisor is closed');
          return work(ensureWorker(slot), ahead, deadline);
        },
      });
    };
    return submit(state.slot);
  }

  // ---------------------------------------------------------------- components

  /** Loads the record into `worker` (a fresh context of its tenant's isolate). */
  async function loadOn(record: ComponentRecord, worker: WorkerProcess): Promise<void> {
    const { spec } = record;
    const key = ++nextComponentKey;
    worker.records.set(key, record);
    // Frames from this worker may now carry this component's results, capability arguments and
    // load answer (method names); 8x covers UTF-8 and JSON escaping.
    worker.maxFrame = Math.max(
      worker.maxFrame,
      BASE_FRAME_BYTES +
        8 * Math.max(spec.limits.maxResultBytes, spec.limits.maxArgBytes, spec.source.length),
    );
    const invocation: Invocation = { capCalls: 0, requestId: undefined };
    record.active.add(invocation);
    let answer: Answer;
    try {
      answer = await worker.request(
        spec.tenant,
        (id) => ({
          t: 'load',
          id: (invocation.requestId = id),
          key,
          tenantKey: worker.tenantKey(spec.tenant),
          memoryMb: spec.limits.memoryMb,
          budgetMs: spec.limits.callTimeoutMs,
          filename: record.filename,
          entry: spec.entry,
          source: spec.source,
          sourceSha256: record.sourceSha256,
          meta: record.meta,
          artifactNames: record.artifactNames,
          artifactBytes: record.artifactBytes,
        }),
        hostBackstopMs(spec.limits.callTimeoutMs),
      );
    } catch (error) {
      worker.records.delete(key);
      throw error;
    } finally {
      record.active.delete(invocation);
    }
    if (answer.kind !== 'value') {
      worker.records.delete(key);
      throw loadFailure(record, answer);
    }
    const methods = parseMethods(answer.text);
    if (methods === undefined) {
      worker.records.delete(key);
      throw new SandboxError('ERR_SANDBOX_CRASHED', 'the worker answered a load with garbage');
    }
    if (record.disposed || closed) {
      unload(worker, key);
      throw new SandboxError('ERR_SANDBOX_CLOSED', 'the component was disposed while loading');
    }
    record.key = key;
    record.worker = worker;
    if (record.methods.size === 0) record.methods = new Set(methods);
  }

  function unload(worker: WorkerProcess, key: number): Promise<void> {
    worker.records.delete(key);
    if (worker.gone) return Promise.resolve();
    return worker
      .request('', (id): HostMessage => ({ t: 'unload', id, key }), 0)
      .then(
        () => undefined,
        () => undefined,
      );
  }

  async function runCall(
    record: ComponentRecord,
    worker: WorkerProcess,
    method: string,
    argsText: string,
    ahead: number,
    deadline: number,
  ): Promise<JsonValue> {
    if (record.disposed || closed) throw new SandboxError('ERR_SANDBOX_CLOSED', 'the component is disposed');
    const { spec } = record;
    // Transparent recovery: a component lost to a disposed isolate or a replaced worker is
    // re-instantiated from its verified spec, on the call's turn (its own budget, the call's deadline).
    if (record.key === undefined || record.worker !== worker) {
      record.key = undefined;
      await loadOn(record, worker);
    }
    const key = record.key;
    if (key === undefined) throw new SandboxError('ERR_SANDBOX_CRASHED', 'the component is not loaded');
    const invocation: Invocation = { capCalls: 0, requestId: undefined };
    record.active.add(invocation);
    try {
      const answer = await worker.request(
        spec.tenant,
        (id) => ({
          t: 'call',
          id: (invocation.requestId = id),
          key,
          method,
          args: argsText,
          budgetMs: spec.limits.callTimeoutMs,
          deadlineMs: Math.max(0, deadline - performance.now()),
          pipelined: ahead > 0,
        }),
        // Queued behind `ahead` calls in the worker, each bounded by its own backstop.
        pipelinedBackstopMs(hostBackstopMs(spec.limits.callTimeoutMs), ahead),
        ahead > 0 ? key : undefined,
      );
      if (answer.kind === 'failed' && answer.code === NOT_STARTED) {
        throw new NotStartedError('the worker handed it back');
      }
      if (answer.kind === 'failed' && answer.code === YIELDED) {
        throw new NotStartedError('its tenant yielded its turn', false);
      }
      if (
        answer.kind === 'failed' &&
        ISOLATE_LOST_CODES.has(answer.code) &&
        record.worker === worker &&
        record.key === key
      ) {
        // The worker disposes a tenant's isolate after these; do not wait for its `lost` notice to
        // reload the component on the next call (and drop the key, should the isolate survive).
        record.key = undefined;
        void unload(worker, key);
      }
      return callResult(record, answer);
    } finally {
      record.active.delete(invocation);
    }
  }

  async function invokeRecord(
    record: ComponentRecord,
    method: unknown,
    args: unknown,
    invoke: InvokeOptions | undefined,
  ): Promise<JsonValue> {
    if (record.disposed || closed) throw new SandboxError('ERR_SANDBOX_CLOSED', 'the component is disposed');
    const { spec } = record;
    // Defends against calling the constructor, inherited or private members: own public methods only.
    if (typeof method !== 'string' || !record.methods.has(method)) {
      throw new SandboxError(
        'ERR_METHOD_NOT_FOUND',
        `no method ${JSON.stringify(String(method).slice(0, 64))} on ${spec.entry}`,
      );
    }
    if (!Array.isArray(args)) throw new SandboxError('ERR_ARGS_INVALID', 'arguments: expected an array');
    const checked = parseInvokeOptions(invoke);
    const argsText = encodeJson(
      args,
      spec.limits.maxArgBytes,
      spec.limits.maxJsonDepth + 1,
      'ERR_ARGS_INVALID',
      'arguments',
    );
    try {
      return await schedule(
        record.tenant,
        spec.limits,
        'call',
        checked,
        (worker, ahead, deadline) => runCall(record, worker, method, argsText, ahead, deadline),
        record,
      );
    } catch (error) {
      // Disposed or closed while the call was in flight: every failure of that call is reported as
      // ERR_SANDBOX_CLOSED (the caller ended it), never as a misleading crash.
      if ((record.disposed || closed) && (error instanceof SandboxError || error instanceof ComponentError)) {
        throw new SandboxError('ERR_SANDBOX_CLOSED', 'the component was disposed during the call');
      }
      throw error;
    }
  }

  async function instantiate(spec: ComponentSpec, invoke?: InvokeOptions): Promise<SandboxedComponent> {
    if (closed) throw new SandboxError('ERR_SANDBOX_CLOSED', 'the supervisor is closed');
    const checked = checkSpec(spec, capabilities);
    const invokeOptions = parseInvokeOptions(invoke);
    const state = tenantState(checked.spec.tenant);
    const record: ComponentRecord = {
      ...checked,
      tenant: state,
      worker: undefined,
      key: undefined,
      methods: new Set(),
      disposed: false,
      active: new Set(),
    };
    await schedule(state, checked.spec.limits, 'load', invokeOptions, (worker) => loadOn(record, worker));
    const methods = Object.freeze([...record.methods].sort());
    return Object.freeze({
      methods,
      invoke: (method: string, args: readonly JsonValue[], options?: InvokeOptions) =>
        invokeRecord(record, method, args, options),
      call: (method: string, ...args: JsonValue[]) => invokeRecord(record, method, args, undefined),
      dispose: () => disposeRecord(record),
    });
  }

  async function disposeRecord(record: ComponentRecord): Promise<void> {
    if (record.disposed) return;
    record.disposed = true;
    const { worker, key } = record;
    record.key = undefined;
    record.worker = undefined;
    if (worker === undefined || key === undefined) return;
    await unload(worker, key);
  }

  async function close(): Promise<void> {
    if (!closed) {
      closed = true;
      if (heartbeat !== undefined) clearInterval(heartbeat);
      heartbeat = undefined;
      if (memoryWatch !== undefined) clearInterval(memoryWatch);
      memoryWatch = undefined;
      for (const state of tenants.values())
        if (state.held !== undefined) unhold(state.held.worker, state.name);
      const all = new Set([...slots, ...[...tenants.values()].map((t) => t.slot)]);
      for (const slot of all) {
        slot.scheduler.failWaiting(() => new SandboxError('ERR_SANDBOX_CLOSED', 'the supervisor is closed'));
      }
      for (const worker of processes) {
        for (const record of worker.records.values()) (record as ComponentRecord).disposed = true;
      }
    }
    // Every process not yet exited (dying ones included) is killed and awaited, with a ref'd
    // timer keeping the event loop alive meanwhile (child and pipes are unref'd), and a bound.
    const waiting = [...processes];
    for (const worker of waiting) {
      worker.ref();
      worker.kill('close');
    }
    let bound: NodeJS.Timeout | undefined;
    await Promise.race([
      Promise.all(waiting.map((worker) => worker.exited)),
      new Promise<void>((resolve) => {
        bound = setTimeout(resolve, CLOSE_WAIT_MS);
      }),
    ]);
    clearTimeout(bound);
    if (options.kv === undefined) kv.close?.();
  }

  function stats(): SupervisorStats {
    let workers = 0;
    let components = 0;
    let isolates = 0;
    let waiting = 0;
    let running = 0;
    const pids: number[] = [];
    const all = new Set([...slots, ...[...tenants.values()].map((t) => t.slot)]);
    for (const slot of all) {
      waiting += slot.scheduler.waiting;
      running += slot.scheduler.running;
      const worker = slot.worker;
      if (worker === undefined || worker.gone) continue;
      workers++;
      if (worker.pid !== undefined) pids.push(worker.pid);
      const tenantsHere = new Set<string>();
      for (const record of new Set(worker.records.values())) {
        const r = record as ComponentRecord;
        if (r.key === undefined || r.worker !== worker) continue;
        components++;
        tenantsHere.add(r.spec.tenant);
      }
      isolates += tenantsHere.size;
    }
    let quarantined = 0;
    for (const state of tenants.values()) if (state.slot.privateTo !== undefined) quarantined++;
    return Object.freeze({
      workers,
      isolates,
      components,
      restarts,
      pids: Object.freeze(pids),
      waiting,
      running,
      quarantined,
    });
  }

  return Object.freeze({ instantiate, close, stats });
}
