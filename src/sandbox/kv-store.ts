/**
 * Key-value stores behind the `kv` capability. The namespace is always the tenant, chosen by the
 * host from its own records, never by the isolate: a tenant can never name another's namespace.
 * Values are stored as JSON text, so every read returns a fresh copy.
 */
import { DatabaseSync } from 'node:sqlite';
import type { JsonValue } from '../envelope/types.ts';
import { ConfigError } from '../errors.ts';

/** A namespaced store of JSON values. */
export interface KvStore {
  /** The value, or null when the key is absent. */
  get(ns: string, key: string): Promise<JsonValue | null>;
  set(ns: string, key: string, value: JsonValue): Promise<void>;
  delete(ns: string, key: string): Promise<void>;
  /** Keys of `ns` starting with `prefix`, sorted (UTF-16 code unit order). */
  list(ns: string, prefix: string): Promise<string[]>;
  /** Number of keys in `ns`. */
  count(ns: string): Promise<number>;
  close?(): void;
}

/** In-memory store (tests, ephemeral nodes). */
export class MemoryKvStore implements KvStore {
  readonly #spaces = new Map<string, Map<string, string>>();

  /** @inheritdoc */
  async get(ns: string, key: string): Promise<JsonValue | null> {
    const text = this.#spaces.get(ns)?.get(key);
    return text === undefined ? null : (JSON.parse(text) as JsonValue);
  }

  /** @inheritdoc */
  async set(ns: string, key: string, value: JsonValue): Promise<void> {
    let space = this.#spaces.get(ns);
    if (space === undefined) {
      space = new Map();
      this.#spaces.set(ns, space);
    }
    space.set(key, JSON.stringify(value));
  }

  /** @inheritdoc */
  async delete(ns: string, key: string): Promise<void> {
    this.#spaces.get(ns)?.delete(key);
  }

  /** @inheritdoc */
  async list(ns: string, prefix: string): Promise<string[]> {
    const space = this.#spaces.get(ns);
    if (space === undefined) return [];
    return [...space.keys()].filter((k) => k.startsWith(prefix)).sort(compareKeys);
  }

  /** @inheritdoc */
  async count(ns: string): Promise<number> {
    return this.#spaces.get(ns)?.size ?? 0;
  }
}

/**
 * Store in one SQLite file (node:sqlite, no native build): the embedded default for real nodes.
 * @throws ConfigError ERR_STATE_STORE when the file cannot be opened.
 */
export class SqliteKvStore implements KvStore {
  readonly #db: DatabaseSync;

  constructor(path: string) {
    try {
      this.#db = new DatabaseSync(path);
      this.#db.exec(
        'CREATE TABLE IF NOT EXISTS sealbox_kv (ns TEXT NOT NULL, key TEXT NOT NULL, value TEXT NOT NULL, ' +
          'PRIMARY KEY (ns, key)) WITHOUT ROWID',
      );
    } catch (error) {
      throw new ConfigError('ERR_STATE_STORE', `cannot open the kv store at ${path}`, {}, { cause: error });
    }
  }

  /** @inheritdoc */
  async get(ns: string, key: string): Promise<JsonValue | null> {
    const row = this.#db.prepare('SELECT value FROM sealbox_kv WHERE ns = ? AND key = ?').get(ns, key);
    return row === undefined ? null : (JSON.parse(String(row['value'])) as JsonValue);
  }

  /** @inheritdoc */
  async set(ns: string, key: string, value: JsonValue): Promise<void> {
    this.#db
      .prepare(
        'INSERT INTO sealbox_kv (ns, key, value) VALUES (?, ?, ?) ON CONFLICT (ns, key) DO UPDATE SET value = excluded.value',
      )
      .run(ns, key, JSON.stringify(value));
  }

  /** @inheritdoc */
  async delete(ns: string, key: string): Promise<void> {
    this.#db.prepare('DELETE FROM sealbox_kv WHERE ns = ? AND key = ?').run(ns, key);
  }

  /** @inheritdoc */
  async list(ns: string, prefix: string): Promise<string[]> {
    // Defends against LIKE-pattern injection from tenant prefixes: instr() compares literally.
    const rows = this.#db
      .prepare('SELECT key FROM sealbox_kv WHERE ns = ? AND instr(key, ?) = 1')
      .all(ns, prefix);
    return rows.map((row) => String(row['key'])).sort(compareKeys);
  }

  /** @inheritdoc */
  async count(ns: string): Promise<number> {
    const row = this.#db.prepare('SELECT count(*) AS n FROM sealbox_kv WHERE ns = ?').get(ns);
    return Number(row?.['n'] ?? 0);
  }

  /** Closes the database file. */
  close(): void {
    if (this.#db.isOpen) this.#db.close();
  }
}

function compareKeys(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
