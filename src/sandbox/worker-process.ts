/**
 * One sandbox worker process (one incarnation of a worker slot): spawn, frames in and out,
 * requests awaiting their answer, heartbeat, kill, and the cause of its death.
 *
 * Nothing from the process is trusted: every frame is bounded, every message type-checked by its
 * reader. A death is classified only once the process has really exited and its stderr is fully
 * read (the socket's ECONNRESET arrives before the exit; the markers a dying worker writes to
 * stderr arrive with the exit).
 */
import { spawn as spawnProcess, type ChildProcess } from 'node:child_process';
import type { Socket } from 'node:net';
import { SandboxError } from '../errors.ts';
import {
  decodeAnswer,
  decodeFrame,
  encodeCallFrame,
  encodeJsonFrame,
  encodeLoadFrame,
  FATAL_MARKER,
  FrameReader,
  HOST_FD,
  RUNAWAY_MARKER,
  type Answer,
  type HostMessage,
  type WorkerMessage,
} from './protocol.ts';
import { jailCommand, jailSpawnIds, type Jail } from './jail.ts';
import { workerCommand } from './spawn-args.ts';
import { NotStartedError } from './scheduler.ts';
import { heartbeatMissMs } from './time-model.ts';

/** Largest frame a worker may send before it holds a component (ready, pong, errors). */
export const BASE_FRAME_BYTES = 1024 * 1024;
/** How long a dead pipe waits for the process's exit (and the rest of its stderr). */
const EXIT_WAIT_MS = 2000;

/** Why a worker process is gone, as far as the host can tell. */
export interface WorkerDeath {
  /** the host killed it: broken protocol, no heartbeat, a runaway op, its memory cap, or close() */
  readonly killedBy: 'protocol' | 'heartbeat' | 'backstop' | 'memory' | 'close' | undefined;
  /** tenants with an op in flight when the worker was killed for its memory cap */
  readonly overMemory: ReadonlySet<string>;
  /** tenants whose isolate lost control (V8 catastrophic error, typically out of memory) */
  readonly fatal: ReadonlySet<string>;
  /** tenants whose isolate kept running after termination (stuck notice or runaway marker) */
  readonly runaway: ReadonlySet<string>;
}

/** What a worker process reports to its owner. */
export interface WorkerEvents {
  /** the worker booted and can take requests */
  readonly onReady: (worker: WorkerProcess) => void;
  /** a capability request from an isolate */
  readonly onCapability: (worker: WorkerProcess, message: Extract<WorkerMessage, { t: 'cap' }>) => void;
  /** these component keys were lost with their tenant's isolate */
  readonly onLost: (worker: WorkerProcess, keys: readonly unknown[]) => void;
  /** this tenant's isolate was disposed while its thread was still running */
  readonly onLingering: (worker: WorkerProcess, tenant: string) => void;
  /** that isolate returned its thread */
  readonly onReleased: (worker: WorkerProcess, tenant: string) => void;
  /** this tenant's disposed isolate still holds its thread: it ignored termination */
  readonly onStuck: (worker: WorkerProcess, tenant: string) => void;
  /** the process is gone; every request it held has been settled */
  readonly onGone: (worker: WorkerProcess, death: WorkerDeath) => void;
}

interface Pending {
  readonly tenant: string;
  readonly resolve: (answer: Answer) => void;
  readonly reject: (error: Error) => void;
  readonly timer: NodeJS.Timeout | undefined;
  /** it may have had effects: sent unpipelined, or its component asked for a capability since */
  begun: boolean;
  /** the component a pipelined call is for */
  readonly key: number | undefined;
}

let nextRequestId = 0;
let nextTenantKey = 0;

/** One worker process; see the module comment. */
export class WorkerProcess {
  /** component key → the owner's record of that component (keys are unique per supervisor) */
  readonly records = new Map<number, unknown>();
  /** tenant → the small integer naming it inside this process */
  readonly tenantKeys = new Map<string, number>();
  /** resolves once the process has exited (or never started) */
  readonly exited: Promise<void>;
  ready = false;
  /** reached `ready` once (a worker that dies before is not respawned eagerly) */
  booted = false;
  gone = false;
  /** tenants the worker reported stuck (a terminated isolate that kept its thread) */
  readonly stuck = new Set<string>();
  /** tenants with a disposed isolate whose thread has not returned yet */
  readonly #lingering = new Set<string>();
  /** largest frame accepted from the worker (grows with the limits of the components it holds) */
  maxFrame = BASE_FRAME_BYTES;
  readonly #proc: ChildProcess;
  readonly #pipe: Socket;
  readonly #events: WorkerEvents;
  readonly #pending = new Map<number, Pending>();
  /** pipelined calls not yet `begun`, by component key */
  readonly #unbegun = new Map<number, Set<number>>();
  #outbox: Buffer[] = [];
  #flushScheduled = false;
  #stderr = '';
  #lastPong = performance.now();
  #pingSent = 0;
  #killedBy: WorkerDeath['killedBy'];
  #overMemory: ReadonlySet<string> = new Set();
  #dying: NodeJS.Timeout | undefined;

