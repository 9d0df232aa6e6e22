/**
 * The supervisor: owns a pool of sandbox worker processes, maps tenants to workers (affinity),
 * queues calls per tenant, enforces every host-side limit (wall-clock deadlines, capability grants
 * and quotas), and replaces workers that crash, hang or lose control of an isolate.
 *
 * Boundary: each worker is a child process with an empty environment; inside it one isolated-vm
 * isolate per tenant and one context per component. Nothing from a worker is trusted: its
 * messages are type-checked and all JSON is re-parsed here with dangerous keys dropped.
 */
import { spawn as spawnProcess, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import type { Socket } from 'node:net';
import type { JsonValue } from '../envelope/types.ts';
import { ComponentError, ConfigError, EnvelopeError, SandboxError } from '../errors.ts';
import {
  createKvCapability,
  createLogCapability,
  TokenBucket,
  type CapabilityContext,
  type HostCapability,
  type LogEntry,
} from './capabilities.ts';
import { detectJail, jailCommand, jailSpawnIds, type Jail } from './jail.ts';
import { decodeJson, encodeJson } from './json.ts';
import { workerCommand } from './spawn-args.ts';
import { MemoryKvStore, type KvStore } from './kv-store.ts';
import { CAPABILITY_NAME, ENTRY_CLASS_NAME as ENTRY_NAME, METHOD_NAME } from '../names.ts';
import { CAN_MEASURE_RSS, MEMORY_POLL_MS, processTreeRssKb, workerMemoryCapMb } from './memory-cap.ts';
import {
  parseCapabilityGrants,
  parseSandboxLimits,
  type CapabilityGrants,
  type SandboxLimits,
} from './limits.ts';
import {
  decodeFrame,
  encodeCallFrame,
  encodeJsonFrame,
  encodeLoadFrame,
  FATAL_MARKER,
  FrameReader,
  HOST_FD,
  type HostMessage,
  type WorkerMessage,
} from './protocol.ts';

export type { LogEntry, HostCapability, CapabilityContext, CapabilityMethod } from './capabilities.ts';
export type { KvStore } from './kv-store.ts';
export type { SandboxLimits, CapabilityGrants } from './limits.ts';

/** Options of {@link createSupervisor}; every one has a safe default. */
export interface SupervisorOptions {
  /** worker processes in the pool (default 2, at most 64) */
  readonly workers?: number;
  /** receives `host.log(...)` entries (default: dropped) */
  readonly logger?: (entry: LogEntry) => void;
  /** backing store of the `kv` capability (default: a new MemoryKvStore) */
  readonly kv?: KvStore;
  /** extra host capabilities components may be granted (names must not be `log` or `kv`) */
  readonly capabilities?: readonly HostCapability[];
  /** heartbeat period in ms (default 1000); a worker silent for 2 periods beyond its longest call is replaced */
  readonly heartbeatMs?: number;
  /** run workers inside this OS jail (from `resolveJail` in jail.ts; default: not jailed) */
  readonly jail?: Jail | undefined;
  /**
   * hard cap on each worker's resident memory in MiB (default: sized from the components it holds,
   * see memory-cap.ts); a worker above it is killed, its in-flight tenants get ERR_MEMORY_LIMIT
   */
  readonly workerMemoryCapMb?: number;
}

/** What to run: already verified and policy-checked by the loader (the source is still hostile). */
export interface ComponentSpec {
  readonly tenant: string;
  readonly identifier: string;
  readonly version: number;
  /** hex SHA-256 of the statement payload */
  readonly digest: string;
  /** the class name to instantiate */
  readonly entry: string;
  readonly source: string;
  readonly params: JsonValue;
  readonly artifacts: Readonly<Record<string, Uint8Array>>;
  readonly grants: CapabilityGrants;
  readonly limits: SandboxLimits;
  /**
   * Whether BigInt values may be made at run time (`BigInt()`, BigInt typed arrays,
   * `DataView#getBigInt64`); default false. BigInt work ignores the isolate timeout: grant only
   * to tenants whose policy allows BigInt literals (`syntax.allow: [BigIntLiteral]`).
   */
  readonly bigint?: boolean;
}

/** A component running in the sandbox. */
export interface SandboxedComponent {
  /** the entry class's own public methods, sorted */
  readonly methods: readonly string[];
  /**
   * Calls a method with JSON arguments; resolves its JSON result.
   * @throws SandboxError ERR_SANDBOX_CLOSED, ERR_METHOD_NOT_FOUND, ERR_ARGS_INVALID, ERR_RESULT_INVALID,
   *   ERR_TIMEOUT, ERR_MEMORY_LIMIT, ERR_SANDBOX_CRASHED, ERR_QUEUE_FULL, ERR_CAPABILITY_DENIED,
   *   ERR_QUOTA_EXCEEDED, ERR_INSTANTIATE (re-instantiation failed)
   * @throws ComponentError ERR_COMPONENT_THREW
   */
  call(method: string, ...args: JsonValue[]): Promise<JsonValue>;
  /** Drops the component's context; later calls reject with ERR_SANDBOX_CLOSED. */
  dispose(): Promise<void>;
}

/** Counters for monitoring and tests. */
export interface SupervisorStats {
  /** live worker processes */
  readonly workers: number;
  /** (worker, tenant) isolates holding at least one loaded component */
  readonly isolates: number;
  /** loaded components */
  readonly components: number;
  /** workers replaced after a crash, hang or kill */
  readonly restarts: number;
  /** pids of live workers */
  readonly pids: readonly number[];
}

/** The sandbox's host side. */
export interface Supervisor {
  /**
   * Loads a component into a fresh context of its tenant's isolate and constructs its entry class.
   * @throws ConfigError ERR_CONFIG_INVALID (bad spec, unknown capability in grants)
   * @throws EnvelopeError ERR_JSON_INVALID (params are not JSON)
   * @throws SandboxError ERR_INSTANTIATE, ERR_TIMEOUT, ERR_MEMORY_LIMIT, ERR_SANDBOX_CRASHED, ERR_SANDBOX_CLOSED
   */
  instantiate(spec: ComponentSpec): Promise<SandboxedComponent>;
  /** Rejects everything pending, kills every worker, leaves no process or handle behind. */
  close(): Promise<void>;
  stats(): SupervisorStats;
}

/** Largest frame a worker may send before it holds a component (ready, pong, errors). */
const BASE_FRAME_BYTES = 1024 * 1024;
/** Extra time the host gives a worker beyond a call's deadline before killing it. */
const KILL_GRACE_MS = 400;
const MAX_IDENTIFIER_IN_FILENAME = 128;

/** Most callable methods one component may advertise. */
const MAX_METHODS = 1000;
const SANDBOX_CODES: ReadonlySet<string> = new Set([
  'ERR_TIMEOUT',
  'ERR_MEMORY_LIMIT',
  'ERR_SANDBOX_CRASHED',
  'ERR_SANDBOX_CLOSED',
  'ERR_METHOD_NOT_FOUND',
]);
const SUPERVISOR_OPTIONS: ReadonlySet<string> = new Set([
  'workers',
  'logger',
  'kv',
  'capabilities',
  'heartbeatMs',
  'jail',
  'workerMemoryCapMb',
]);
const REFUSAL_CODES: ReadonlySet<string> = new Set([
  'ERR_CAPABILITY_DENIED',
  'ERR_QUOTA_EXCEEDED',
  'ERR_ARGS_INVALID',
]);

type SandboxCode = ConstructorParameters<typeof SandboxError>[0];

interface Invocation {
  capCalls: number;
}

interface Record_ {
  readonly id: number;
  readonly spec: ComponentSpec;
  readonly filename: string;
  readonly meta: string;
  readonly artifactNames: readonly string[];
  readonly artifactBytes: readonly Uint8Array[];
  /** hex SHA-256 of spec.source, computed here (the worker's compiled-script cache key) */
  readonly sourceSha256: string;
  readonly slot: number;
  /** incarnation key inside the worker, undefined when not loaded */
  key: number | undefined;
  /** worker generation the key belongs to */
  gen: number;
  loading: Promise<void> | undefined;
  methods: ReadonlySet<string>;
  disposed: boolean;
  readonly active: Set<Invocation>;
}

interface PendingOp {
  readonly tenant: string;
  readonly resolve: (message: { r?: string; x?: string; m?: string }) => void;
  readonly reject: (error: Error) => void;
  timer: NodeJS.Timeout | undefined;
  timedOut: boolean;
}

interface Slot {
  readonly index: number;
  proc: ChildProcess | undefined;
  /** the host's end of the worker's frame pipe */
  pipe: Socket | undefined;
  gen: number;
  ready: boolean;
  outbox: Buffer[];
  /** largest frame accepted from the worker (grows with the limits of the components it holds) */
  maxFrame: number;
  flushScheduled: boolean;
  readonly pending: Map<number, PendingOp>;
  readonly records: Map<number, Record_>;
  readonly tenantKeys: Map<string, number>;
  stderr: string;
  lastPong: number;
  pingSent: number;
}

interface Waiter {
  readonly resolve: () => void;
  readonly reject: (error: Error) => void;
  readonly timer: NodeJS.Timeout;
}

interface TenantState {
  readonly slot: number;
  active: number;
  readonly queue: Waiter[];
  readonly buckets: Map<string, TokenBucket>;
}

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
  for (const key of Reflect.ownKeys(options)) {
    // A misspelt option is an error, never a silently ignored security knob.
    if (typeof key !== 'string' || !SUPERVISOR_OPTIONS.has(key)) {
      throw new ConfigError('ERR_CONFIG_INVALID', `unknown supervisor option ${String(key).slice(0, 64)}`);
    }
  }
  const workerCount = options.workers ?? 2;
  if (!Number.isInteger(workerCount) || workerCount < 1 || workerCount > 64) {
    throw new ConfigError(
      'ERR_CONFIG_INVALID',
      `workers: expected an integer in [1, 64], got ${String(workerCount)}`,
    );
  }
  const heartbeatMs = options.heartbeatMs ?? 1000;
  if (!Number.isInteger(heartbeatMs) || heartbeatMs < 10 || heartbeatMs > 600_000) {
    throw new ConfigError(
      'ERR_CONFIG_INVALID',
      `heartbeatMs: expected an integer in [10, 600000], got ${String(heartbeatMs)}`,
    );
  }
  const jail = options.jail;
  // Defends against a forged jail description (another program in place of bwrap, fewer binds):
  // only the one this process's detection produced is accepted.
  if (jail !== undefined && jail !== detectJail().jail) {
    throw new ConfigError('ERR_CONFIG_INVALID', 'jail: expected the Jail returned by resolveJail');
  }
  const fixedCapMb = options.workerMemoryCapMb;
  if (
    fixedCapMb !== undefined &&
    (!Number.isInteger(fixedCapMb) || fixedCapMb < 64 || fixedCapMb > 1_048_576)
  ) {
    throw new ConfigError(
      'ERR_CONFIG_INVALID',
      `workerMemoryCapMb: expected an integer in [64, 1048576], got ${String(fixedCapMb)}`,
    );
  }
  const logger = options.logger ?? ((): void => undefined);
  const kv: KvStore = options.kv ?? new MemoryKvStore();
  const capabilities = new Map<string, HostCapability>();
  capabilities.set('log', createLogCapability(logger));
  capabilities.set('kv', createKvCapability(kv));
  // Defends against a malformed option crashing with an untyped TypeError: shapes are checked first.
  if (options.capabilities !== undefined && !Array.isArray(options.capabilities)) {
    throw new ConfigError('ERR_CONFIG_INVALID', 'capabilities: expected an array');
  }
  for (const capability of options.capabilities ?? []) {
    if (
      typeof capability?.name !== 'string' ||
      capability.methods === null ||
      typeof capability.methods !== 'object' ||
      !CAPABILITY_NAME.test(capability.name) ||
      capabilities.has(capability.name)
    ) {
      throw new ConfigError(
        'ERR_CONFIG_INVALID',
        `capability ${String(capability?.name).slice(0, 64)}: expected a free, valid name and a methods object`,
      );
    }
    for (const method of Object.keys(capability.methods)) {
      if (!METHOD_NAME.test(method) || typeof capability.methods[method]?.handler !== 'function') {
        throw new ConfigError(
          'ERR_CONFIG_INVALID',
          `capability ${capability.name}: method ${method.slice(0, 64)} is invalid`,
        );
      }
    }
    capabilities.set(capability.name, capability);
  }

  const slots: Slot[] = [];
  for (let i = 0; i < workerCount; i++) {
    slots.push({
      index: i,
      proc: undefined,
      pipe: undefined,
      gen: 0,
      ready: false,
      outbox: [],
      maxFrame: BASE_FRAME_BYTES,
      flushScheduled: false,
      pending: new Map(),
      records: new Map(),
      tenantKeys: new Map(),
      stderr: '',
      lastPong: 0,
      pingSent: 0,
    });
  }
  const tenants = new Map<string, TenantState>();
  let closed = false;
  let nextId = 0;
  let nextKey = 0;
  let nextTenantKey = 0;
  let restarts = 0;
  let heartbeat: NodeJS.Timeout | undefined;
  let memoryWatch: NodeJS.Timeout | undefined;
  /** exit of every worker process not yet reaped */
  const exits = new Set<Promise<void>>();

  // ---------------------------------------------------------------- workers

  function spawn(slot: Slot): void {
    slot.gen++;
    slot.ready = false;
    slot.stderr = '';
    slot.tenantKeys.clear();
    // A dedicated Unix socket pair at the worker's fd 3 carries length-prefixed frames (protocol.ts):
    // cheaper per message than Node's IPC channel, and every frame from the worker is bounded.
    const inner = workerCommand();
    // The jail (bwrap) keeps fd 3 open across its exec: the socket pair reaches the worker as today.
    const { command, args } = jail === undefined ? inner : jailCommand(jail, inner);
    const proc = spawnProcess(command, [...args], {
      // Defends against secret theft after a full isolate escape: the worker sees no host variables.
      env: {},
      stdio: ['ignore', 'ignore', 'pipe', 'pipe'],
      ...(jail === undefined ? {} : jailSpawnIds(jail)),
    });
    const pipe = proc.stdio[HOST_FD] as Socket;
    slot.proc = proc;
    slot.pipe = pipe;
    slot.maxFrame = BASE_FRAME_BYTES;
    slot.lastPong = performance.now();
    const gen = slot.gen;
    proc.stderr?.setEncoding('utf8');
    proc.stderr?.on('data', (chunk: string) => {
      // Keep only a short tail: a hostile worker may write without end.
      slot.stderr = (slot.stderr + chunk).slice(-4096);
    });
    const reader = new FrameReader(() => slot.maxFrame);
    pipe.on('data', (chunk: Buffer) => {
      if (slot.gen !== gen) return;
      try {
        for (const body of reader.push(chunk)) {
          onWorkerMessage(slot, decodeFrame(body));
          if (slot.gen !== gen) return;
        }
      } catch {
        // Defends against a broken or compromised worker: an oversized or malformed frame ends it.
        if (slot.gen === gen) kill(slot);
      }
    });
    pipe.on('error', () => {
      if (slot.gen === gen) kill(slot);
    });
    const exited = new Promise<void>((resolve) => {
      const gone = (): void => {
        if (!exits.has(exited)) return;
        exits.delete(exited);
        onWorkerGone(slot, gen);
        resolve();
      };
      proc.once('close', gone);
      // A process that never started (spawn failure) emits 'error' and may never emit 'close'.
      proc.on('error', () => {
        if (proc.pid === undefined) gone();
      });
    });
    exits.add(exited);
    // Idle workers must not keep the embedding app alive; in-flight calls hold their own timers.
    proc.unref();
    pipe.unref();
    ensureHeartbeat();
  }

  function ensureSlot(slot: Slot): void {
    if (slot.proc === undefined) spawn(slot);
  }

  function send(slot: Slot, message: HostMessage): void {
    slot.outbox.push(
      message.t === 'call'
        ? encodeCallFrame(message)
        : message.t === 'load'
          ? encodeLoadFrame(message)
          : encodeJsonFrame(message),
    );
    if (slot.ready && !slot.flushScheduled) {
      slot.flushScheduled = true;
      queueMicrotask(() => flush(slot));
    }
  }

  function flush(slot: Slot): void {
    slot.flushScheduled = false;
    if (!slot.ready || slot.pipe === undefined || slot.outbox.length === 0) return;
    const batch = slot.outbox;
    slot.outbox = [];
    // One write (one syscall) for everything queued in this tick.
    slot.pipe.write(batch.length === 1 ? batch[0]! : Buffer.concat(batch));
  }

  /** Kills a worker and settles everything it held at once; its late messages are ignored. */
  function kill(slot: Slot): void {
    const proc = slot.proc;
    if (proc === undefined) return;
    if (proc.exitCode === null && proc.signalCode === null) proc.kill('SIGKILL');
    retire(slot, new Set());
  }

  /** The worker died on its own: find out whether an isolate lost control (fatal marker). */
  function onWorkerGone(slot: Slot, gen: number): void {
    if (slot.gen !== gen) return;
    const fatal = new Set<number>();
    for (const match of slot.stderr.matchAll(new RegExp(`${FATAL_MARKER} (\\d+)`, 'g')))
      fatal.add(Number(match[1]));
    const fatalTenants = new Set<string>();
    for (const [tenant, key] of slot.tenantKeys) if (fatal.has(key)) fatalTenants.add(tenant);
    retire(slot, fatalTenants);
  }

  function retire(slot: Slot, fatalTenants: ReadonlySet<string>): void {
    // A new generation: messages and exit events of the old process no longer count.
    slot.gen++;
    const wasReady = slot.ready;
    slot.proc = undefined;
    slot.pipe?.destroy();
    slot.pipe = undefined;
    slot.ready = false;
    slot.outbox = [];
    slot.tenantKeys.clear();
    if (!closed) restarts++;
    for (const record of slot.records.values()) record.key = undefined;
    slot.records.clear();
    const pending = [...slot.pending.values()];
    slot.pending.clear();
    for (const op of pending) {
      if (op.timer !== undefined) clearTimeout(op.timer);
      if (closed) op.reject(new SandboxError('ERR_SANDBOX_CLOSED', 'the supervisor is closed'));
      else if (op.timedOut) op.reject(new SandboxError('ERR_TIMEOUT', 'the call overran its time limit'));
      else if (fatalTenants.has(op.tenant)) {
        op.reject(
          new SandboxError(
            'ERR_MEMORY_LIMIT',
            'the isolate ran out of its memory limit; its worker was replaced',
          ),
        );
      } else
        op.reject(new SandboxError('ERR_SANDBOX_CRASHED', 'the sandbox worker died; it will be replaced'));
    }
    // Replace the worker now, so the next call finds it booted (components reload lazily). A worker
    // that died before it was ready is not respawned eagerly: no crash loop when workers cannot start.
    if (!closed && wasReady) spawn(slot);
  }

  function ensureHeartbeat(): void {
    if (heartbeat !== undefined || closed) return;
    heartbeat = setInterval(() => {
      const now = performance.now();
      for (const slot of slots) {
        if (slot.proc === undefined || !slot.ready) continue;
        // A worker that stops answering (wedged by V8, blocked, stopped) is killed and replaced.
        if (slot.pingSent > slot.lastPong && now - slot.lastPong > 2 * heartbeatMs + longestCall(slot)) {
          kill(slot);
          continue;
        }
        slot.pingSent = now;
        send(slot, { t: 'ping', n: Math.floor(now) });
      }
    }, heartbeatMs);
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
    for (const slot of slots) {
      const pid = slot.proc?.pid;
      if (pid === undefined || slot.records.size === 0) continue;
      const rssKb = processTreeRssKb(pid);
      if (rssKb === undefined || rssKb <= workerCapMb(slot) * 1024) continue;
      const responsible = new Set<string>();
      for (const op of slot.pending.values()) responsible.add(op.tenant);
      const proc = slot.proc!;
      if (proc.exitCode === null && proc.signalCode === null) proc.kill('SIGKILL');
      retire(slot, responsible);
    }
  }

  function workerCapMb(slot: Slot): number {
    if (fixedCapMb !== undefined) return fixedCapMb;
    // One isolate per tenant on this worker; its memoryLimit is that of the tenant's first component
    // (the largest of its components is counted: never below the real limit).
    const isolates = new Map<string, number>();
    for (const record of slot.records.values()) {
      const { tenant, limits } = record.spec;
      isolates.set(tenant, Math.max(isolates.get(tenant) ?? 0, limits.memoryMb));
    }
    return workerMemoryCapMb(isolates.values(), slot.records.size);
  }

  function longestCall(slot: Slot): number {
    let max = 0;
    for (const record of slot.records.values()) max = Math.max(max, record.spec.limits.callTimeoutMs);
    return max + KILL_GRACE_MS;
  }

  function onWorkerMessage(slot: Slot, raw: unknown): void {
    if (raw === null || typeof raw !== 'object') return;
    const message = raw as WorkerMessage;
    switch (message.t) {
      case 'ready':
        slot.ready = true;
        slot.lastPong = performance.now();
        if (slot.outbox.length > 0) flush(slot);
        return;
      case 'pong':
        slot.lastPong = performance.now();
        return;
      case 'done': {
        if (typeof message.id !== 'number') return;
        const op = slot.pending.get(message.id);
        if (op === undefined) return;
        slot.pending.delete(message.id);
        if (op.timer !== undefined) clearTimeout(op.timer);
        const answer: { r?: string; x?: string; m?: string } = {};
        if (typeof message.r === 'string') answer.r = message.r;
        if (typeof message.x === 'string') answer.x = message.x;
        if (typeof message.m === 'string') answer.m = message.m;
        op.resolve(answer);
        return;
      }
      case 'cap':
        void onCapability(slot, message);
        return;
      case 'lost':
        if (!Array.isArray(message.keys)) return;
        for (const key of message.keys) {
          const record = typeof key === 'number' ? slot.records.get(key) : undefined;
          if (record === undefined) continue;
          slot.records.delete(key as number);
          record.key = undefined;
        }
        return;
      default:
        return;
    }
  }

  /** Sends a request and waits for its `done`; the host timer kills the worker past deadline + grace. */
  function request(
    slot: Slot,
    tenant: string,
    build: (id: number) => HostMessage,
    deadline: number,
  ): Promise<{ r?: string; x?: string; m?: string }> {
    ensureSlot(slot);
    const id = ++nextId;
    return new Promise((resolve, reject) => {
      const op: PendingOp = { tenant, resolve, reject, timer: undefined, timedOut: false };
      // Whole milliseconds: timers of equal duration share one Node timer list (no per-call list).
      const wait = Math.ceil(Math.max(1, deadline - performance.now())) + KILL_GRACE_MS;
      // Defends against a worker that never answers (BigInt overrun, wedged isolate, blocked loop):
      // the host's own wall clock settles the call and replaces the worker.
      op.timer = setTimeout(() => {
        op.timedOut = true;
        slot.pending.delete(id);
        kill(slot);
        reject(new SandboxError('ERR_TIMEOUT', 'the call overran its time limit; its worker was replaced'));
      }, wait);
      slot.pending.set(id, op);
      send(slot, build(id));
    });
  }

  // ---------------------------------------------------------------- capabilities

  async function onCapability(slot: Slot, message: Extract<WorkerMessage, { t: 'cap' }>): Promise<void> {
    const { key, req } = message;
    if (typeof key !== 'number' || typeof req !== 'number') return;
    const gen = slot.gen;
    const reply = (ok: boolean, text: string, code = ''): void => {
      if (slot.gen === gen) send(slot, { t: 'capres', key, req, ok, text, code });
    };
    const record = slot.records.get(key);
    if (record === undefined || record.disposed) {
      reply(false, 'the component is not loaded', 'ERR_CAPABILITY_DENIED');
      return;
    }
    try {
      const value = await runCapability(record, message);
      reply(
        true,
        value === undefined
          ? ''
          : encodeJson(
              value,
              record.spec.limits.maxResultBytes,
              record.spec.limits.maxJsonDepth,
              'ERR_RESULT_INVALID',
              'capability result',
            ),
      );
    } catch (error) {
      if (error instanceof SandboxError && REFUSAL_CODES.has(error.code))
        reply(false, error.message, error.code);
      // Defends against leaking host internals (paths, secrets) through a handler's own error text.
      else
        reply(
          false,
          `capability ${String(message.cap)}.${String(message.method)} failed`,
          'ERR_CAPABILITY_DENIED',
        );
    }
  }

  async function runCapability(
    record: Record_,
    message: Extract<WorkerMessage, { t: 'cap' }>,
  ): Promise<JsonValue | undefined> {
    const { spec } = record;
    const { cap, method } = message;
    if (typeof cap !== 'string' || typeof method !== 'string') {
      throw new SandboxError('ERR_CAPABILITY_DENIED', 'malformed capability request');
    }
    const capability = capabilities.get(cap);
    const grant = Object.hasOwn(spec.grants, cap) ? spec.grants[cap] : undefined;
    // Defends against calls to capabilities the policy did not grant (a forged stub or a wild worker).
    if (capability === undefined || grant === undefined || !Object.hasOwn(capability.methods, method)) {
      throw new SandboxError(
        'ERR_CAPABILITY_DENIED',
        `capability ${cap.slice(0, 64)}.${method.slice(0, 64)} is not granted`,
      );
    }
    // Defends against background work reaching the host after its call ended.
    if (record.active.size === 0) {
      throw new SandboxError(
        'ERR_CAPABILITY_DENIED',
        'capabilities may only be called while a call is running',
      );
    }
    let over = false;
    for (const invocation of record.active) {
      invocation.capCalls++;
      if (invocation.capCalls > spec.limits.maxCapabilityCalls) over = true;
    }
    if (over) {
      throw new SandboxError(
        'ERR_QUOTA_EXCEEDED',
        `more than ${spec.limits.maxCapabilityCalls} capability calls in one call`,
      );
    }
    const limits = Object.freeze({ ...capability.limits, ...grant });
    const state = tenantState(spec.tenant);
    const rate = limits['callsPerSecond'];
    if (rate !== undefined) {
      let bucket = state.buckets.get(cap);
      if (bucket === undefined) {
        bucket = new TokenBucket(rate);
        state.buckets.set(cap, bucket);
      }
      if (!bucket.take())
        throw new SandboxError('ERR_QUOTA_EXCEEDED', `${cap} is limited to ${rate} calls per second`);
    }
    const args = decodeJson(
      message.args,
      spec.limits.maxArgBytes,
      spec.limits.maxJsonDepth + 1,
      'ERR_ARGS_INVALID',
      'capability arguments',
    );
    if (!Array.isArray(args))
      throw new SandboxError('ERR_ARGS_INVALID', 'capability arguments must be an array');
    const entry = capability.methods[method]!;
    const ctx: CapabilityContext = Object.freeze({
      tenant: spec.tenant,
      identifier: spec.identifier,
      version: spec.version,
      limits,
    });
    const problem = entry.validate?.(args, ctx);
    if (problem !== undefined) throw new SandboxError('ERR_ARGS_INVALID', `${cap}.${method}: ${problem}`);
    const value = await entry.handler(ctx, ...(args as JsonValue[]));
    return value;
  }

  // ---------------------------------------------------------------- tenants

  function tenantState(tenant: string): TenantState {
    let state = tenants.get(tenant);
    if (state === undefined) {
      // Affinity: a tenant stays on one worker slot; new tenants go to the least loaded slot.
      const counts = new Array<number>(slots.length).fill(0);
      for (const s of tenants.values()) counts[s.slot]!++;
      let best = 0;
      for (let i = 1; i < counts.length; i++) if (counts[i]! < counts[best]!) best = i;
      state = { slot: best, active: 0, queue: [], buckets: new Map() };
      tenants.set(tenant, state);
    }
    return state;
  }

  function acquire(state: TenantState, limits: SandboxLimits, deadline: number): Promise<void> | undefined {
    if (state.active < limits.maxConcurrentCalls) {
      state.active++;
      return undefined;
    }
    // Defends against one tenant flooding the node: a bounded queue, then ERR_QUEUE_FULL.
    if (state.queue.length >= limits.maxQueuedCalls) {
      return Promise.reject(
        new SandboxError('ERR_QUEUE_FULL', `the tenant already has ${state.queue.length} calls waiting`),
      );
    }
    return new Promise((resolve, reject) => {
      const waiter: Waiter = {
        resolve,
        reject,
        timer: setTimeout(
          () => {
            const index = state.queue.indexOf(waiter);
            if (index >= 0) state.queue.splice(index, 1);
            reject(new SandboxError('ERR_TIMEOUT', 'the call timed out while waiting in the tenant queue'));
          },
          Math.max(1, deadline - performance.now()),
        ),
      };
      state.queue.push(waiter);
    });
  }

  function release(state: TenantState): void {
    const next = state.queue.shift();
    if (next === undefined) {
      state.active--;
      return;
    }
    clearTimeout(next.timer);
    next.resolve();
  }

  function tenantKey(slot: Slot, tenant: string): number {
    let key = slot.tenantKeys.get(tenant);
    if (key === undefined) {
      key = ++nextTenantKey;
      slot.tenantKeys.set(tenant, key);
    }
    return key;
  }

  // ---------------------------------------------------------------- components

  function loadRecord(record: Record_, deadline: number): Promise<void> {
    if (record.loading !== undefined) return record.loading;
    const slot = slots[record.slot]!;
    const invocation: Invocation = { capCalls: 0 };
    const run = async (): Promise<void> => {
      ensureSlot(slot);
      const key = ++nextKey;
      const { spec } = record;
      slot.records.set(key, record);
      // Frames from this worker may now carry this component's results, capability arguments and
      // load answer (method names); 8x covers UTF-8 and JSON escaping.
      slot.maxFrame = Math.max(
        slot.maxFrame,
        BASE_FRAME_BYTES +
          8 * Math.max(spec.limits.maxResultBytes, spec.limits.maxArgBytes, spec.source.length),
      );
      record.active.add(invocation);
      let answer;
      try {
        answer = await request(
          slot,
          spec.tenant,
          (id) => ({
            t: 'load',
            id,
            key,
            tenantKey: tenantKey(slot, spec.tenant),
            memoryMb: spec.limits.memoryMb,
            timeoutMs: Math.max(1, Math.floor(deadline - performance.now())),
            filename: record.filename,
            entry: spec.entry,
            source: spec.source,
            sourceSha256: record.sourceSha256,
            meta: record.meta,
            artifactNames: record.artifactNames,
            artifactBytes: record.artifactBytes,
          }),
          deadline,
        );
      } catch (error) {
        slot.records.delete(key);
        throw error;
      } finally {
        record.active.delete(invocation);
      }
      const r = answer.r;
      if (r !== undefined && r[0] === 'R') {
        let methods: unknown;
        try {
          methods = JSON.parse(r.slice(1));
        } catch {
          methods = undefined;
        }
        // Defends against a compromised worker advertising methods the host would then expose and
        // route: at most MAX_METHODS entries; only plain identifiers other than `constructor` are
        // kept (a method with a non-identifier name is not callable from the host).
        if (Array.isArray(methods) && methods.length <= MAX_METHODS) {
          methods = methods.filter((m) => typeof m === 'string' && ENTRY_NAME.test(m) && m !== 'constructor');
        } else {
          methods = undefined;
        }
        if (!Array.isArray(methods)) {
          slot.records.delete(key);
          throw new SandboxError('ERR_SANDBOX_CRASHED', 'the worker answered a load with garbage');
        }
        if (record.disposed || closed) {
          send(slot, { t: 'unload', id: ++nextId, key });
          slot.records.delete(key);
          throw new SandboxError('ERR_SANDBOX_CLOSED', 'the component was disposed while loading');
        }
        record.key = key;
        record.gen = slot.gen;
        if (record.methods.size === 0) record.methods = new Set(methods as string[]);
        return;
      }
      slot.records.delete(key);
      throw loadFailure(record, answer);
    };
    const promise = run().finally(() => {
      record.loading = undefined;
    });
    record.loading = promise;
    return promise;
  }

  function loadFailure(record: Record_, answer: { r?: string; x?: string; m?: string }): Error {
    if (answer.x !== undefined) {
      if (answer.x === 'ERR_INSTANTIATE') {
        const body = parseBody(answer.m);
        return new SandboxError('ERR_INSTANTIATE', `the component could not be loaded: ${body.message}`, {
          componentStack: trimStack(body.stack, record.filename),
        });
      }
      return sandboxError(answer.x, answer.m);
    }
    const r = answer.r ?? '';
    const body = parseBody(r.slice(1));
    if (r[0] === 'D' && REFUSAL_CODES.has(body.code))
      return new SandboxError(body.code as SandboxCode, body.message);
    return new SandboxError('ERR_INSTANTIATE', `the component could not be constructed: ${body.message}`, {
      componentStack: trimStack(body.stack, record.filename),
    });
  }

  function callResult(record: Record_, answer: { r?: string; x?: string; m?: string }): JsonValue {
    if (answer.x !== undefined) throw sandboxError(answer.x, answer.m);
    const r = answer.r ?? '';
    const tag = r[0];
    if (tag === 'R') {
      return decodeJson(
        r.slice(1),
        record.spec.limits.maxResultBytes,
        record.spec.limits.maxJsonDepth,
        'ERR_RESULT_INVALID',
        'the result',
      );
    }
    if (tag === 'M') throw new SandboxError('ERR_METHOD_NOT_FOUND', 'no such method on the component');
    const body = parseBody(r.slice(1));
    if (tag === 'E') throw new ComponentError(body.message, trimStack(body.stack, record.filename));
    if (tag === 'D' && REFUSAL_CODES.has(body.code))
      throw new SandboxError(body.code as SandboxCode, body.message);
    if (tag === 'V') throw new SandboxError('ERR_RESULT_INVALID', body.message);
    throw new SandboxError('ERR_SANDBOX_CRASHED', 'the worker answered a call with garbage');
  }

  async function callRecord(record: Record_, method: unknown, args: unknown[]): Promise<JsonValue> {
    if (record.disposed || closed) throw new SandboxError('ERR_SANDBOX_CLOSED', 'the component is disposed');
    const { spec } = record;
    // Defends against calling the constructor, inherited or private members: own public methods only.
    if (typeof method !== 'string' || !record.methods.has(method)) {
      throw new SandboxError(
        'ERR_METHOD_NOT_FOUND',
        `no method ${JSON.stringify(String(method).slice(0, 64))} on ${spec.entry}`,
      );
    }
    const argsText = encodeJson(
      args,
      spec.limits.maxArgBytes,
      spec.limits.maxJsonDepth + 1,
      'ERR_ARGS_INVALID',
      'arguments',
    );
    const deadline = performance.now() + spec.limits.callTimeoutMs;
    const state = tenantState(spec.tenant);
    const gate = acquire(state, spec.limits, deadline);
    if (gate !== undefined) await gate;
    const invocation: Invocation = { capCalls: 0 };
    try {
      if (record.disposed || closed)
        throw new SandboxError('ERR_SANDBOX_CLOSED', 'the component is disposed');
      const slot = slots[record.slot]!;
      // Transparent recovery: a component lost to a disposed isolate or a replaced worker is
      // re-instantiated from its verified spec, inside this call's deadline.
      if (record.key === undefined || record.gen !== slot.gen || slot.proc === undefined) {
        record.key = undefined;
        await loadRecord(record, deadline);
      }
      const key = record.key;
      if (key === undefined) throw new SandboxError('ERR_SANDBOX_CRASHED', 'the component is not loaded');
      record.active.add(invocation);
      const answer = await request(
        slot,
        spec.tenant,
        (id) => ({
          t: 'call',
          id,
          key,
          method,
          args: argsText,
          timeoutMs: Math.max(1, Math.floor(deadline - performance.now())),
        }),
        deadline,
      );
      return callResult(record, answer);
    } catch (error) {
      // Disposed or closed while the call was in flight: every failure of that call is reported as
      // ERR_SANDBOX_CLOSED (the caller ended it), never as a misleading crash.
      if ((record.disposed || closed) && (error instanceof SandboxError || error instanceof ComponentError)) {
        throw new SandboxError('ERR_SANDBOX_CLOSED', 'the component was disposed during the call');
      }
      throw error;
    } finally {
      record.active.delete(invocation);
      release(state);
    }
  }

  let nextRecord = 0;

  async function instantiate(spec: ComponentSpec): Promise<SandboxedComponent> {
    if (closed) throw new SandboxError('ERR_SANDBOX_CLOSED', 'the supervisor is closed');
    const checked = checkSpec(spec, capabilities);
    const state = tenantState(checked.spec.tenant);
    const record: Record_ = {
      id: ++nextRecord,
      ...checked,
      slot: state.slot,
      key: undefined,
      gen: 0,
      loading: undefined,
      methods: new Set(),
      disposed: false,
      active: new Set(),
    };
    await loadRecord(record, performance.now() + checked.spec.limits.callTimeoutMs);
    const methods = Object.freeze([...record.methods].sort());
    return Object.freeze({
      methods,
      call: (method: string, ...args: JsonValue[]) => callRecord(record, method, args),
      dispose: () => disposeRecord(record),
    });
  }

  async function disposeRecord(record: Record_): Promise<void> {
    if (record.disposed) return;
    record.disposed = true;
    const slot = slots[record.slot]!;
    const key = record.key;
    record.key = undefined;
    if (key === undefined || slot.proc === undefined || record.gen !== slot.gen) return;
    try {
      await request(slot, record.spec.tenant, (id) => ({ t: 'unload', id, key }), performance.now() + 1000);
    } catch {
      // the worker died meanwhile: nothing is left of the component either way
    } finally {
      slot.records.delete(key);
    }
  }

  async function close(): Promise<void> {
    if (closed) {
      await Promise.all([...exits]);
      return;
    }
    closed = true;
    if (heartbeat !== undefined) clearInterval(heartbeat);
    heartbeat = undefined;
    if (memoryWatch !== undefined) clearInterval(memoryWatch);
    memoryWatch = undefined;
    for (const state of tenants.values()) {
      for (const waiter of state.queue.splice(0)) {
        clearTimeout(waiter.timer);
        waiter.reject(new SandboxError('ERR_SANDBOX_CLOSED', 'the supervisor is closed'));
      }
    }
    for (const slot of slots) {
      for (const record of slot.records.values()) record.disposed = true;
      // Keep the event loop alive until every worker has really exited.
      slot.proc?.ref();
      kill(slot);
    }
    await Promise.all([...exits]);
    if (options.kv === undefined) kv.close?.();
  }

  function stats(): SupervisorStats {
    let workers = 0;
    let components = 0;
    let isolates = 0;
    const pids: number[] = [];
    for (const slot of slots) {
      if (slot.proc === undefined) continue;
      workers++;
      if (slot.proc.pid !== undefined) pids.push(slot.proc.pid);
      const tenantsHere = new Set<string>();
      for (const record of new Set(slot.records.values())) {
        if (record.key === undefined) continue;
        components++;
        tenantsHere.add(record.spec.tenant);
      }
      isolates += tenantsHere.size;
    }
    return Object.freeze({ workers, isolates, components, restarts, pids: Object.freeze(pids) });
  }

  return Object.freeze({ instantiate, close, stats });
}

