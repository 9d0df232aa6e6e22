/** A store in this process's memory: one node, lost on restart (tests, ephemeral nodes). */
import type { JsonValue } from '../envelope/types.ts';
import { ConfigError } from '../errors.ts';
import {
  candidateOrder,
  checkQuota,
  checkQuotaShape,
  checkRollbackArgs,
  compareKeys,
  decodeValue,
  encodeValue,
  entryBytes,
  pollForChanges,
  refuseRollback,
  rowLimit,
} from './common.ts';
import type {
  KvQuota,
  KvStore,
  KvUsage,
  PublishedEnvelope,
  PublishedSummary,
  Registry,
  RollbackMark,
  RollbackMarks,
  Store,
} from './types.ts';

// Defends against key collisions between (a, b\0c) and (a\0b, c): an unambiguous encoding.
const pairKey = (a: string, b: string): string => JSON.stringify([a, b]);

/** Rollback marks in a Map; each check-and-write runs without an await, so it is atomic. */
export class MemoryRollbackMarks implements RollbackMarks {
  readonly #marks = new Map<string, RollbackMark>();

  async highest(tenant: string, identifier: string): Promise<RollbackMark | undefined> {
    const mark = this.#marks.get(pairKey(tenant, identifier));
    return mark === undefined ? undefined : { ...mark };
  }

  async record(tenant: string, identifier: string, version: number, digest: string): Promise<void> {
    checkRollbackArgs(tenant, identifier, version, digest);
    const key = pairKey(tenant, identifier);
    const seen = this.#marks.get(key);
    if (seen === undefined || seen.version < version) this.#marks.set(key, { version, digest });
    else if (seen.version !== version || seen.digest !== digest)
      refuseRollback(tenant, identifier, version, digest, seen);
  }
}

/** kv in Maps of JSON text (every read is a fresh copy). */
export class MemoryKvStore implements KvStore {
  readonly #spaces = new Map<string, { entries: Map<string, string>; bytes: number }>();

  #space(ns: string): { entries: Map<string, string>; bytes: number } {
    let space = this.#spaces.get(ns);
    if (space === undefined) {
      space = { entries: new Map(), bytes: 0 };
      this.#spaces.set(ns, space);
    }
    return space;
  }

  async get(ns: string, key: string): Promise<JsonValue | null> {
    const text = this.#spaces.get(ns)?.entries.get(key);
    return text === undefined ? null : decodeValue(text);
  }

  async set(ns: string, key: string, value: JsonValue, quota?: KvQuota): Promise<void> {
    checkQuotaShape(quota);
    const text = encodeValue(value);
    const space = this.#space(ns);
    const old = space.entries.get(key);
    const oldBytes = old === undefined ? undefined : entryBytes(key, old);
    const newBytes = entryBytes(key, text);
    checkQuota({ keys: space.entries.size, bytes: space.bytes }, oldBytes, newBytes, quota);
    space.entries.set(key, text);
    space.bytes += newBytes - (oldBytes ?? 0);
  }

  async delete(ns: string, key: string): Promise<void> {
    const space = this.#spaces.get(ns);
    const old = space?.entries.get(key);
    if (space === undefined || old === undefined) return;
    space.entries.delete(key);
    space.bytes -= entryBytes(key, old);
  }

  async list(ns: string, prefix: string): Promise<string[]> {
    const space = this.#spaces.get(ns);
    if (space === undefined) return [];
    return [...space.entries.keys()].filter((k) => k.startsWith(prefix)).sort(compareKeys);
  }

  async count(ns: string): Promise<number> {
    return this.#spaces.get(ns)?.entries.size ?? 0;
  }

  async usage(ns: string): Promise<KvUsage> {
    const space = this.#spaces.get(ns);
    return { keys: space?.entries.size ?? 0, bytes: space?.bytes ?? 0 };
  }
}

/** The registry in an array; watchers are told synchronously after each new publish. */
export class MemoryRegistry implements Registry {
  readonly #rows: PublishedEnvelope[] = [];
  readonly #listeners = new Set<() => void>();

  async put(entry: Omit<PublishedEnvelope, 'publishedAt' | 'seq'>): Promise<boolean> {
    if (this.#rows.some((row) => row.envelopeHash === entry.envelopeHash)) return false;
    this.#rows.push(
      Object.freeze({ ...entry, publishedAt: new Date().toISOString(), seq: this.#rows.length + 1 }),
    );
    for (const listener of this.#listeners) queueMicrotask(listener);
    return true;
  }

  async list(
    filter: { readonly tenant?: string; readonly limit?: number } = {},
  ): Promise<PublishedSummary[]> {
    const limit = rowLimit(filter.limit);
    return this.#rows
      .filter((row) => filter.tenant === undefined || row.tenant === filter.tenant)
      .sort((a, b) => b.seq - a.seq)
      .slice(0, limit)
      .map(({ envelope: _envelope, ...summary }) => summary);
  }

  async candidates(
    tenant: string,
    identifier: string,
    options: { readonly above?: number; readonly limit: number; readonly offset?: number },
  ): Promise<PublishedEnvelope[]> {
    const above = options.above ?? 0;
    return this.#rows
      .filter((row) => row.tenant === tenant && row.identifier === identifier && row.version > above)
      .sort(candidateOrder)
      .slice(options.offset ?? 0)
      .slice(0, rowLimit(options.limit));
  }

  async lastSeq(): Promise<number> {
    return this.#rows.length;
  }

  watch(listener: () => void, options: { readonly pollMs?: number } = {}): () => void {
    this.#listeners.add(listener);
    const stopPolling =
      options.pollMs === undefined
        ? () => undefined
        : pollForChanges(() => this.lastSeq(), listener, options.pollMs);
    return () => {
      this.#listeners.delete(listener);
      stopPolling();
    };
  }
}

/** Everything in memory, for one process. */
export class MemoryStore implements Store {
  readonly kind = 'memory';
  readonly location = 'memory:';
  readonly rollback = new MemoryRollbackMarks();
  readonly kv = new MemoryKvStore();
  readonly registry = new MemoryRegistry();
  #closed = false;

  async ready(): Promise<void> {
    if (this.#closed) throw new ConfigError('ERR_STATE_STORE', 'the store is closed');
  }

  async close(): Promise<void> {
    this.#closed = true;
  }
}
