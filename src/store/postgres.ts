/**
 * A store in PostgreSQL (through `pg`): what a fleet of nodes shares. Rollback marks are one
 * conditional upsert (INSERT … ON CONFLICT … DO UPDATE … WHERE … RETURNING), never read-then-write;
 * kv quota check and write run in one transaction holding a per-namespace advisory lock, so they
 * are exact across nodes. New publishes are announced with NOTIFY; watchers LISTEN and also poll.
 * Every value reaches SQL as a bound parameter, never as text.
 */
import pg from 'pg';
import type { JsonValue } from '../envelope/types.ts';
import { ConfigError, SandboxError, TrustError } from '../errors.ts';
import {
  checkQuota,
  checkQuotaShape,
  checkRollbackArgs,
  decodeValue,
  encodeValue,
  entryBytes,
  ChangeFeed,
  refuseRollback,
  rowLimit,
  storeFailure,
  compareKeys,
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

/** The schema version this code writes; a newer database is refused rather than misread. */
export const POSTGRES_SCHEMA_VERSION = 1;

/** The NOTIFY channel of new publishes (a constant: nothing tenant-controlled names it). */
const CHANNEL = 'sealbox_registry';
/** Advisory lock key serialising schema migrations of concurrent nodes ("sealbox" in hex). */
const MIGRATION_LOCK = '7365616c626f78';
/** Poll period next to LISTEN (a lost notification is noticed within this). */
const DEFAULT_POLL_MS = 2000;
/** Wait before re-opening a dropped LISTEN connection. */
const RELISTEN_MS = 1000;

const MIGRATIONS: readonly string[] = [
  `CREATE TABLE IF NOT EXISTS sealbox_rollback (
     tenant text NOT NULL, identifier text NOT NULL, version bigint NOT NULL, digest text NOT NULL,
     PRIMARY KEY (tenant, identifier));
   CREATE TABLE IF NOT EXISTS sealbox_kv (
     ns text NOT NULL, key text NOT NULL, value text NOT NULL, bytes bigint NOT NULL,
     PRIMARY KEY (ns, key));
   CREATE TABLE IF NOT EXISTS sealbox_registry (
     seq bigserial PRIMARY KEY, tenant text NOT NULL, identifier text NOT NULL,
     version bigint NOT NULL, digest text NOT NULL, envelope_hash text NOT NULL UNIQUE,
     envelope text NOT NULL, published_at timestamptz NOT NULL DEFAULT now());
   CREATE INDEX IF NOT EXISTS sealbox_registry_name ON sealbox_registry (tenant, identifier, version);`,
];

/** The URL without its password, for messages. */
export function redactUrl(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.password !== '') parsed.password = '***';
    return parsed.toString();
  } catch {
    return 'postgres://(unparsable URL)';
  }
}

type Row = Record<string, unknown>;

function markOf(row: Row | undefined): RollbackMark | undefined {
  return row === undefined ? undefined : { version: Number(row['version']), digest: String(row['digest']) };
}

function publishedOf(row: Row, withEnvelope: boolean): PublishedEnvelope | PublishedSummary {
  const at = row['published_at'];
  const summary: PublishedSummary = {
    tenant: String(row['tenant']),
    identifier: String(row['identifier']),
    version: Number(row['version']),
    digest: String(row['digest']),
    envelopeHash: String(row['envelope_hash']),
    publishedAt: at instanceof Date ? at.toISOString() : String(at),
    seq: Number(row['seq']),
  };
  return withEnvelope ? { ...summary, envelope: String(row['envelope']) } : summary;
}

/** Everything in one PostgreSQL database. */
export class PostgresStore implements Store {
  readonly kind = 'postgres';
  readonly location: string;
  readonly rollback: RollbackMarks;
  readonly kv: KvStore;
  readonly registry: Registry;
  readonly #url: string;
  readonly #pool: pg.Pool;
  #ready: Promise<void> | undefined;
  #closed = false;
  #feed!: ChangeFeed;
  #listenClient: pg.Client | undefined;
  #relisten: NodeJS.Timeout | undefined;