function sandboxError(code: string, message: string | undefined): SandboxError {
  if (SANDBOX_CODES.has(code)) {
    return new SandboxError(code as SandboxCode, typeof message === 'string' ? message.slice(0, 512) : code);
  }
  return new SandboxError('ERR_SANDBOX_CRASHED', 'the worker answered with an unknown error');
}

function parseBody(text: string | undefined): { message: string; stack: string; code: string } {
  try {
    const body = JSON.parse(text ?? '') as { message?: unknown; stack?: unknown; code?: unknown };
    return {
      message: typeof body.message === 'string' ? body.message.slice(0, 4096) : 'unknown error',
      stack: typeof body.stack === 'string' ? body.stack.slice(0, 16384) : '',
      code: typeof body.code === 'string' ? body.code : '',
    };
  } catch {
    return { message: 'unknown error', stack: '', code: '' };
  }
}

/** Keeps only stack frames of the component's own script (no bootstrap, no host frames). */
export function trimStack(stack: string, filename: string): string {
  const frames: string[] = [];
  for (const line of stack.split('\n')) {
    const trimmed = line.trim();
    if (!trimmed.startsWith('at ')) continue;
    // Defends against host path disclosure: only frames located in the component's own script.
    if (trimmed.includes(`(${filename}:`) || trimmed.startsWith(`at ${filename}:`))
      frames.push(`    ${trimmed}`);
    if (frames.length >= 32) break;
  }
  return frames.join('\n');
}

