/**
 * The keyring: which Ed25519 keys a node trusts, for which tenants and identifier globs, when.
 * Parsed strictly and frozen; edits return a new Keyring with a bumped version.
 *
 * File format: `{ "version": n, "keys": [ { keyid, publicKey (base64), tenants: [...],
 * identifiers: ["glob"], validFrom?, validUntil?, status: "active" | "revoked", comment? } ] }`.
 */
import { createHash } from 'node:crypto';
import { ConfigError, TrustError } from '../errors.ts';
import { readFileBounded, readRefusalOf } from '../io/read-file.ts';
import { decodeBase64Strict } from '../envelope/base64.ts';
import { canonicalize } from '../envelope/canonical-json.ts';
import { guard } from '../envelope/guard.ts';
import { scanJson } from '../envelope/limits.ts';
import { parseRfc3339 } from '../envelope/statement.ts';
import { TENANT_NAME } from '../names.ts';
import { isSmallOrderOrInvalidPublicKey } from './ed25519.ts';
import { GLOB_PATTERN, matchGlob } from './glob.ts';
import { keyIdOf } from './keys.ts';

/** One trusted key, as stored in the keyring file. */
export interface KeyringEntry {
  readonly keyid: string;
  /** base64 of the raw 32-byte Ed25519 public key */
  readonly publicKey: string;
  /** tenants this key may sign for (exact names; no wildcard) */
  readonly tenants: readonly string[];
  /** identifier globs (`*`, `?`) this key may sign */
  readonly identifiers: readonly string[];
  /** RFC 3339; the key counts from this instant (inclusive) */
  readonly validFrom?: string;
  /** RFC 3339; the key stops counting at this instant (exclusive) */
  readonly validUntil?: string;
  readonly status: 'active' | 'revoked';
  readonly comment?: string;
}

/** The keyring file shape. */
export interface KeyringJson {
  readonly version: number;
  readonly keys: readonly KeyringEntry[];
}

/** A parsed entry with its decoded key and times (internal, hot path). */
export interface ResolvedKey {
  readonly entry: KeyringEntry;
  readonly publicKey: Uint8Array;
  readonly validFromMs: number | undefined;
  readonly validUntilMs: number | undefined;
}

/** Why a key may not sign a statement, or undefined when it may. */
export type ScopeRefusal =
  | 'ERR_KEY_UNKNOWN'
  | 'ERR_KEY_REVOKED'
  | 'ERR_KEY_EXPIRED'
  | 'ERR_KEY_NOT_YET_VALID'
  | 'ERR_KEY_TENANT_SCOPE'
  | 'ERR_KEY_IDENTIFIER_SCOPE';

const MAX_KEYS = 1024;
const MAX_KEYRING_CHARS = 16 * 1024 * 1024;
const ENTRY_FIELDS = [
  'keyid',
  'publicKey',
  'tenants',
  'identifiers',
  'validFrom',
  'validUntil',
  'status',
  'comment',
];
const REQUIRED = ['keyid', 'publicKey', 'tenants', 'identifiers', 'status'];
// eslint-disable-next-line no-control-regex
const CONTROL = /[\u0000-\u001f\u007f-\u009f]/;

function fail(source: string, where: string, message: string): never {
  throw new ConfigError('ERR_KEYRING_INVALID', `${source}: ${where}: ${message}`, { source, where });
}

function kind(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  return typeof value;
}

function plainObject(value: unknown, source: string, where: string): Record<string, unknown> {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    fail(source, where, `expected an object, got ${kind(value)}`);
  }
  const proto: unknown = Object.getPrototypeOf(value);
  if (proto !== Object.prototype && proto !== null) fail(source, where, 'expected a plain object');
  const out: Record<string, unknown> = Object.create(null) as Record<string, unknown>;
  for (const key of Reflect.ownKeys(value)) {
    if (typeof key !== 'string') fail(source, where, 'symbol keys are not allowed');
    const d = Object.getOwnPropertyDescriptor(value, key)!;
    if (!('value' in d)) fail(source, `${where}.${key}`, 'expected a data property, got an accessor');
    out[key] = d.value;
  }
  return out;
}

