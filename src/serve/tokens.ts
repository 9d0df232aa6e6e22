/**
 * Bearer tokens of `sealbox serve`: a file `{"tokens": [{"tenant", "sha256"}]}` holding the hex
 * SHA-256 of each token's UTF-8 bytes (never the token). A presented token is hashed and compared
 * with every entry in constant time.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import { TENANT_NAME } from '../names.ts';
import { ConfigError } from '../errors.ts';

/** Most entries a tokens file may hold. */
export const MAX_TOKENS = 10_000;
/** Longest token accepted in a header (characters). */
export const MAX_TOKEN_LENGTH = 4096;

/** Token hashes → tenants. */
export interface TokenTable {
  /** The tenant of `token`, or undefined when no entry matches. */
  tenantOf(token: string): string | undefined;
  readonly size: number;
}

/**
 * Parses a tokens file's text.
 * @throws ConfigError ERR_CONFIG_INVALID naming the bad entry
 */
export function parseTokens(text: string): TokenTable {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw new ConfigError('ERR_CONFIG_INVALID', 'tokens file: not JSON');
  }
  const list = (value as { tokens?: unknown } | null)?.tokens;
  if (typeof value !== 'object' || value === null || Array.isArray(value) || !Array.isArray(list)) {
    throw new ConfigError('ERR_CONFIG_INVALID', 'tokens file: expected {"tokens": [{"tenant", "sha256"}]}');
  }
  if (list.length > MAX_TOKENS) {
    throw new ConfigError('ERR_CONFIG_INVALID', `tokens file: more than ${MAX_TOKENS} entries`);
  }
  const entries: { tenant: string; hash: Buffer }[] = [];
  list.forEach((entry: unknown, i) => {
    const e = entry as { tenant?: unknown; sha256?: unknown } | null;
    if (typeof e !== 'object' || e === null || Object.keys(e).sort().join(',') !== 'sha256,tenant') {
      throw new ConfigError(
        'ERR_CONFIG_INVALID',
        `tokens file: tokens[${i}] must be exactly {tenant, sha256}`,
      );
    }
    if (typeof e.tenant !== 'string' || !TENANT_NAME.test(e.tenant)) {
      throw new ConfigError(
        'ERR_CONFIG_INVALID',
        `tokens file: tokens[${i}].tenant must match ${TENANT_NAME.source}`,
      );
    }
    if (typeof e.sha256 !== 'string' || !/^[0-9a-f]{64}$/.test(e.sha256)) {
      throw new ConfigError(
        'ERR_CONFIG_INVALID',
        `tokens file: tokens[${i}].sha256 must be 64 lowercase hex`,
      );
    }
    entries.push({ tenant: e.tenant, hash: Buffer.from(e.sha256, 'hex') });
  });
  return Object.freeze({
    size: entries.length,
    tenantOf(token: string): string | undefined {
      const presented = createHash('sha256').update(token, 'utf8').digest();
      let found: string | undefined;
      // Defends against timing attacks on the token: every entry is compared in constant time and
      // the loop never stops early, so the time does not depend on where (or whether) it matched.
      for (const entry of entries) {
        if (timingSafeEqual(entry.hash, presented) && found === undefined) found = entry.tenant;
      }
      return found;
    },
  });
}

/** The hex SHA-256 of a token, as the tokens file holds it. */
export function tokenHash(token: string): string {
  return createHash('sha256').update(token, 'utf8').digest('hex');
}