function checkSpec(
  spec: ComponentSpec,
  capabilities: ReadonlyMap<string, HostCapability>,
): Pick<Record_, 'spec' | 'filename' | 'meta' | 'artifactNames' | 'artifactBytes' | 'sourceSha256'> {
  if (spec === null || typeof spec !== 'object')
    throw new ConfigError('ERR_CONFIG_INVALID', 'spec: expected an object');
  const str = (name: keyof ComponentSpec, max: number): string => {
    const v: unknown = spec[name];
    if (typeof v !== 'string' || v.length === 0 || v.length > max) {
      throw new ConfigError(
        'ERR_CONFIG_INVALID',
        `spec.${name}: expected a non-empty string of at most ${max} characters`,
      );
    }
    return v;
  };
  const tenant = str('tenant', 256);
  const identifier = str('identifier', 256);
  const digest = str('digest', 256);
  const entry = str('entry', 128);
  const source = str('source', 64 * 1024 * 1024);
  // Defends against script injection through the entry name: it is evaluated as a bare identifier.
  if (!ENTRY_NAME.test(entry))
    throw new ConfigError('ERR_CONFIG_INVALID', 'spec.entry: expected a JavaScript identifier');
  if (!Number.isSafeInteger(spec.version) || spec.version < 1) {
    throw new ConfigError('ERR_CONFIG_INVALID', 'spec.version: expected an integer >= 1');
  }
  if (spec.bigint !== undefined && typeof spec.bigint !== 'boolean') {
    throw new ConfigError('ERR_CONFIG_INVALID', 'spec.bigint: expected a boolean');
  }
  const bigint = spec.bigint === true;
  const limits = parseSandboxLimits(spec.limits, 'spec.limits');
  const grants = parseCapabilityGrants(spec.grants, 'spec.grants');
  const caps: Record<string, string[]> = {};
  for (const name of Object.keys(grants)) {
    const capability = capabilities.get(name);
    if (capability === undefined) {
      throw new ConfigError(
        'ERR_CONFIG_INVALID',
        `spec.grants: no host capability named ${name} is registered`,
      );
    }
    caps[name] = Object.keys(capability.methods).sort();
  }
  let paramsText: string;
  try {
    paramsText = encodeJson(spec.params, 64 * 1024 * 1024, limits.maxJsonDepth, 'ERR_ARGS_INVALID', 'params');
  } catch (error) {
    throw new EnvelopeError('ERR_JSON_INVALID', (error as Error).message);
  }
  const artifactNames: string[] = [];
  const artifactBytes: Uint8Array[] = [];
  if (spec.artifacts === null || typeof spec.artifacts !== 'object') {
    throw new ConfigError('ERR_CONFIG_INVALID', 'spec.artifacts: expected an object');
  }
  for (const name of Object.keys(spec.artifacts).sort()) {
    const bytes: unknown = spec.artifacts[name];
    if (!(bytes instanceof Uint8Array) || name.length > 256) {
      throw new ConfigError(
        'ERR_CONFIG_INVALID',
        `spec.artifacts.${name.slice(0, 64)}: expected a Uint8Array`,
      );
    }
    artifactNames.push(name);
    // A private copy: later changes to the caller's buffer never reach the isolate.
    artifactBytes.push(Uint8Array.from(bytes));
  }
  // Defends against tenant-controlled paths in stacks and script origins: a fixed, sanitised name.
  const filename = `sealbox:${identifier.replace(/[^A-Za-z0-9._@/-]/g, '_').slice(0, MAX_IDENTIFIER_IN_FILENAME)}`;
  const meta = JSON.stringify({
    tenant,
    identifier,
    version: spec.version,
    params: paramsText,
    caps,
    maxArgBytes: limits.maxArgBytes,
    maxResultBytes: limits.maxResultBytes,
    maxJsonDepth: limits.maxJsonDepth,
    maxCapabilityCalls: limits.maxCapabilityCalls,
    bigint,
  });
  const frozenSpec: ComponentSpec = Object.freeze({
    tenant,
    identifier,
    version: spec.version,
    digest,
    entry,
    source,
    params: spec.params,
    artifacts: spec.artifacts,
    grants,
    limits,
    bigint,
  });
  // Defends against running a different script than this spec's: the worker caches compiled
  // scripts by this digest, so it is computed here from the source itself, never taken from a caller.
  const sourceSha256 = createHash('sha256').update(source, 'utf8').digest('hex');
  return { spec: frozenSpec, filename, meta, artifactNames, artifactBytes, sourceSha256 };
}
