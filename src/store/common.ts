/** Helpers every store backend shares: argument checks, quota arithmetic, typed failures. */
import type { JsonValue } from '../envelope/types.ts';
import { ConfigError, SandboxError } from '../errors.ts';
import { checkRollbackArgs, decideRollback } from '../trust/rollback.ts';
import type { KvQuota, KvUsage, PublishedEnvelope, RollbackMark } from './types.ts';

export { checkRollbackArgs };

/** Most rows one registry read returns, whatever the caller asks. */
export const MAX_REGISTRY_ROWS = 1000;

/**
 * Throws the rollback refusal for a write that did not happen. Marks only ever grow, so the mark
 * read after a refused conditional write is one that refuses this version.
 * @throws TrustError ERR_ROLLBACK, ERR_ROLLBACK_DIGEST; ConfigError ERR_STATE_STORE (never expected)
 */
export function refuseRollback(
  tenant: string,
  identifier: string,
  version: number,
  digest: string,
  seen: RollbackMark | undefined,
): never {
  decideRollback(tenant, identifier, version, digest, seen);
  throw new ConfigError(
    'ERR_STATE_STORE',
    `rollback: the store refused ${tenant}/${identifier} v${version} but holds no mark that explains it`,
  );
}

/** UTF-8 bytes a kv entry counts against maxTotalBytes: its key plus its JSON text. */
export function entryBytes(key: string, valueText: string): number {
  return Buffer.byteLength(key) + Buffer.byteLength(valueText);
}

/**
 * Whether the namespace stays within quota after writing an entry of `newBytes` bytes that
 * replaces one of `oldBytes` (undefined when the key is new).
 * @throws SandboxError ERR_QUOTA_EXCEEDED
 */
export function checkQuota(
  usage: KvUsage,
  oldBytes: number | undefined,
  newBytes: number,
  quota: KvQuota | undefined,
): void {
  if (quota === undefined) return;
  const keys = usage.keys + (oldBytes === undefined ? 1 : 0);
  const bytes = usage.bytes - (oldBytes ?? 0) + newBytes;
  // Defends against one tenant filling the node's memory or disk: keys and bytes are both capped.
  if (oldBytes === undefined && keys > quota.maxKeys) {
    throw new SandboxError('ERR_QUOTA_EXCEEDED', `kv holds ${quota.maxKeys} keys already (maxKeys)`, {
      limit: 'maxKeys',
    });
  }
  if (bytes > quota.maxTotalBytes && newBytes > (oldBytes ?? 0)) {
    throw new SandboxError(
      'ERR_QUOTA_EXCEEDED',
      `kv would hold ${bytes} bytes, more than ${quota.maxTotalBytes} (maxTotalBytes)`,
      { limit: 'maxTotalBytes' },
    );
  }
}

/** Checks a quota object given to `set` (a bad one is a host bug, not a tenant's). */
export function checkQuotaShape(quota: KvQuota | undefined): void {
  if (quota === undefined) return;
  for (const field of ['maxKeys', 'maxTotalBytes'] as const) {
    const value = quota[field];
    if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 0) {
      throw new ConfigError('ERR_CONFIG_INVALID', `kv quota ${field} must be an integer >= 0`);
    }
  }
}

/** JSON text of a value to store. */
export function encodeValue(value: JsonValue): string {
  return JSON.stringify(value ?? null);
}

/**
 * Parses stored JSON text. The store is untrusted storage: a row that is not JSON is a store
 * failure, not a crash.
 * @throws ConfigError ERR_STATE_STORE
 */
export function decodeValue(text: unknown): JsonValue {
  if (typeof text !== 'string') throw new ConfigError('ERR_STATE_STORE', 'kv: stored value is not text');
  try {
    return JSON.parse(text) as JsonValue;
  } catch (error) {
    throw new ConfigError('ERR_STATE_STORE', 'kv: stored value is not JSON', {}, { cause: error });
  }
}

/** UTF-16 code unit order, the order `kv.list` promises. */
export function compareKeys(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** Wraps a backend failure (driver error, lost connection) as ERR_STATE_STORE. */
export function storeFailure(what: string, error: unknown): ConfigError {
  if (error instanceof ConfigError) return error;
  const message = error instanceof Error ? error.message : String(error);
  return new ConfigError(
    'ERR_STATE_STORE',
    `${what}: ${message.slice(0, 300)}`,
    {},
    {
      cause: error,
    },
  );
}

/** Bounds a caller's row limit. */
export function rowLimit(limit: number | undefined): number {
  if (limit === undefined) return MAX_REGISTRY_ROWS;
  if (!Number.isSafeInteger(limit) || limit < 1) {
    throw new ConfigError('ERR_CONFIG_INVALID', 'registry: limit must be an integer >= 1');
  }
  return Math.min(limit, MAX_REGISTRY_ROWS);
}

/** Registry order for candidates: highest version first, then first published first. */
export function candidateOrder(a: PublishedEnvelope, b: PublishedEnvelope): number {
  return b.version - a.version || a.seq - b.seq;
}

/**
 * Polls `lastSeq` every `pollMs` and calls `listener` when it moved. Failures are retried at the
 * next tick (a store that is down must not crash the node). The timer is unref'd.
 */
export function pollForChanges(
  lastSeq: () => Promise<number>,
  listener: () => void,
  pollMs: number,
): () => void {
  let seen: number | undefined;
  let busy = false;
  let stopped = false;
  const tick = async (): Promise<void> => {
    if (busy || stopped) return;
    busy = true;
    try {
      const seq = await lastSeq();
      if (seen !== undefined && seq !== seen && !stopped) listener();
      seen = seq;
    } catch {
      // The store is unreachable: nothing new can be loaded anyway; try again next tick.
    } finally {
      busy = false;
    }
  };
  void tick();
  const timer = setInterval(() => void tick(), Math.max(10, pollMs));
  timer.unref();
  return () => {
    stopped = true;
    clearInterval(timer);
  };
}

/**
 * One change feed per store: every watcher shares a single poller (and, for PostgreSQL, a single
 * LISTEN connection), so a node following many components still polls the store once per period.
 */
export class ChangeFeed {
  readonly #listeners = new Set<() => void>();
  readonly #lastSeq: () => Promise<number>;
  readonly #defaultPollMs: number;
  #stopPolling: (() => void) | undefined;

  constructor(lastSeq: () => Promise<number>, defaultPollMs: number) {
    this.#lastSeq = lastSeq;
    this.#defaultPollMs = defaultPollMs;
  }

  get size(): number {
    return this.#listeners.size;
  }

  /** Adds a listener; the first one starts the poller (at its `pollMs`, or the default). */
  add(listener: () => void, pollMs?: number): () => void {
    this.#listeners.add(listener);
    this.#stopPolling ??= pollForChanges(this.#lastSeq, () => this.notify(), pollMs ?? this.#defaultPollMs);
    return () => {
      this.#listeners.delete(listener);
      if (this.#listeners.size === 0) {
        this.#stopPolling?.();
        this.#stopPolling = undefined;
      }
    };
  }

  /** Tells every listener that something may have changed. */
  notify(): void {
    for (const listener of [...this.#listeners]) listener();
  }

  clear(): void {
    this.#listeners.clear();
    this.#stopPolling?.();
    this.#stopPolling = undefined;
  }
}
