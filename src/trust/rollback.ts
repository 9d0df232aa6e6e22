/**
 * Rollback state: the highest version a node has accepted per (tenant, identifier), with its
 * digest. A lower version is refused (ERR_ROLLBACK); the same version only with the same digest
 * (ERR_ROLLBACK_DIGEST). Check and record are one atomic step.
 */
import { DatabaseSync } from 'node:sqlite';
import { ConfigError, TrustError } from '../errors.ts';

/** Where rollback state lives. `accept` checks and records atomically, or throws. */
export interface RollbackStore {
  /**
   * Accepts (tenant, identifier, version, digest) if not a rollback, and records it.
   * @throws TrustError ERR_ROLLBACK, ERR_ROLLBACK_DIGEST; ConfigError ERR_STATE_STORE
   */
  accept(tenant: string, identifier: string, version: number, digest: string): void;
  /** The highest accepted version and its digest, or undefined. */
  highest(tenant: string, identifier: string): { version: number; digest: string } | undefined;
  /** Releases resources; further calls throw ERR_STATE_STORE. */
  close(): void;
}

export function checkRollbackArgs(
  tenant: unknown,
  identifier: unknown,
  version: unknown,
  digest: unknown,
): void {
  if (typeof tenant !== 'string' || typeof identifier !== 'string' || tenant === '' || identifier === '') {
    throw new ConfigError('ERR_STATE_STORE', 'rollback: tenant and identifier must be non-empty strings');
  }
  if (typeof version !== 'number' || !Number.isSafeInteger(version) || version < 1) {
    throw new ConfigError('ERR_STATE_STORE', 'rollback: version must be an integer >= 1');
  }
  if (typeof digest !== 'string' || !/^[0-9a-f]{64}$/.test(digest)) {
    throw new ConfigError('ERR_STATE_STORE', 'rollback: digest must be 64 lowercase hex');
  }
}

/**
 * The rollback decision, shared by every store (here and in src/store/). Throws on rollback;
 * returns whether to write.
 * @throws TrustError ERR_ROLLBACK, ERR_ROLLBACK_DIGEST
 */
export function decideRollback(
  tenant: string,
  identifier: string,
  version: number,
  digest: string,
  seen: { version: number; digest: string } | undefined,
): boolean {
  if (seen === undefined || version > seen.version) return true;
  // Defends against replay of an older signed version (downgrade to a known-vulnerable release).
  if (version < seen.version) {
    throw new TrustError(
      'ERR_ROLLBACK',
      `${tenant}/${identifier}: version ${version} is lower than ${seen.version}, already accepted`,
      {
        tenant,
        identifier,
        version,
        highest: seen.version,
      },
    );
  }
  // Defends against two different statements signed under one version number (equivocation).
  if (seen.digest !== digest) {
    throw new TrustError(
      'ERR_ROLLBACK_DIGEST',
      `${tenant}/${identifier}: version ${version} was already accepted with another digest`,
      {
        tenant,
        identifier,
        version,
        digest,
        seenDigest: seen.digest,
      },
    );
  }
  return false;
}

/** Rollback state in memory (lost on restart). */
export class MemoryRollbackStore implements RollbackStore {
  readonly #state = new Map<string, { version: number; digest: string }>();
  #closed = false;

