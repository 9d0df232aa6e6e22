/**
 * The supervisor's options and a call's options: their shapes, defaults and the checks that refuse
 * anything else (unknown keys, getters, out-of-range numbers, a forged jail) before any work.
 */
import { ConfigError } from '../errors.ts';
import type { HostCapability, LogEntry } from './capabilities.ts';
import { detectJail, type Jail } from './jail.ts';
import type { KvStore } from './kv-store.ts';
import { DEFAULT_DEADLINE_MS, DEFAULT_MAX_QUEUED_PER_WORKER } from './time-model.ts';

/** Options of {@link createSupervisor}; every one has a safe default. */
export interface SupervisorOptions {
  /** worker slots (processes serving tenants) in the pool (default 2, at most 64) */
  readonly workers?: number;
  /** receives `host.log(...)` entries (default: dropped) */
  readonly logger?: (entry: LogEntry) => void;
  /** backing store of the `kv` capability (default: a new MemoryKvStore) */
  readonly kv?: KvStore;
  /** extra host capabilities components may be granted (names must not be `log` or `kv`) */
  readonly capabilities?: readonly HostCapability[];
  /** heartbeat period in ms (default 1000); a worker silent for max(3 s, 3 periods) is replaced */
  readonly heartbeatMs?: number;
  /** default wall-clock deadline of a load or call, ms (default max(10 s, 3 x its callTimeoutMs)) */
  readonly deadlineMs?: number;
  /** ops waiting on the host per worker before ERR_OVERLOADED (default 256) */
  readonly maxQueuedPerWorker?: number;
  /** keep one booted spare worker to replace a dead one at once (default true) */
  readonly spareWorker?: boolean;
  /** run workers inside this OS jail (from `resolveJail` in jail.ts; default: not jailed) */
  readonly jail?: Jail | undefined;
  /**
   * hard cap on each worker's resident memory in MiB (default: sized from the components it holds,
   * see memory-cap.ts); a worker above it is killed, its in-flight tenants get ERR_MEMORY_LIMIT
   */
  readonly workerMemoryCapMb?: number;
}

/** Per-call options of {@link SandboxedComponent.invoke}. */
export interface InvokeOptions {
  /** wall-clock deadline from now, ms (default: the supervisor's) */
  readonly deadlineMs?: number;
  /** aborts the call: a waiting call is cancelled, a running one is no longer awaited */
  readonly signal?: AbortSignal;
}

const SUPERVISOR_OPTIONS: ReadonlySet<string> = new Set([
  'workers',
  'logger',
  'kv',
  'capabilities',
  'heartbeatMs',
  'deadlineMs',
  'maxQueuedPerWorker',
  'spareWorker',
  'jail',
  'workerMemoryCapMb',
]);

export function parseOptions(options: SupervisorOptions): {
  workers: number;
  heartbeatMs: number;
  deadlineMs: number;
  maxQueuedPerWorker: number;
  spareWorker: boolean;
  jail: Jail | undefined;
  workerMemoryCapMb: number | undefined;
} {
  if (options === null || typeof options !== 'object') {
    throw new ConfigError('ERR_CONFIG_INVALID', 'supervisor options: expected an object');
  }
  for (const key of Reflect.ownKeys(options)) {
    // A misspelt option is an error, never a silently ignored security knob.
    if (typeof key !== 'string' || !SUPERVISOR_OPTIONS.has(key)) {
      throw new ConfigError('ERR_CONFIG_INVALID', `unknown supervisor option ${String(key).slice(0, 64)}`);
    }
  }
  const int = (name: string, value: unknown, fallback: number, min: number, max: number): number => {
    const v = value ?? fallback;
    if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max) {
      throw new ConfigError(
        'ERR_CONFIG_INVALID',
        `${name}: expected an integer in [${min}, ${max}], got ${String(v)}`,
      );
    }
    return v;
  };
  const jail = options.jail;
  // Defends against a forged jail description (another program in place of bwrap, fewer binds):
  // only the one this process's detection produced is accepted.
  if (jail !== undefined && jail !== detectJail().jail) {
    throw new ConfigError('ERR_CONFIG_INVALID', 'jail: expected the Jail returned by resolveJail');
  }
  if (options.spareWorker !== undefined && typeof options.spareWorker !== 'boolean') {
    throw new ConfigError('ERR_CONFIG_INVALID', 'spareWorker: expected a boolean');
  }
  return {
    workers: int('workers', options.workers, 2, 1, 64),
    heartbeatMs: int('heartbeatMs', options.heartbeatMs, 1000, 10, 600_000),
    deadlineMs: int('deadlineMs', options.deadlineMs, DEFAULT_DEADLINE_MS, 1, 3_600_000),
    maxQueuedPerWorker: int(
      'maxQueuedPerWorker',
      options.maxQueuedPerWorker,
      DEFAULT_MAX_QUEUED_PER_WORKER,
      0,
      1_000_000,
    ),
    spareWorker: options.spareWorker ?? true,
    jail,
    workerMemoryCapMb:
      options.workerMemoryCapMb === undefined
        ? undefined
        : int('workerMemoryCapMb', options.workerMemoryCapMb, 0, 64, 1_048_576),
  };
}

/**
 * Checks per-call options: own keys only, `deadlineMs` an integer in [1, 3600000], `signal` an
 * AbortSignal.
 * @throws ConfigError ERR_CONFIG_INVALID
 */
export function parseInvokeOptions(options: InvokeOptions | undefined): InvokeOptions | undefined {
  if (options === undefined) return undefined;
  if (options === null || typeof options !== 'object') {
    throw new ConfigError('ERR_CONFIG_INVALID', 'call options: expected an object');
  }
  const out: { deadlineMs?: number; signal?: AbortSignal } = {};
  for (const key of Reflect.ownKeys(options)) {
    const descriptor = Object.getOwnPropertyDescriptor(options, key);
    // Defends against getters (a value that changes between check and use) and misspelt options:
    // own data properties of known names only; an accessor is refused, never silently dropped.
    if (descriptor !== undefined && !('value' in descriptor)) {
      throw new ConfigError(
        'ERR_CONFIG_INVALID',
        `call option ${String(key).slice(0, 64)}: expected a data property`,
      );
    }
    const value: unknown = descriptor?.value;
    if (key === 'deadlineMs' && value !== undefined) {
      if (typeof value !== 'number' || !Number.isInteger(value) || value < 1 || value > 3_600_000) {
        throw new ConfigError('ERR_CONFIG_INVALID', 'deadlineMs: expected an integer in [1, 3600000]');
      }
      out.deadlineMs = value;
    } else if (key === 'signal' && value !== undefined) {
      if (!(value instanceof AbortSignal)) {
        throw new ConfigError('ERR_CONFIG_INVALID', 'signal: expected an AbortSignal');
      }
      out.signal = value;
    } else if (value !== undefined || (key !== 'deadlineMs' && key !== 'signal')) {
      throw new ConfigError('ERR_CONFIG_INVALID', `unknown call option ${String(key).slice(0, 64)}`);
    }
  }
  return out;
}