  constructor(events: WorkerEvents, jail: Jail | undefined) {
    this.#events = events;
    const inner = workerCommand();
    // The jail (bwrap) keeps fd 3 open across its exec: the socket pair reaches the worker as is.
    const { command, args } = jail === undefined ? inner : jailCommand(jail, inner);
    // A dedicated Unix socket pair at the worker's fd 3 carries length-prefixed frames (protocol.ts):
    // cheaper per message than Node's IPC channel, and every frame from the worker is bounded.
    const proc = spawnProcess(command, [...args], {
      // Defends against secret theft after a full isolate escape: the worker sees no host variables.
      env: {},
      stdio: ['ignore', 'ignore', 'pipe', 'pipe'],
      ...(jail === undefined ? {} : jailSpawnIds(jail)),
    });
    this.#proc = proc;
    this.#pipe = proc.stdio[HOST_FD] as Socket;
    proc.stderr?.setEncoding('utf8');
    proc.stderr?.on('data', (chunk: string) => {
      // Keep only a short tail: a hostile worker may write without end.
      this.#stderr = (this.#stderr + chunk).slice(-4096);
    });
    const reader = new FrameReader(() => this.maxFrame);
    this.#pipe.on('data', (chunk: Buffer) => {
      if (this.gone) return;
      try {
        for (const body of reader.push(chunk)) {
          this.#onMessage(decodeFrame(body));
          if (this.gone) return;
        }
      } catch {
        // Defends against a broken or compromised worker: an oversized or malformed frame ends it.
        this.kill('protocol');
      }
    });
    // The pipe breaks first when the process dies (ECONNRESET): wait for the exit, which brings
    // the rest of stderr, before deciding why it died.
    this.#pipe.on('error', () => this.#awaitExit());
    this.#pipe.on('close', () => this.#awaitExit());
    this.exited = new Promise<void>((resolve) => {
      proc.once('close', () => {
        this.#retire();
        resolve();
      });
      // A process that never started (spawn failure) emits 'error' and may never emit 'close'.
      proc.on('error', () => {
        if (proc.pid === undefined) {
          this.#retire();
          resolve();
        }
      });
    });
    // Idle workers must not keep the embedding app alive; in-flight calls hold their own timers.
    proc.unref();
    this.#pipe.unref();
  }

  /** The process id, when it started. */
  get pid(): number | undefined {
    return this.#proc.pid;
  }

  /** Ops sent and not answered. */
  get pendingCount(): number {
    return this.#pending.size;
  }

  /** The small integer naming `tenant` inside this process. */
  tenantKey(tenant: string): number {
    let key = this.tenantKeys.get(tenant);
    if (key === undefined) {
      key = ++nextTenantKey;
      this.tenantKeys.set(tenant, key);
    }
    return key;
  }

  /**
   * Sends a load or call and resolves its decoded answer. Past `backstopMs` without an answer the
   * worker is broken (its own meter and checks should have answered long before) and is killed.
   *
   * `pipelinedKey`: a call sent behind its tenant's running calls of component `pipelinedKey`. Only
   * capabilities (which run here, in the host) let a call reach outside its isolate, and the
   * isolate dies with the worker. So until the component asks for a capability, a worker death
   * hands the call back (NotStartedError) to run again on the replacement: it either never ran or
   * left no trace. From the first capability request on, any of the component's pipelined calls may
   * have made it, and a death fails them as it fails the running one.
   * @throws SandboxError when the process dies first (code from the cause of death)
   * @throws NotStartedError when it dies before a pipelined call could have had an effect
   */
  request(
    tenant: string,
    build: (id: number) => HostMessage,
    backstopMs: number,
    pipelinedKey?: number,
  ): Promise<Answer> {
    const id = ++nextRequestId;
    return new Promise((resolve, reject) => {
      if (this.gone) {
        reject(new SandboxError('ERR_SANDBOX_CRASHED', 'the sandbox worker is gone'));
        return;
      }
      const timer =
        backstopMs > 0 ? setTimeout(() => this.kill('backstop'), Math.ceil(backstopMs)) : undefined;
      this.#pending.set(id, {
        tenant,
        resolve,
        reject,
        timer,
        begun: pipelinedKey === undefined,
        key: pipelinedKey,
      });
      if (pipelinedKey !== undefined) {
        let ids = this.#unbegun.get(pipelinedKey);
        if (ids === undefined) this.#unbegun.set(pipelinedKey, (ids = new Set()));
        ids.add(id);
      }
      this.send(build(id));
    });
  }

  /** Queues a message; everything queued in one tick leaves in one write. */
  send(message: HostMessage): void {
    if (this.gone) return;
    this.#outbox.push(
      message.t === 'call'
        ? encodeCallFrame(message)
        : message.t === 'load'
          ? encodeLoadFrame(message)
          : encodeJsonFrame(message),
    );
    if (this.ready && !this.#flushScheduled) {
      this.#flushScheduled = true;
      queueMicrotask(() => this.#flush());
    }
  }

  /** One heartbeat tick: kills a worker silent for seconds, else pings it. */
  heartbeat(now: number, periodMs: number): void {
    if (this.gone || !this.ready) return;
    // A worker that stops answering (wedged by V8, blocked, stopped) is broken: killed, replaced.
    if (this.#pingSent > this.#lastPong && now - this.#lastPong > heartbeatMissMs(periodMs)) {
      this.kill('heartbeat');
      return;
    }
    if (this.#pingSent <= this.#lastPong) {
      this.#pingSent = now;
      this.send({ t: 'ping', n: Math.floor(now) });
    }
  }

  /** Tenants with an op in flight (sent, not answered). */
  tenantsInFlight(): Set<string> {
    return new Set([...this.#pending.values()].map((op) => op.tenant));
  }

  /**
   * The tenant a worker's key names. Defends against a compromised worker naming a tenant it does
   * not hold: only a key this host assigned maps to a tenant.
   */
  #tenantOf(key: unknown): string | undefined {
    if (typeof key !== 'number') return undefined;
    for (const [tenant, k] of this.tenantKeys) if (k === key) return tenant;
    return undefined;
  }

  /** Kills the process and settles everything it held at once; its late messages are ignored. */
  kill(by: NonNullable<WorkerDeath['killedBy']>): void {
    if (!this.gone) this.#killedBy = by;
    // A stuck isolate (terminated, still running) is the likeliest owner of memory nobody
    // accounts for: it is charged, and the calls in flight of other tenants are not.
    if (by === 'memory' && !this.gone) {
      const culprits = new Set([...this.stuck, ...this.#lingering]);
      this.#overMemory = culprits.size > 0 ? culprits : this.tenantsInFlight();
      // A tenant whose disposed isolate was still running when the cap was hit took this worker
      // down: it is quarantined like a runaway.
      for (const tenant of this.#lingering) this.stuck.add(tenant);
    }
    this.#signal();
    this.#retire();
  }

  /** Keeps the embedding app alive until this process has exited (close()). */
  ref(): void {
    this.#proc.ref();
  }

  #signal(): void {
    if (this.#proc.exitCode === null && this.#proc.signalCode === null) this.#proc.kill('SIGKILL');
  }

  #awaitExit(): void {
    if (this.gone || this.#dying !== undefined) return;
    this.#signal();
    // Bounded: a process whose exit never arrives is retired anyway.
    this.#dying = setTimeout(() => this.#retire(), EXIT_WAIT_MS);
    this.#dying.unref();
  }

  #flush(): void {
    this.#flushScheduled = false;
    if (!this.ready || this.gone || this.#outbox.length === 0) return;
    const batch = this.#outbox;
    this.#outbox = [];
    // One write (one syscall) for everything queued in this tick.
    this.#pipe.write(batch.length === 1 ? batch[0]! : Buffer.concat(batch));
  }

  #onMessage(raw: unknown): void {
    if (raw === null || typeof raw !== 'object') return;
    const message = raw as WorkerMessage;
    switch (message.t) {
      case 'ready':
        if (this.ready) return;
        this.ready = true;
        this.booted = true;
        this.#lastPong = performance.now();
        if (this.#outbox.length > 0) this.#flush();
        this.#events.onReady(this);
        return;
      case 'pong':
        this.#lastPong = performance.now();
        return;
      case 'done': {
        if (typeof message.id !== 'number') return;
        const op = this.#pending.get(message.id);
        if (op === undefined) return;
        this.#pending.delete(message.id);
        if (op.key !== undefined) this.#forget(op.key, message.id);
        clearTimeout(op.timer);
        // A live worker's NOT_STARTED is trusted even for a call that is `begun`: the worker knows
        // from the meter slot which calls entered (`begun` is the host's guess for a dead worker).
        // A compromised worker gains nothing by lying here that it cannot get by sending the
        // component's capability requests itself.
        op.resolve(decodeAnswer(message));
        return;
      }
      case 'cap': {
        // Before the capability runs: every pipelined call of this component may now have effects.
        const ids = typeof message.key === 'number' ? this.#unbegun.get(message.key) : undefined;
        if (ids !== undefined) {
          this.#unbegun.delete(message.key as number);
          for (const id of ids) {
            const op = this.#pending.get(id);
            if (op !== undefined) op.begun = true;
          }
        }
        this.#events.onCapability(this, message);
        return;
      }
      case 'lost': {
        if (Array.isArray(message.keys)) this.#events.onLost(this, message.keys);
        const tenant = this.#tenantOf(message.tenantKey);
        if (tenant !== undefined && message.running === true) {
          this.#lingering.add(tenant);
          this.#events.onLingering(this, tenant);
        }
        return;
      }
      case 'released': {
        const tenant = this.#tenantOf(message.tenantKey);
        if (tenant !== undefined && this.#lingering.delete(tenant)) this.#events.onReleased(this, tenant);
        return;
      }
      case 'stuck': {
        const tenant = this.#tenantOf(message.tenantKey);
        if (tenant === undefined || this.stuck.has(tenant)) return;
        this.stuck.add(tenant);
        this.#events.onStuck(this, tenant);
        return;
      }
      default:
        return;
    }
  }

  #forget(key: number, id: number): void {
    const ids = this.#unbegun.get(key);
    if (ids === undefined) return;
    ids.delete(id);
    if (ids.size === 0) this.#unbegun.delete(key);
  }

  /** The process is gone: classify the death, settle every request, tell the owner. */
  #retire(): void {
    if (this.gone) return;
    this.gone = true;
    this.ready = false;
    clearTimeout(this.#dying);
    this.#pipe.destroy();
    this.#outbox = [];
    const death = this.#death();
    const pending = [...this.#pending.values()];
    this.#pending.clear();
    this.#unbegun.clear();
    const blamed = new Set([...death.fatal, ...death.overMemory, ...death.runaway]);
    for (const op of pending) {
      clearTimeout(op.timer);
      // A pipelined call that left no trace runs again on the replacement (see request), unless
      // its tenant took the worker down: its calls fail with the cause.
      op.reject(
        op.begun || blamed.has(op.tenant)
          ? errorOf(op.tenant, death)
          : new NotStartedError('its worker died before it could have had an effect'),
      );
    }
    this.#events.onGone(this, death);
  }

  #death(): WorkerDeath {
    const named = (marker: string): Set<string> => {
      const keys = new Set<number>();
      for (const match of this.#stderr.matchAll(new RegExp(`${marker} (\\d+)`, 'g')))
        keys.add(Number(match[1]));
      const tenants = new Set<string>();
      for (const [tenant, key] of this.tenantKeys) if (keys.has(key)) tenants.add(tenant);
      return tenants;
    };
    return {
      killedBy: this.#killedBy,
      overMemory: this.#overMemory,
      fatal: named(FATAL_MARKER),
      runaway: new Set([...named(RUNAWAY_MARKER), ...this.stuck]),
    };
  }
}

/** The error a request of `tenant` gets when its worker died this way. */
export function errorOf(tenant: string, death: WorkerDeath): SandboxError {
  if (death.killedBy === 'close') return new SandboxError('ERR_SANDBOX_CLOSED', 'the supervisor is closed');
  if (death.fatal.has(tenant) || death.overMemory.has(tenant)) {
    return new SandboxError(
      'ERR_MEMORY_LIMIT',
      'the isolate ran out of its memory limit; its worker was replaced',
    );
  }
  if (death.runaway.has(tenant)) {
    return new SandboxError(
      'ERR_TIMEOUT',
      'the isolate kept running past its budget; its worker was replaced',
    );
  }
  return new SandboxError(
    'ERR_SANDBOX_CRASHED',
    'the sandbox worker died while running this call; it was replaced',
  );
}