  accept(tenant: string, identifier: string, version: number, digest: string): void {
    if (this.#closed) throw new ConfigError('ERR_STATE_STORE', 'rollback store is closed');
    checkRollbackArgs(tenant, identifier, version, digest);
    // Defends against key collisions between (a, b\0c) and (a\0b, c): an unambiguous encoding.
    const key = JSON.stringify([tenant, identifier]);
    if (decideRollback(tenant, identifier, version, digest, this.#state.get(key)))
      this.#state.set(key, { version, digest });
  }

  highest(tenant: string, identifier: string): { version: number; digest: string } | undefined {
    const seen = this.#state.get(JSON.stringify([tenant, identifier]));
    return seen === undefined ? undefined : { ...seen };
  }

  close(): void {
    this.#closed = true;
  }
}

/**
 * Rollback state in an SQLite file (node:sqlite), surviving restarts and shared safely by several
 * processes: WAL journal, busy timeout, and check + record inside one BEGIN IMMEDIATE transaction
 * (the write lock is taken before the read, so two processes cannot both pass the check).
 */
export class SqliteRollbackStore implements RollbackStore {
  readonly #db: DatabaseSync;
  #closed = false;

  /**
   * Opens (creating if needed) the state file at `path`.
   * @throws ConfigError ERR_STATE_STORE when the file cannot be opened or initialised
   */
  constructor(path: string, options: { busyTimeoutMs?: number } = {}) {
    const busy = options.busyTimeoutMs ?? 5000;
    try {
      this.#db = new DatabaseSync(path);
      this.#db.exec(`PRAGMA busy_timeout = ${Math.max(0, Math.floor(busy))}`);
      this.#db.exec('PRAGMA journal_mode = WAL');
      this.#db.exec('PRAGMA synchronous = NORMAL');
      this.#db.exec(
        'CREATE TABLE IF NOT EXISTS rollback (tenant TEXT NOT NULL, identifier TEXT NOT NULL, version INTEGER NOT NULL, digest TEXT NOT NULL, PRIMARY KEY (tenant, identifier)) STRICT',
      );
    } catch (error) {
      throw new ConfigError(
        'ERR_STATE_STORE',
        `cannot open rollback state ${path}: ${(error as Error).message}`,
        { path },
        { cause: error },
      );
    }
  }

  accept(tenant: string, identifier: string, version: number, digest: string): void {
    if (this.#closed) throw new ConfigError('ERR_STATE_STORE', 'rollback store is closed');
    checkRollbackArgs(tenant, identifier, version, digest);
    const db = this.#db;
    try {
      db.exec('BEGIN IMMEDIATE');
    } catch (error) {
      throw new ConfigError(
        'ERR_STATE_STORE',
        `rollback state is busy or unusable: ${(error as Error).message}`,
        {},
        { cause: error },
      );
    }
    let committed = false;
    try {
      const row = db
        .prepare('SELECT version, digest FROM rollback WHERE tenant = ? AND identifier = ?')
        .get(tenant, identifier) as { version: number | bigint; digest: string } | undefined;
      const seen = row === undefined ? undefined : { version: Number(row.version), digest: row.digest };
      if (decideRollback(tenant, identifier, version, digest, seen)) {
        db.prepare(
          'INSERT INTO rollback (tenant, identifier, version, digest) VALUES (?, ?, ?, ?) ON CONFLICT (tenant, identifier) DO UPDATE SET version = excluded.version, digest = excluded.digest',
        ).run(tenant, identifier, version, digest);
      }
      db.exec('COMMIT');
      committed = true;
    } catch (error) {
      if (error instanceof TrustError) throw error;
      throw new ConfigError(
        'ERR_STATE_STORE',
        `rollback state write failed: ${(error as Error).message}`,
        {},
        { cause: error },
      );
    } finally {
      if (!committed) {
        try {
          db.exec('ROLLBACK');
        } catch {
          // Already rolled back by SQLite.
        }
      }
    }
  }

  highest(tenant: string, identifier: string): { version: number; digest: string } | undefined {
    if (this.#closed) throw new ConfigError('ERR_STATE_STORE', 'rollback store is closed');
    try {
      const row = this.#db
        .prepare('SELECT version, digest FROM rollback WHERE tenant = ? AND identifier = ?')
        .get(tenant, identifier) as { version: number | bigint; digest: string } | undefined;
      return row === undefined ? undefined : { version: Number(row.version), digest: row.digest };
    } catch (error) {
      throw new ConfigError(
        'ERR_STATE_STORE',
        `rollback state read failed: ${(error as Error).message}`,
        {},
        { cause: error },
      );
    }
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#db.close();
  }
}
