/**
 * A store in one node:sqlite file: the embedded default for one machine. Several processes may
 * share the file (WAL journal, busy timeout); every check-and-write runs in one BEGIN IMMEDIATE
 * transaction or one conditional statement, so the write lock is held from check to write.
 */
import { DatabaseSync, type SQLInputValue } from 'node:sqlite';
import type { JsonValue } from '../envelope/types.ts';
import { ConfigError, SandboxError, TrustError } from '../errors.ts';
import {
  checkQuota,
  checkQuotaShape,
  checkRollbackArgs,
  compareKeys,
  decodeValue,
  encodeValue,
  entryBytes,
  ChangeFeed,
  refuseRollback,
  rowLimit,
  storeFailure,
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

/** The schema version this code writes; a newer file is refused rather than misread. */
export const SQLITE_SCHEMA_VERSION = 1;

/** How long a write waits for another process's lock before failing with ERR_STATE_STORE. */
const BUSY_TIMEOUT_MS = 1000;

/** Default poll period of the registry watcher (SQLite has no notifications). */
const DEFAULT_POLL_MS = 500;

type Row = Record<string, SQLInputValue>;

function migrate(db: DatabaseSync): void {
  db.exec('BEGIN IMMEDIATE');
  try {
    db.exec('CREATE TABLE IF NOT EXISTS sealbox_meta (key TEXT PRIMARY KEY, value TEXT NOT NULL) STRICT');
    const row = db.prepare("SELECT value FROM sealbox_meta WHERE key = 'schema_version'").get() as
      Row | undefined;
    const current = row === undefined ? 0 : Number(row['value']);
    if (!Number.isSafeInteger(current) || current > SQLITE_SCHEMA_VERSION) {
      throw new ConfigError(
        'ERR_STATE_STORE',
        `the store's schema version ${String(row?.['value'])} is newer than this sealbox understands (${SQLITE_SCHEMA_VERSION})`,
      );
    }
    if (current < 1) {
      db.exec(
        'CREATE TABLE IF NOT EXISTS sealbox_rollback (tenant TEXT NOT NULL, identifier TEXT NOT NULL, ' +
          'version INTEGER NOT NULL, digest TEXT NOT NULL, PRIMARY KEY (tenant, identifier)) STRICT',
      );
      db.exec(
        'CREATE TABLE IF NOT EXISTS sealbox_kv (ns TEXT NOT NULL, key TEXT NOT NULL, value TEXT NOT NULL, ' +
          'PRIMARY KEY (ns, key)) WITHOUT ROWID',
      );
      // Round-1 files have sealbox_kv without sizes: add them, counted the way quotas count.
      const columns = db.prepare('PRAGMA table_info(sealbox_kv)').all() as Row[];
      if (!columns.some((c) => c['name'] === 'bytes')) {
        db.exec('ALTER TABLE sealbox_kv ADD COLUMN bytes INTEGER NOT NULL DEFAULT 0');
        db.exec('UPDATE sealbox_kv SET bytes = length(CAST(key AS BLOB)) + length(CAST(value AS BLOB))');
      }
      db.exec(
        'CREATE TABLE IF NOT EXISTS sealbox_registry (seq INTEGER PRIMARY KEY AUTOINCREMENT, ' +
          'tenant TEXT NOT NULL, identifier TEXT NOT NULL, version INTEGER NOT NULL, digest TEXT NOT NULL, ' +
          'envelope_hash TEXT NOT NULL UNIQUE, envelope TEXT NOT NULL, published_at TEXT NOT NULL)',
      );
      db.exec(
        'CREATE INDEX IF NOT EXISTS sealbox_registry_name ON sealbox_registry (tenant, identifier, version)',
      );
    }
    db.prepare(
      "INSERT INTO sealbox_meta (key, value) VALUES ('schema_version', ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value",
    ).run(String(SQLITE_SCHEMA_VERSION));
    db.exec('COMMIT');
  } catch (error) {
    db.exec('ROLLBACK');
    throw error;
  }
}

/** Runs `work` inside BEGIN IMMEDIATE (the write lock first), committing or rolling back. */
function immediate<T>(db: DatabaseSync, what: string, work: () => T): T {
  try {
    db.exec('BEGIN IMMEDIATE');
  } catch (error) {
    throw storeFailure(`${what}: the store is busy or unusable`, error);
  }
  let done = false;
  try {
    const result = work();
    db.exec('COMMIT');
    done = true;
    return result;
  } catch (error) {
    if (error instanceof SandboxError || error instanceof TrustError) throw error;
    throw storeFailure(what, error);
  } finally {
    if (!done) {
      try {
        db.exec('ROLLBACK');
      } catch {
        // SQLite already rolled back.
      }
    }
  }
}

function markOf(row: Row | undefined): RollbackMark | undefined {
  return row === undefined ? undefined : { version: Number(row['version']), digest: String(row['digest']) };
}

function publishedOf(row: Row, withEnvelope: boolean): PublishedEnvelope | PublishedSummary {
  const summary: PublishedSummary = {
    tenant: String(row['tenant']),
    identifier: String(row['identifier']),
    version: Number(row['version']),
    digest: String(row['digest']),
    envelopeHash: String(row['envelope_hash']),
    publishedAt: String(row['published_at']),
    seq: Number(row['seq']),
  };
  return withEnvelope ? { ...summary, envelope: String(row['envelope']) } : summary;
}

/** Everything in one SQLite file. */
export class SqliteStore implements Store {
  readonly kind = 'sqlite';
  readonly location: string;
  readonly rollback: RollbackMarks;
  readonly kv: KvStore;
  readonly registry: Registry;
  readonly #db: DatabaseSync;
  #feed: ChangeFeed | undefined;

  /**
   * Opens (creating and migrating) the file at `path`.
   * @throws ConfigError ERR_STATE_STORE
   */
  constructor(path: string) {
    this.location = path;
    try {
      this.#db = new DatabaseSync(path);
      this.#db.exec(`PRAGMA busy_timeout = ${BUSY_TIMEOUT_MS}`);
      this.#db.exec('PRAGMA journal_mode = WAL');
      this.#db.exec('PRAGMA synchronous = NORMAL');
      migrate(this.#db);
    } catch (error) {
      throw storeFailure(`cannot open the store ${path}`, error);
    }
    const db = this.#db;
    const use = <T>(what: string, work: () => T): T => {
      if (!db.isOpen) throw new ConfigError('ERR_STATE_STORE', `${what}: the store is closed`);
      try {
        return work();
      } catch (error) {
        if (error instanceof SandboxError || error instanceof TrustError) throw error;
        throw storeFailure(what, error);
      }
    };

    this.rollback = {
      async highest(tenant, identifier) {
        return use('rollback read', () =>
          markOf(
            db
              .prepare('SELECT version, digest FROM sealbox_rollback WHERE tenant = ? AND identifier = ?')
              .get(tenant, identifier) as Row | undefined,
          ),
        );
      },
      async record(tenant, identifier, version, digest) {
        checkRollbackArgs(tenant, identifier, version, digest);
        use('rollback write', () => {
          // One conditional upsert: written only when higher, or equal with the same digest.
          const won = db
            .prepare(
              'INSERT INTO sealbox_rollback (tenant, identifier, version, digest) VALUES (?, ?, ?, ?) ' +
                'ON CONFLICT (tenant, identifier) DO UPDATE SET version = excluded.version, digest = excluded.digest ' +
                'WHERE sealbox_rollback.version < excluded.version OR ' +
                '(sealbox_rollback.version = excluded.version AND sealbox_rollback.digest = excluded.digest) ' +
                'RETURNING version',
            )
            .get(tenant, identifier, version, digest);
          if (won !== undefined) return;
          const seen = markOf(
            db
              .prepare('SELECT version, digest FROM sealbox_rollback WHERE tenant = ? AND identifier = ?')
              .get(tenant, identifier) as Row | undefined,
          );
          refuseRollback(tenant, identifier, version, digest, seen);
        });
      },
    };

    const usage = (ns: string): KvUsage => {
      const row = db
        .prepare('SELECT count(*) AS n, coalesce(sum(bytes), 0) AS b FROM sealbox_kv WHERE ns = ?')
        .get(ns) as Row;
      return { keys: Number(row['n']), bytes: Number(row['b']) };
    };
    this.kv = {
      async get(ns, key) {
        return use('kv read', () => {
          const row = db.prepare('SELECT value FROM sealbox_kv WHERE ns = ? AND key = ?').get(ns, key) as
            Row | undefined;
          return row === undefined ? null : decodeValue(row['value']);
        });
      },
      async set(ns: string, key: string, value: JsonValue, quota?: KvQuota) {
        checkQuotaShape(quota);
        const text = encodeValue(value);
        const bytes = entryBytes(key, text);
        if (!db.isOpen) throw new ConfigError('ERR_STATE_STORE', 'kv write: the store is closed');
        // Check and write under the write lock: another process cannot slip a key in between.
        immediate(db, 'kv write', () => {
          const old = db.prepare('SELECT bytes FROM sealbox_kv WHERE ns = ? AND key = ?').get(ns, key) as
            Row | undefined;
          checkQuota(usage(ns), old === undefined ? undefined : Number(old['bytes']), bytes, quota);
          db.prepare(
            'INSERT INTO sealbox_kv (ns, key, value, bytes) VALUES (?, ?, ?, ?) ' +
              'ON CONFLICT (ns, key) DO UPDATE SET value = excluded.value, bytes = excluded.bytes',
          ).run(ns, key, text, bytes);
        });
      },
      async delete(ns, key) {
        use('kv delete', () => db.prepare('DELETE FROM sealbox_kv WHERE ns = ? AND key = ?').run(ns, key));
      },
      async list(ns, prefix) {
        return use('kv list', () => {
          // Defends against LIKE-pattern injection from tenant prefixes: instr() compares literally.
          const rows = db
            .prepare('SELECT key FROM sealbox_kv WHERE ns = ? AND instr(key, ?) = 1')
            .all(ns, prefix) as Row[];
          return rows.map((row) => String(row['key'])).sort(compareKeys);
        });
      },
      async count(ns) {
        return use('kv count', () => usage(ns).keys);
      },
      async usage(ns) {
        return use('kv usage', () => usage(ns));
      },
    };

    const lastSeq = async (): Promise<number> =>
      use('registry read', () => {
        const row = db.prepare('SELECT coalesce(max(seq), 0) AS s FROM sealbox_registry').get() as Row;
        return Number(row['s']);
      });
    const feed = new ChangeFeed(lastSeq, DEFAULT_POLL_MS);
    this.#feed = feed;
    this.registry = {
      async put(entry) {
        return use('registry write', () => {
          const result = db
            .prepare(
              'INSERT INTO sealbox_registry (tenant, identifier, version, digest, envelope_hash, envelope, published_at) ' +
                'VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (envelope_hash) DO NOTHING',
            )
            .run(
              entry.tenant,
              entry.identifier,
              entry.version,
              entry.digest,
              entry.envelopeHash,
              entry.envelope,
              new Date().toISOString(),
            );
          return Number(result.changes) > 0;
        });
      },
      async list(filter = {}) {
        const limit = rowLimit(filter.limit);
        return use('registry list', () => {
          const columns = 'seq, tenant, identifier, version, digest, envelope_hash, published_at';
          const rows = (
            filter.tenant === undefined
              ? db.prepare(`SELECT ${columns} FROM sealbox_registry ORDER BY seq DESC LIMIT ?`).all(limit)
              : db
                  .prepare(
                    `SELECT ${columns} FROM sealbox_registry WHERE tenant = ? ORDER BY seq DESC LIMIT ?`,
                  )
                  .all(filter.tenant, limit)
          ) as Row[];
          return rows.map((row) => publishedOf(row, false));
        });
      },
      async candidates(tenant, identifier, options) {
        const limit = rowLimit(options.limit);
        return use('registry read', () => {
          const rows = db
            .prepare(
              'SELECT * FROM sealbox_registry WHERE tenant = ? AND identifier = ? AND version > ? ' +
                'ORDER BY version DESC, seq ASC LIMIT ? OFFSET ?',
            )
            .all(tenant, identifier, options.above ?? 0, limit, options.offset ?? 0) as Row[];
          return rows.map((row) => publishedOf(row, true) as PublishedEnvelope);
        });
      },
      lastSeq,
      watch: (listener, options = {}) => feed.add(listener, options.pollMs),
    };
  }

  async ready(): Promise<void> {
    if (!this.#db.isOpen) throw new ConfigError('ERR_STATE_STORE', 'the store is closed');
  }

  async close(): Promise<void> {
    this.#feed?.clear();
    if (this.#db.isOpen) this.#db.close();
  }
}

/**
 * The kv part of a SQLite store file, on its own (round-1 name; `sealbox run --state` uses it).
 * @throws ConfigError ERR_STATE_STORE
 */
export class SqliteKvStore implements KvStore {
  readonly #store: SqliteStore;

  constructor(path: string) {
    this.#store = new SqliteStore(path);
  }
  get(ns: string, key: string): Promise<JsonValue | null> {
    return this.#store.kv.get(ns, key);
  }
  set(ns: string, key: string, value: JsonValue, quota?: KvQuota): Promise<void> {
    return this.#store.kv.set(ns, key, value, quota);
  }
  delete(ns: string, key: string): Promise<void> {
    return this.#store.kv.delete(ns, key);
  }
  list(ns: string, prefix: string): Promise<string[]> {
    return this.#store.kv.list(ns, prefix);
  }
  count(ns: string): Promise<number> {
    return this.#store.kv.count(ns);
  }
  usage(ns: string): Promise<KvUsage> {
    return this.#store.kv.usage(ns);
  }
  close(): void {
    void this.#store.close();
  }
}
