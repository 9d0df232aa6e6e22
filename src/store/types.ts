/**
 * What the nodes of a fleet share, as interfaces: rollback high-water marks, the `kv` capability's
 * data, and the registry of published envelopes. Every operation is async (a store may be a
 * database across the network). The store is untrusted storage: whatever a node reads from it is
 * verified again (keyring, rollback, policy) before it runs.
 */
import type { JsonValue } from '../envelope/types.ts';

/** The highest version accepted for one (tenant, identifier), with its statement digest. */
export interface RollbackMark {
  readonly version: number;
  readonly digest: string;
}

/** Rollback high-water marks. */
export interface RollbackMarks {
  /** The mark of (tenant, identifier), or undefined when nothing was accepted yet. */
  highest(tenant: string, identifier: string): Promise<RollbackMark | undefined>;
  /**
   * Records (version, digest) as accepted in one atomic conditional write: it succeeds when the
   * version is higher than the mark, or equal with the same digest; otherwise it throws and
   * writes nothing. Never read-then-write.
   * @throws TrustError ERR_ROLLBACK, ERR_ROLLBACK_DIGEST; ConfigError ERR_STATE_STORE
   */
  record(tenant: string, identifier: string, version: number, digest: string): Promise<void>;
}

/** Per-namespace kv limits, enforced by the store in the same atomic step as the write. */
export interface KvQuota {
  /** most keys in the namespace */
  readonly maxKeys: number;
  /** most bytes in the namespace: UTF-8 bytes of every key plus its JSON-encoded value */
  readonly maxTotalBytes: number;
}

/** What one namespace holds. */
export interface KvUsage {
  readonly keys: number;
  readonly bytes: number;
}

/** A namespaced store of JSON values (the namespace is always the tenant, chosen by the host). */
export interface KvStore {
  /** The value, or null when the key is absent. */
  get(ns: string, key: string): Promise<JsonValue | null>;
  /**
   * Stores `value` under `key` if the namespace stays within `quota` afterwards (a replaced value
   * counts its new size, not both). Check and write are one atomic step, across processes too.
   * @throws SandboxError ERR_QUOTA_EXCEEDED; ConfigError ERR_STATE_STORE
   */
  set(ns: string, key: string, value: JsonValue, quota?: KvQuota): Promise<void>;
  delete(ns: string, key: string): Promise<void>;
  /** Keys of `ns` starting with `prefix`, sorted (UTF-16 code unit order). */
  list(ns: string, prefix: string): Promise<string[]>;
  /** Number of keys in `ns`. */
  count(ns: string): Promise<number>;
  /** Keys and bytes in `ns`. */
  usage(ns: string): Promise<KvUsage>;
  close?(): void | Promise<void>;
}

/** One published envelope, as the registry lists it (fields read from the unverified statement). */
export interface PublishedSummary {
  readonly tenant: string;
  readonly identifier: string;
  readonly version: number;
  /** hex SHA-256 of the statement payload */
  readonly digest: string;
  /** hex SHA-256 of the envelope text: the row's identity */
  readonly envelopeHash: string;
  /** ISO time the store recorded it */
  readonly publishedAt: string;
  /** store-assigned, increasing with every publish */
  readonly seq: number;
}

/** A published envelope with its text. */
export interface PublishedEnvelope extends PublishedSummary {
  readonly envelope: string;
}

/** The registry of published envelopes. Publishing trusts nothing; reading verifies everything. */
export interface Registry {
  /**
   * Stores an envelope under its (unverified) statement's tenant, identifier and version.
   * @returns false when the very same envelope text was already published
   */
  put(entry: Omit<PublishedEnvelope, 'publishedAt' | 'seq'>): Promise<boolean>;
  /** Summaries, newest first, optionally of one tenant; at most `limit` (default 1000). */
  list(filter?: { readonly tenant?: string; readonly limit?: number }): Promise<PublishedSummary[]>;
  /**
   * Envelopes of (tenant, identifier) with a version above `above` (default 0): highest version
   * first, then first published first; at most `limit` rows, after skipping `offset`.
   */
  candidates(
    tenant: string,
    identifier: string,
    options: { readonly above?: number; readonly limit: number; readonly offset?: number },
  ): Promise<PublishedEnvelope[]>;
  /** The highest `seq` so far (0 when empty): a cheap change detector for polling. */
  lastSeq(): Promise<number>;
  /**
   * Calls `listener` soon after something is published (by any process). PostgreSQL uses
   * LISTEN/NOTIFY plus polling; other stores poll. Returns a function that stops watching.
   */
  watch(listener: () => void, options?: { readonly pollMs?: number }): () => void;
}

/** Which backend a store is. */
export type StoreKind = 'memory' | 'sqlite' | 'postgres';

/** One store: what a fleet's nodes share. */
export interface Store {
  readonly kind: StoreKind;
  /** Where it is, for messages (a URL without its password, or a file path). */
  readonly location: string;
  readonly rollback: RollbackMarks;
  readonly kv: KvStore;
  readonly registry: Registry;
  /** Resolves once the schema is created or migrated; rejects with ERR_STATE_STORE. */
  ready(): Promise<void>;
  /** Releases connections and files. Idempotent. */
  close(): Promise<void>;
}