  /** Connects lazily; the schema is created or migrated on first use. */
  constructor(url: string, options: { readonly poolSize?: number } = {}) {
    this.#url = url;
    this.location = redactUrl(url);
    this.#pool = new pg.Pool({
      connectionString: url,
      max: options.poolSize ?? 8,
      connectionTimeoutMillis: 10_000,
      idleTimeoutMillis: 10_000,
      // Defends against a hung database hanging every load and kv call: queries fail after 10 s.
      query_timeout: 10_000,
      allowExitOnIdle: true,
    });
    // Defends against a database restart killing the node: an idle client's error is not thrown.
    this.#pool.on('error', () => undefined);

    const query = async (what: string, text: string, values: unknown[] = []): Promise<Row[]> => {
      await this.ready();
      try {
        return (await this.#pool.query(text, values)).rows as Row[];
      } catch (error) {
        throw storeFailure(what, error);
      }
    };
    const transaction = async <T>(what: string, work: (client: pg.PoolClient) => Promise<T>): Promise<T> => {
      await this.ready();
      let client: pg.PoolClient;
      try {
        client = await this.#pool.connect();
      } catch (error) {
        throw storeFailure(what, error);
      }
      let broken = false;
      try {
        await client.query('BEGIN');
        const result = await work(client);
        await client.query('COMMIT');
        return result;
      } catch (error) {
        try {
          await client.query('ROLLBACK');
        } catch {
          broken = true;
        }
        if (error instanceof SandboxError || error instanceof TrustError) throw error;
        throw storeFailure(what, error);
      } finally {
        client.release(broken);
      }
    };

    this.rollback = {
      async highest(tenant, identifier) {
        const rows = await query(
          'rollback read',
          'SELECT version, digest FROM sealbox_rollback WHERE tenant = $1 AND identifier = $2',
          [tenant, identifier],
        );
        return markOf(rows[0]);
      },
      async record(tenant, identifier, version, digest) {
        checkRollbackArgs(tenant, identifier, version, digest);
        const won = await query(
          'rollback write',
          'INSERT INTO sealbox_rollback AS r (tenant, identifier, version, digest) VALUES ($1, $2, $3, $4) ' +
            'ON CONFLICT (tenant, identifier) DO UPDATE SET version = excluded.version, digest = excluded.digest ' +
            'WHERE r.version < excluded.version OR (r.version = excluded.version AND r.digest = excluded.digest) ' +
            'RETURNING version',
          [tenant, identifier, version, digest],
        );
        if (won.length > 0) return;
        const seen = await query(
          'rollback read',
          'SELECT version, digest FROM sealbox_rollback WHERE tenant = $1 AND identifier = $2',
          [tenant, identifier],
        );
        refuseRollback(tenant, identifier, version, digest, markOf(seen[0]));
      },
    };

    const queues = new Map<string, Promise<void>>();
    const oneAtATime = (ns: string, work: () => Promise<void>): Promise<void> => {
      const result = (queues.get(ns) ?? Promise.resolve()).then(work);
      const tail = result.then(
        () => undefined,
        () => undefined,
      );
      queues.set(ns, tail);
      void tail.then(() => {
        if (queues.get(ns) === tail) queues.delete(ns);
      });
      return result;
    };
    const usageIn = async (client: pg.PoolClient | undefined, ns: string): Promise<KvUsage> => {
      const text = 'SELECT count(*) AS n, coalesce(sum(bytes), 0) AS b FROM sealbox_kv WHERE ns = $1';
      const rows = client ? (await client.query(text, [ns])).rows : await query('kv usage', text, [ns]);
      const row = rows[0] as Row;
      return { keys: Number(row['n']), bytes: Number(row['b']) };
    };
    this.kv = {
      async get(ns, key) {
        const rows = await query('kv read', 'SELECT value FROM sealbox_kv WHERE ns = $1 AND key = $2', [
          ns,
          key,
        ]);
        return rows[0] === undefined ? null : decodeValue(rows[0]['value']);
      },
      async set(ns: string, key: string, value: JsonValue, quota?: KvQuota) {
        checkQuotaShape(quota);
        const text = encodeValue(value);
        const bytes = entryBytes(key, text);
        // Writers of one namespace in this process queue here first, so that they hold at most one
        // pooled connection waiting on the namespace's advisory lock (not the whole pool).
        await oneAtATime(ns, () =>
          transaction('kv write', async (client) => {
            // One namespace's writers queue on this lock, across every node: count and write are exact.
            await client.query('SELECT pg_advisory_xact_lock(hashtextextended($1, 0))', [`sealbox_kv:${ns}`]);
            const old = await client.query('SELECT bytes FROM sealbox_kv WHERE ns = $1 AND key = $2', [
              ns,
              key,
            ]);
            const oldRow = old.rows[0] as Row | undefined;
            checkQuota(
              await usageIn(client, ns),
              oldRow === undefined ? undefined : Number(oldRow['bytes']),
              bytes,
              quota,
            );
            await client.query(
              'INSERT INTO sealbox_kv (ns, key, value, bytes) VALUES ($1, $2, $3, $4) ' +
                'ON CONFLICT (ns, key) DO UPDATE SET value = excluded.value, bytes = excluded.bytes',
              [ns, key, text, bytes],
            );
          }),
        );
      },
      async delete(ns, key) {
        await query('kv delete', 'DELETE FROM sealbox_kv WHERE ns = $1 AND key = $2', [ns, key]);
      },
      async list(ns, prefix) {
        // Defends against LIKE-pattern injection from tenant prefixes: starts_with compares literally.
        const rows = await query(
          'kv list',
          'SELECT key FROM sealbox_kv WHERE ns = $1 AND starts_with(key, $2)',
          [ns, prefix],
        );
        return rows.map((row) => String(row['key'])).sort(compareKeys);
      },
      async count(ns) {
        return (await usageIn(undefined, ns)).keys;
      },
      usage: (ns) => usageIn(undefined, ns),
    };

    const lastSeq = async (): Promise<number> => {
      const rows = await query('registry read', 'SELECT coalesce(max(seq), 0) AS s FROM sealbox_registry');
      return Number(rows[0]?.['s'] ?? 0);
    };
    this.#feed = new ChangeFeed(lastSeq, DEFAULT_POLL_MS);
    this.registry = {
      async put(entry) {
        // Insert and announce in one statement: the NOTIFY is sent when (and only if) it commits.
        const rows = await query(
          'registry write',
          'WITH ins AS (INSERT INTO sealbox_registry (tenant, identifier, version, digest, envelope_hash, envelope) ' +
            'VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (envelope_hash) DO NOTHING RETURNING seq) ' +
            `SELECT seq, pg_notify('${CHANNEL}', seq::text) FROM ins`,
          [entry.tenant, entry.identifier, entry.version, entry.digest, entry.envelopeHash, entry.envelope],
        );
        return rows.length > 0;
      },
      async list(filter = {}) {
        const limit = rowLimit(filter.limit);
        const columns = 'seq, tenant, identifier, version, digest, envelope_hash, published_at';
        const rows =
          filter.tenant === undefined
            ? await query(
                'registry list',
                `SELECT ${columns} FROM sealbox_registry ORDER BY seq DESC LIMIT $1`,
                [limit],
              )
            : await query(
                'registry list',
                `SELECT ${columns} FROM sealbox_registry WHERE tenant = $1 ORDER BY seq DESC LIMIT $2`,
                [filter.tenant, limit],
              );
        return rows.map((row) => publishedOf(row, false));
      },
      async candidates(tenant, identifier, options) {
        const rows = await query(
          'registry read',
          'SELECT * FROM sealbox_registry WHERE tenant = $1 AND identifier = $2 AND version > $3 ' +
            'ORDER BY version DESC, seq ASC LIMIT $4 OFFSET $5',
          [tenant, identifier, options.above ?? 0, rowLimit(options.limit), options.offset ?? 0],
        );
        return rows.map((row) => publishedOf(row, true) as PublishedEnvelope);
      },
      lastSeq,
      watch: (listener, options = {}) => {
        const remove = this.#feed.add(listener, options.pollMs);
        if (this.#feed.size === 1) this.#listen();
        return () => {
          remove();
          if (this.#feed.size === 0) this.#unlisten();
        };
      },
    };
  }

  /** Opens the LISTEN connection; on any failure retries later (polling covers the gap). */
  #listen(): void {
    if (this.#closed || this.#listenClient !== undefined || this.#feed.size === 0) return;
    const client = new pg.Client({ connectionString: this.#url, connectionTimeoutMillis: 5000 });
    this.#listenClient = client;
    const retry = (): void => {
      if (this.#listenClient !== client) return;
      this.#listenClient = undefined;
      void client.end().catch(() => undefined);
      if (this.#closed || this.#feed.size === 0) return;
      this.#relisten = setTimeout(() => this.#listen(), RELISTEN_MS);
      this.#relisten.unref();
    };
    client.on('error', retry);
    client.on('end', retry);
    client.on('notification', (message) => {
      if (message.channel !== CHANNEL) return;
      this.#feed.notify();
    });
    client
      .connect()
      .then(() => client.query(`LISTEN ${CHANNEL}`))
      .then(() => {
        // The connection must not keep the process alive on its own.
        (
          client as unknown as { connection?: { stream?: { unref?: () => void } } }
        ).connection?.stream?.unref?.();
      })
      .catch(retry);
  }

  #unlisten(): void {
    clearTimeout(this.#relisten);
    const client = this.#listenClient;
    this.#listenClient = undefined;
    void client?.end().catch(() => undefined);
  }

  ready(): Promise<void> {
    if (this.#closed) return Promise.reject(new ConfigError('ERR_STATE_STORE', 'the store is closed'));
    this.#ready ??= this.#migrate().catch((error: unknown) => {
      // A failed first use is retried on the next call (the database may come up later).
      this.#ready = undefined;
      throw storeFailure(`cannot open the store ${this.location}`, error);
    });
    return this.#ready;
  }

  async #migrate(): Promise<void> {
    const client = await this.#pool.connect();
    let broken = false;
    try {
      await client.query('BEGIN');
      await client.query(`SELECT pg_advisory_xact_lock(x'${MIGRATION_LOCK}'::bigint)`);
      await client.query(
        'CREATE TABLE IF NOT EXISTS sealbox_meta (key text PRIMARY KEY, value text NOT NULL)',
      );
      const rows = (await client.query("SELECT value FROM sealbox_meta WHERE key = 'schema_version'"))
        .rows as Row[];
      const current = rows[0] === undefined ? 0 : Number(rows[0]['value']);
      if (!Number.isSafeInteger(current) || current > POSTGRES_SCHEMA_VERSION) {
        throw new ConfigError(
          'ERR_STATE_STORE',
          `the store's schema version ${String(rows[0]?.['value'])} is newer than this sealbox understands (${POSTGRES_SCHEMA_VERSION})`,
        );
      }
      for (let version = current + 1; version <= POSTGRES_SCHEMA_VERSION; version++) {
        await client.query(MIGRATIONS[version - 1]!);
      }
      await client.query(
        "INSERT INTO sealbox_meta (key, value) VALUES ('schema_version', $1) ON CONFLICT (key) DO UPDATE SET value = excluded.value",
        [String(POSTGRES_SCHEMA_VERSION)],
      );
      await client.query('COMMIT');
    } catch (error) {
      await client.query('ROLLBACK').catch(() => {
        broken = true;
      });
      throw error;
    } finally {
      client.release(broken);
    }
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#feed.clear();
    this.#unlisten();
    await this.#pool.end().catch(() => undefined);
  }
}