function stringArray(value: unknown, source: string, where: string, pattern: RegExp, max: number): string[] {
  if (!Array.isArray(value)) fail(source, where, `expected an array of strings, got ${kind(value)}`);
  if (value.length === 0) fail(source, where, 'expected at least one entry');
  if (value.length > max) fail(source, where, `expected at most ${max} entries`);
  const seen = new Set<string>();
  const out: string[] = [];
  for (let i = 0; i < value.length; i++) {
    const item: unknown = value[i];
    if (typeof item !== 'string' || !pattern.test(item))
      fail(source, `${where}[${i}]`, `expected a string matching ${pattern.source}`);
    if (seen.has(item)) fail(source, `${where}[${i}]`, `duplicate ${item}`);
    seen.add(item);
    out.push(item);
  }
  return out;
}

function resolveEntry(raw: unknown, source: string, where: string): ResolvedKey {
  const obj = plainObject(raw, source, where);
  for (const key of Object.keys(obj)) {
    if (!ENTRY_FIELDS.includes(key)) fail(source, `${where}.${key.slice(0, 64)}`, 'unknown field');
  }
  for (const key of REQUIRED) if (!(key in obj)) fail(source, `${where}.${key}`, 'missing required field');
  const encoded = obj['publicKey'];
  if (typeof encoded !== 'string')
    fail(source, `${where}.publicKey`, `expected a base64 string, got ${kind(encoded)}`);
  let publicKey: Uint8Array;
  try {
    publicKey = decodeBase64Strict(encoded, 'publicKey');
  } catch {
    fail(source, `${where}.publicKey`, 'expected canonical base64');
  }
  if (publicKey.length !== 32)
    fail(source, `${where}.publicKey`, `expected 32 bytes, got ${publicKey.length}`);
  // Defends against the universal-forgery key (small-order point): refused at load.
  if (isSmallOrderOrInvalidPublicKey(publicKey)) {
    throw new ConfigError(
      'ERR_KEY_WEAK',
      `${source}: ${where}.publicKey: invalid or small-order Ed25519 key`,
      {
        source,
        where: `${where}.publicKey`,
      },
    );
  }
  const keyid = keyIdOf(publicKey);
  // Defends against keyid confusion: the keyid is only a hint, recomputed from the key.
  if (obj['keyid'] !== keyid)
    fail(source, `${where}.keyid`, `does not match the public key (expected ${keyid})`);
  const tenants = stringArray(obj['tenants'], source, `${where}.tenants`, TENANT_NAME, 256);
  const identifiers = stringArray(obj['identifiers'], source, `${where}.identifiers`, GLOB_PATTERN, 256);
  const status = obj['status'];
  if (status !== 'active' && status !== 'revoked')
    fail(source, `${where}.status`, 'expected "active" or "revoked"');
  const entry: { -readonly [K in keyof KeyringEntry]: KeyringEntry[K] } = {
    keyid,
    publicKey: encoded,
    tenants: Object.freeze(tenants),
    identifiers: Object.freeze(identifiers),
    status,
  };
  let validFromMs: number | undefined;
  let validUntilMs: number | undefined;
  if ('validFrom' in obj) {
    validFromMs = parseRfc3339(obj['validFrom']);
    if (validFromMs === undefined) fail(source, `${where}.validFrom`, 'expected an RFC 3339 date-time');
    entry.validFrom = obj['validFrom'] as string;
  }
  if ('validUntil' in obj) {
    validUntilMs = parseRfc3339(obj['validUntil']);
    if (validUntilMs === undefined) fail(source, `${where}.validUntil`, 'expected an RFC 3339 date-time');
    entry.validUntil = obj['validUntil'] as string;
  }
  if (validFromMs !== undefined && validUntilMs !== undefined && validUntilMs <= validFromMs) {
    fail(source, `${where}.validUntil`, 'must be after validFrom');
  }
  if ('comment' in obj) {
    const comment = obj['comment'];
    if (typeof comment !== 'string' || comment.length > 256 || CONTROL.test(comment)) {
      fail(
        source,
        `${where}.comment`,
        'expected a string of at most 256 characters without control characters',
      );
    }
    entry.comment = comment;
  }
  return Object.freeze({ entry: Object.freeze(entry), publicKey, validFromMs, validUntilMs });
}

