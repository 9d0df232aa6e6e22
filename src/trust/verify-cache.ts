/**
 * A bounded LRU of envelopes whose signatures and statement already checked out, keyed by the
 * envelope bytes' digest, the keyring revision and the limits. A hit skips only pure work
 * (signature math, payload parsing, schema, hashes); time windows, revocation, scopes, threshold,
 * tenant, expiry and rollback are checked again on every call.
 */
import { ConfigError } from '../errors.ts';
import type { Envelope, Statement } from '../envelope/types.ts';

/** What a cache entry remembers: the pure result of decoding and signature checks. */
export interface CachedVerification {
  readonly envelope: Envelope;
  readonly statement: Statement;
  readonly payload: Uint8Array;
  readonly digest: string;
  /** keyids whose signature verified cryptographically under a known keyring key */
  readonly validKeyids: readonly string[];
  /** per-signature failure reasons before scope checks (unknown key, bad signature) */
  readonly preRefusals: readonly ('ERR_KEY_UNKNOWN' | 'ERR_SIGNATURE_INVALID' | 'ERR_KEY_REVOKED')[];
}

// Defends against an unbounded cache: NaN compares false with every size, so `maxEntries: NaN`
// (a bad config value) would silently disable eviction; only numbers >= 0 are accepted.
function bound(value: unknown, fallback: number, name: string): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || Number.isNaN(value) || value < 0) {
    throw new ConfigError('ERR_CONFIG_INVALID', `VerifyCache: ${name} must be a number >= 0`);
  }
  return value;
}

/** Options of a {@link VerifyCache}. */
export interface VerifyCacheOptions {
  /** Most entries kept. Default 1024. */
  readonly maxEntries?: number;
  /** Most payload bytes kept in total. Default 64 MiB. Larger payloads are not cached. */
  readonly maxBytes?: number;
}

/**
 * Bounded LRU of verification results. Only successful cryptographic verifications are stored,
 * so an attacker cannot fill it with forgeries.
 */
export class VerifyCache {
  readonly #map = new Map<string, CachedVerification>();
  readonly #maxEntries: number;
  readonly #maxBytes: number;
  #bytes = 0;

  /** @throws ConfigError ERR_CONFIG_INVALID when a bound is not a non-negative number. */
  constructor(options: VerifyCacheOptions = {}) {
    this.#maxEntries = Math.max(1, Math.floor(bound(options.maxEntries, 1024, 'maxEntries')));
    this.#maxBytes = Math.max(0, Math.floor(bound(options.maxBytes, 64 * 1024 * 1024, 'maxBytes')));
  }

  /** The entry for `key`, refreshed as most recently used. */
  get(key: string): CachedVerification | undefined {
    const hit = this.#map.get(key);
    if (hit !== undefined) {
      this.#map.delete(key);
      this.#map.set(key, hit);
    }
    return hit;
  }

  /** Stores an entry, evicting the least recently used ones to stay in bounds. */
  set(key: string, value: CachedVerification): void {
    const size = value.payload.byteLength;
    if (size > this.#maxBytes) return;
    const old = this.#map.get(key);
    if (old !== undefined) {
      this.#map.delete(key);
      this.#bytes -= old.payload.byteLength;
    }
    this.#map.set(key, value);
    this.#bytes += size;
    while (this.#map.size > this.#maxEntries || this.#bytes > this.#maxBytes) {
      const oldest = this.#map.keys().next();
      if (oldest.done === true) break;
      const evicted = this.#map.get(oldest.value)!;
      this.#map.delete(oldest.value);
      this.#bytes -= evicted.payload.byteLength;
    }
  }

  /** Number of entries. */
  get size(): number {
    return this.#map.size;
  }

  /** Drops every entry. */
  clear(): void {
    this.#map.clear();
    this.#bytes = 0;
  }
}

/** The cache verifyEnvelope uses when no `cache` option is given. */
export const DEFAULT_VERIFY_CACHE = new VerifyCache();