function readKeyringFile(path: string): string {
  let bytes: Uint8Array;
  try {
    // Defends against a keyring path that is a FIFO or device hanging Keyring.load (and with it
    // every loader.load, which re-reads the keyring): the shared reader opens non-blocking and
    // refuses anything but a regular file.
    bytes = readFileBounded(path, MAX_KEYRING_CHARS, `keyring ${path}`);
  } catch (error) {
    if (readRefusalOf(error)?.reason === 'too-large') {
      fail(path, '$', `file is larger than ${MAX_KEYRING_CHARS} bytes`);
    }
    throw error;
  }
  try {
    return new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    return fail(path, '$', 'not valid UTF-8');
  }
}

/**
 * The canonical JSON a keyring's revision hashes.
 * Defends against two different keyrings sharing one revision (a cache key for verdicts): the text
 * comes from the one canonicaliser, and a keyring it cannot encode is refused, never hashed as ''.
 */
function revisionText(version: number, entries: readonly KeyringEntry[]): string {
  try {
    return canonicalize({ version, keys: entries });
  } catch (error) {
    throw new ConfigError(
      'ERR_KEYRING_INVALID',
      'keyring: entries have no canonical JSON form',
      { where: '$' },
      { cause: error },
    );
  }
}

/**
 * A parsed, validated, frozen keyring. Construct with {@link Keyring.parse}, {@link Keyring.load}
 * or {@link Keyring.empty}; edit with {@link Keyring.withKey} / {@link Keyring.withRevoked}.
 * @example const ring = Keyring.load('keyring.json'); ring.get(keyid)?.status
 */
export class Keyring {
  /** Monotonic edit counter from the file. */
  readonly version: number;
  /** Every entry, in file order. */
  readonly entries: readonly KeyringEntry[];
  /** Hex SHA-256 of the keyring's canonical JSON: changes on any edit (a cache key). */
  readonly revision: string;
  readonly #byId: Map<string, ResolvedKey>;

  private constructor(version: number, resolved: readonly ResolvedKey[]) {
    this.version = version;
    this.entries = Object.freeze(resolved.map((r) => r.entry));
    this.#byId = new Map(resolved.map((r) => [r.entry.keyid, r]));
    this.revision = createHash('sha256').update(revisionText(version, this.entries)).digest('hex');
    Object.freeze(this);
  }

  /** An empty keyring (version 0). */
  static empty(): Keyring {
    return new Keyring(0, []);
  }

  /**
   * Parses keyring JSON text or an already parsed object.
   * @param source names the keyring in error messages (e.g. its path).
   * @throws ConfigError ERR_KEYRING_INVALID (naming the entry index and field), ERR_KEY_WEAK
   */
  static parse(input: string | object, source = 'keyring'): Keyring {
    const name = String(source);
    return guard(
      () => Keyring.#parseUnguarded(input, name),
      (cause) =>
        new ConfigError(
          'ERR_KEYRING_INVALID',
          `${name}: keyring could not be read`,
          { source: name, where: '$' },
          { cause },
        ),
    );
  }

  static #parseUnguarded(input: string | object, source: string): Keyring {
    let value: unknown = input;
    if (typeof input === 'string') {
      if (input.length > MAX_KEYRING_CHARS) fail(source, '$', `larger than ${MAX_KEYRING_CHARS} characters`);
      const problem = scanJson(input, 16, true);
      if (problem?.kind === 'depth') fail(source, '$', 'JSON nested too deep');
      if (problem?.kind === 'duplicate') fail(source, '$', `duplicate key ${JSON.stringify(problem.key)}`);
      try {
        value = JSON.parse(input);
      } catch {
        fail(source, '$', 'not valid JSON');
      }
    }
    const top = plainObject(value, source, '$');
    for (const key of Object.keys(top)) {
      if (key !== 'version' && key !== 'keys') fail(source, `$.${key.slice(0, 64)}`, 'unknown field');
    }
    const version = top['version'];
    if (typeof version !== 'number' || !Number.isSafeInteger(version) || version < 0) {
      fail(source, '$.version', `expected a non-negative integer, got ${kind(version)}`);
    }
    const keys = top['keys'];
    if (!Array.isArray(keys)) fail(source, '$.keys', `expected an array, got ${kind(keys)}`);
    if (keys.length > MAX_KEYS) fail(source, '$.keys', `expected at most ${MAX_KEYS} keys`);
    const resolved: ResolvedKey[] = [];
    const seen = new Set<string>();
    for (let i = 0; i < keys.length; i++) {
      const r = resolveEntry(keys[i] as unknown, source, `keys[${i}]`);
      // Defends against ambiguous trust (two entries for one key with different scopes).
      if (seen.has(r.entry.keyid)) fail(source, `keys[${i}].keyid`, `duplicate key ${r.entry.keyid}`);
      seen.add(r.entry.keyid);
      resolved.push(r);
    }
    return new Keyring(version, resolved);
  }

  /**
   * Reads and parses a keyring file (bounded read).
   * @throws UsageError ERR_IO; ConfigError ERR_KEYRING_INVALID, ERR_KEY_WEAK
   */
  static load(path: string): Keyring {
    return Keyring.parse(readKeyringFile(path), path);
  }

  /** The entry for `keyid`, or undefined. */
  get(keyid: string): KeyringEntry | undefined {
    return this.#byId.get(keyid)?.entry;
  }

  /** The entry with its decoded public key and parsed times (for verification). */
  resolve(keyid: string): ResolvedKey | undefined {
    return this.#byId.get(keyid);
  }

  /**
   * Why the key `keyid` may not sign `identifier` of `tenant` at `nowMs`, or undefined when it may.
   * An unknown key is ERR_KEY_UNKNOWN.
   */
  refusal(keyid: string, tenant: string, identifier: string, nowMs: number): ScopeRefusal | undefined {
    const r = this.#byId.get(keyid);
    if (r === undefined) return 'ERR_KEY_UNKNOWN';
    if (r.entry.status !== 'active') return 'ERR_KEY_REVOKED';
    if (r.validUntilMs !== undefined && nowMs >= r.validUntilMs) return 'ERR_KEY_EXPIRED';
    if (r.validFromMs !== undefined && nowMs < r.validFromMs) return 'ERR_KEY_NOT_YET_VALID';
    if (!r.entry.tenants.includes(tenant)) return 'ERR_KEY_TENANT_SCOPE';
    if (!r.entry.identifiers.some((glob) => matchGlob(glob, identifier))) return 'ERR_KEY_IDENTIFIER_SCOPE';
    return undefined;
  }

  /**
   * A new keyring with `entry` added and the version bumped.
   * @throws ConfigError ERR_KEYRING_INVALID (invalid entry, or the key is already present), ERR_KEY_WEAK
   */
  withKey(entry: KeyringEntry): Keyring {
    const where = `keys[${this.entries.length}]`;
    const r = guard(
      () => resolveEntry(entry, 'keyring', where),
      (cause) =>
        new ConfigError(
          'ERR_KEYRING_INVALID',
          `keyring: ${where}: entry could not be read`,
          { where },
          { cause },
        ),
    );
    if (this.#byId.has(r.entry.keyid))
      fail('keyring', 'keyid', `key ${r.entry.keyid} is already in the keyring`);
    return new Keyring(this.version + 1, [...this.#byId.values(), r]);
  }

  /**
   * A new keyring with `keyid` marked revoked and the version bumped.
   * @throws TrustError ERR_KEY_UNKNOWN when the key is not in the keyring
   */
  withRevoked(keyid: string): Keyring {
    const existing = this.#byId.get(keyid);
    if (existing === undefined)
      throw new TrustError('ERR_KEY_UNKNOWN', `key ${String(keyid).slice(0, 64)} is not in the keyring`);
    const next = [...this.#byId.values()].map((r) =>
      r.entry.keyid === keyid
        ? Object.freeze({ ...r, entry: Object.freeze({ ...r.entry, status: 'revoked' as const }) })
        : r,
    );
    return new Keyring(this.version + 1, next);
  }

  /** The keyring file shape (what {@link Keyring.parse} reads back). */
  toJSON(): KeyringJson {
    return { version: this.version, keys: this.entries };
  }
}
