/**
 * verifyEnvelope: the trust pipeline, one fixed sequence of small steps. Nothing from the payload
 * is parsed until a signature over its PAE has verified under a keyring key.
 */
import { createHash } from 'node:crypto';
import { ConfigError, EnvelopeError, TrustError, type ErrorCode } from '../errors.ts';
import { decodeEnvelope, encodeEnvelope, type DecodedEnvelope } from '../envelope/envelope.ts';
import { guard } from '../envelope/guard.ts';
import { resolveLimits, type EnvelopeLimits } from '../envelope/limits.ts';
import { pae } from '../envelope/pae.ts';
import { parseRfc3339, parseStatement, statementDigest } from '../envelope/statement.ts';
import { MAX_SIGNATURES, PAYLOAD_TYPE, type Envelope, type Statement } from '../envelope/types.ts';
import { verifyEd25519 } from './ed25519.ts';
import { Keyring, type ScopeRefusal } from './keyring.ts';
import type { RollbackStore } from './rollback.ts';
import { DEFAULT_VERIFY_CACHE, VerifyCache, type CachedVerification } from './verify-cache.ts';

/** Options of {@link verifyEnvelope}; every one defaults to the safe choice. */
export interface VerifyOptions {
  /** The tenant the caller loads for; the statement must belong to it. Default: not checked. */
  readonly tenant?: string;
  /** The time to check windows and expiry against. Default: now. */
  readonly now?: Date;
  /** Distinct valid in-scope keys required, 1..4. Default 1. */
  readonly threshold?: number;
  /** Refuse statements without expiresAt. Default false. */
  readonly requireExpiry?: boolean;
  /** Rollback state; checked and recorded last. Default: none. */
  readonly rollback?: RollbackStore;
  /** Size limits (over DEFAULT_ENVELOPE_LIMITS). */
  readonly limits?: Partial<EnvelopeLimits>;
  /** Allowed clock skew for issuedAt in the future, ms. Default 5 minutes. */
  readonly clockSkewMs?: number;
  /** Verification cache; `false` disables it. Default: a module-level VerifyCache. */
  readonly cache?: VerifyCache | false;
}

/** The result of a successful verification (frozen). */
export interface VerifiedEnvelope {
  readonly envelope: Envelope;
  readonly statement: Statement;
  /** the verified payload bytes (canonical JSON of the statement) */
  readonly payload: Uint8Array;
  /** hex SHA-256 of the payload */
  readonly digest: string;
  /** keyids of the distinct valid, in-scope keys that counted */
  readonly signers: readonly string[];
  readonly keyringRevision: string;
  /** true when signatures and schema were served from the verify cache (time, scope and rollback were re-checked) */
  readonly cached: boolean;
}

const OPTION_KEYS = new Set([
  'tenant',
  'now',
  'threshold',
  'requireExpiry',
  'rollback',
  'limits',
  'clockSkewMs',
  'cache',
]);

interface Resolved {
  readonly tenant: string | undefined;
  readonly nowMs: number;
  readonly threshold: number;
  readonly requireExpiry: boolean;
  readonly rollback: RollbackStore | undefined;
  readonly limits: EnvelopeLimits;
  readonly limitsKey: string;
  readonly clockSkewMs: number;
  readonly cache: VerifyCache | undefined;
}

function badOption(message: string): never {
  throw new ConfigError('ERR_CONFIG_INVALID', `verifyEnvelope: ${message}`);
}

/** Step 0: options, read from own properties only and checked once. */
function resolveOptions(options: VerifyOptions | undefined): Resolved {
  const o = (options ?? {}) as Record<string, unknown>;
  if (typeof o !== 'object' || o === null) badOption('options must be an object');
  for (const key of Reflect.ownKeys(o)) {
    // Defends against a misspelt option silently weakening verification (e.g. `treshold`).
    if (typeof key !== 'string' || !OPTION_KEYS.has(key)) badOption(`unknown option ${String(key)}`);
  }
  const tenant = o['tenant'];
  if (tenant !== undefined && typeof tenant !== 'string') badOption('tenant must be a string');
  const now = o['now'];
  let nowMs = Date.now();
  if (now !== undefined) {
    if (!(now instanceof Date) || !Number.isFinite(now.getTime())) badOption('now must be a valid Date');
    nowMs = now.getTime();
  }
  const threshold = o['threshold'] ?? 1;
  if (
    typeof threshold !== 'number' ||
    !Number.isInteger(threshold) ||
    threshold < 1 ||
    threshold > MAX_SIGNATURES
  ) {
    badOption(`threshold must be an integer from 1 to ${MAX_SIGNATURES}`);
  }
  const requireExpiry = o['requireExpiry'] ?? false;
  if (typeof requireExpiry !== 'boolean') badOption('requireExpiry must be a boolean');
  const rollback = o['rollback'];
  if (
    rollback !== undefined &&
    (rollback === null || typeof (rollback as RollbackStore).accept !== 'function')
  ) {
    badOption('rollback must be a RollbackStore');
  }
  const limits = resolveLimits(o['limits']);
  if (typeof limits === 'string') badOption(limits);
  const clockSkewMs = o['clockSkewMs'] ?? 5 * 60 * 1000;
  if (typeof clockSkewMs !== 'number' || !Number.isFinite(clockSkewMs) || clockSkewMs < 0)
    badOption('clockSkewMs must be >= 0');
  const cacheOption = o['cache'];
  let cache: VerifyCache | undefined = DEFAULT_VERIFY_CACHE;
  if (cacheOption === false) cache = undefined;
  else if (cacheOption !== undefined) {
    if (!(cacheOption instanceof VerifyCache)) badOption('cache must be a VerifyCache or false');
    cache = cacheOption;
  }
  return {
    tenant,
    nowMs,
    threshold,
    requireExpiry,
    rollback: rollback as RollbackStore | undefined,
    limits,
    limitsKey: options?.limits === undefined ? 'default' : JSON.stringify(limits),
    clockSkewMs,
    cache,
  };
}

type PreRefusal = CachedVerification['preRefusals'][number];

/** Steps 1-3: size, envelope shape, signatures over PAE, then the statement. Pure; cacheable. */
function decodeAndVerify(
  input: string | Uint8Array | DecodedEnvelope,
  keyring: Keyring,
  limits: EnvelopeLimits,
): CachedVerification {
  // 1. Size and envelope shape (closed schema, strict base64, 1..4 distinct keyids).
  const decoded =
    typeof input === 'string' || input instanceof Uint8Array ? decodeEnvelope(input, limits) : input;
  // 2. Every signature over PAE, before anything reads the payload.
  const message = pae(PAYLOAD_TYPE, decoded.payload);
  const validKeyids: string[] = [];
  const preRefusals: PreRefusal[] = [];
  decoded.envelope.signatures.forEach((sig, i) => {
    const key = keyring.resolve(sig.keyid);
    if (key === undefined) {
      preRefusals.push('ERR_KEY_UNKNOWN');
      return;
    }
    // A revoked key's signature is not even checked: it can never count.
    if (key.entry.status !== 'active') {
      preRefusals.push('ERR_KEY_REVOKED');
      return;
    }
    if (verifyEd25519(key.publicKey, message, decoded.signatures[i]!)) validKeyids.push(sig.keyid);
    else preRefusals.push('ERR_SIGNATURE_INVALID');
  });
  if (validKeyids.length === 0) {
    // Defends against parsing attacker-chosen payloads: nothing is decoded without a valid signature.
    const code: PreRefusal = preRefusals.includes('ERR_SIGNATURE_INVALID')
      ? 'ERR_SIGNATURE_INVALID'
      : preRefusals.includes('ERR_KEY_REVOKED')
        ? 'ERR_KEY_REVOKED'
        : 'ERR_KEY_UNKNOWN';
    throw new TrustError(code, messageFor(code), { keyids: decoded.envelope.signatures.map((s) => s.keyid) });
  }
  // 3. Statement: canonical bytes, closed schema, source and artifact hashes.
  const statement = parseStatement(decoded.payload, limits);
  return Object.freeze({
    envelope: decoded.envelope,
    statement,
    payload: decoded.payload,
    digest: statementDigest(decoded.payload),
    validKeyids: Object.freeze(validKeyids),
    preRefusals: Object.freeze(preRefusals),
  });
}

function messageFor(code: ErrorCode, detail = ''): string {
  switch (code) {
    case 'ERR_SIGNATURE_INVALID':
      return 'no signature verifies over the envelope under its keyring key';
    case 'ERR_KEY_REVOKED':
      return `the signing key is revoked${detail}`;
    case 'ERR_KEY_UNKNOWN':
      return 'no signing key is in the keyring';
    case 'ERR_KEY_EXPIRED':
      return `the signing key is past its validUntil${detail}`;
    case 'ERR_KEY_NOT_YET_VALID':
      return `the signing key is before its validFrom${detail}`;
    case 'ERR_KEY_TENANT_SCOPE':
      return `the signing key may not sign for this tenant${detail}`;
    case 'ERR_KEY_IDENTIFIER_SCOPE':
      return `the signing key may not sign this identifier${detail}`;
    default:
      return code;
  }
}

// When no key counts, the most specific reason wins (a scope problem says more than "unknown").
const REFUSAL_PRIORITY: readonly (ScopeRefusal | PreRefusal)[] = [
  'ERR_KEY_TENANT_SCOPE',
  'ERR_KEY_IDENTIFIER_SCOPE',
  'ERR_KEY_EXPIRED',
  'ERR_KEY_NOT_YET_VALID',
  'ERR_KEY_REVOKED',
  'ERR_SIGNATURE_INVALID',
  'ERR_KEY_UNKNOWN',
];

/** Step 4: per valid signature, the key's status, window and scopes; distinct keys vs threshold. */
function countSigners(result: CachedVerification, keyring: Keyring, o: Resolved): string[] {
  const { tenant, identifier } = result.statement;
  const signers: string[] = [];
  const refusals: (ScopeRefusal | PreRefusal)[] = [...result.preRefusals];
  for (const keyid of result.validKeyids) {
    const refusal = keyring.refusal(keyid, tenant, identifier, o.nowMs);
    if (refusal === undefined) signers.push(keyid);
    else refusals.push(refusal);
  }
  if (signers.length === 0) {
    const code = REFUSAL_PRIORITY.find((c) => refusals.includes(c)) ?? 'ERR_KEY_UNKNOWN';
    throw new TrustError(code, messageFor(code, ` (${tenant}/${identifier})`), { tenant, identifier });
  }
  // Defends against one key (or one compromised signer) standing in for several: keyids are
  // distinct (parseEnvelope refuses duplicates) and each is a distinct public key (recomputed).
  if (signers.length < o.threshold) {
    throw new TrustError('ERR_THRESHOLD', `${signers.length} valid signature(s), ${o.threshold} required`, {
      valid: signers.length,
      required: o.threshold,
    });
  }
  return signers;
}

/** Steps 5-6: the caller's tenant, the statement's own validity. */
function checkStatementTime(statement: Statement, o: Resolved): void {
  if (o.tenant !== undefined && o.tenant !== statement.tenant) {
    // Defends against cross-tenant loading: tenant A's signed component offered to tenant B.
    throw new TrustError(
      'ERR_TENANT_MISMATCH',
      `statement is for tenant ${statement.tenant}, not ${o.tenant.slice(0, 64)}`,
      {
        tenant: o.tenant.slice(0, 64),
        statementTenant: statement.tenant,
      },
    );
  }
  if (statement.expiresAt === undefined) {
    if (o.requireExpiry)
      throw new TrustError('ERR_EXPIRY_REQUIRED', 'policy requires expiresAt and the statement has none');
  } else if (o.nowMs >= parseRfc3339(statement.expiresAt)!) {
    throw new TrustError('ERR_STATEMENT_EXPIRED', `statement expired at ${statement.expiresAt}`, {
      expiresAt: statement.expiresAt,
    });
  }
  if (parseRfc3339(statement.issuedAt)! > o.nowMs + o.clockSkewMs) {
    throw new TrustError(
      'ERR_STATEMENT_NOT_YET_VALID',
      `statement is issued at ${statement.issuedAt}, in the future`,
      {
        issuedAt: statement.issuedAt,
      },
    );
  }
}

function cacheKeyOf(
  input: string | Uint8Array | DecodedEnvelope,
  keyring: Keyring,
  limitsKey: string,
): string {
  const hash = createHash('sha256');
  if (typeof input === 'string') hash.update('s').update(input);
  else if (input instanceof Uint8Array) hash.update('b').update(input);
  else hash.update('o').update(encodeEnvelope(input.envelope));
  return `${hash.digest('hex')}:${keyring.revision}:${limitsKey}`;
}

/**
 * Verifies an envelope against a keyring and returns the verified statement.
 * Order: size → envelope shape → every signature over PAE (before the payload is parsed) →
 * statement (canonical, closed schema, hashes) → per signature: key known, not revoked, inside its
 * validity window, tenant scope, identifier glob → distinct valid keys vs threshold →
 * options.tenant → expiresAt / issuedAt → rollback (atomic check and record).
 * @throws EnvelopeError ERR_INPUT_TOO_LARGE, ERR_ENVELOPE_MALFORMED, ERR_PAYLOAD_TYPE,
 *   ERR_TOO_MANY_SIGNATURES, ERR_PAYLOAD_NOT_CANONICAL, ERR_STATEMENT_INVALID, ERR_DIGEST_MISMATCH
 * @throws TrustError ERR_KEY_UNKNOWN, ERR_KEY_REVOKED, ERR_SIGNATURE_INVALID, ERR_KEY_TENANT_SCOPE,
 *   ERR_KEY_IDENTIFIER_SCOPE, ERR_KEY_EXPIRED, ERR_KEY_NOT_YET_VALID, ERR_THRESHOLD, ERR_TENANT_MISMATCH,
 *   ERR_STATEMENT_EXPIRED, ERR_STATEMENT_NOT_YET_VALID, ERR_EXPIRY_REQUIRED, ERR_ROLLBACK, ERR_ROLLBACK_DIGEST
 * @throws ConfigError ERR_CONFIG_INVALID (bad options), ERR_STATE_STORE
 * @example const { statement, signers } = verifyEnvelope(text, Keyring.load('keyring.json'), { tenant: 'acme' });
 */
export function verifyEnvelope(
  input: string | Uint8Array | Envelope | object,
  keyring: Keyring,
  options?: VerifyOptions,
): VerifiedEnvelope {
  const o = guard(
    () => resolveOptions(options),
    (cause) =>
      new ConfigError('ERR_CONFIG_INVALID', 'verifyEnvelope: options could not be read', {}, { cause }),
  );
  if (!(keyring instanceof Keyring)) badOption('keyring must be a Keyring');
  // Defends against an object that answers differently on a second read (getters on array
  // indexes, Proxies): objects are decoded exactly once into a frozen copy, and that copy is both
  // the cache key and what gets verified.
  const source: string | Uint8Array | DecodedEnvelope = guard(
    () =>
      typeof input === 'string' || input instanceof Uint8Array ? input : decodeEnvelope(input, o.limits),
    (cause) =>
      new EnvelopeError('ERR_ENVELOPE_MALFORMED', 'envelope could not be read as plain data', {}, { cause }),
  );
  let result: CachedVerification | undefined;
  let key: string | undefined;
  if (o.cache !== undefined) {
    key = cacheKeyOf(source, keyring, o.limitsKey);
    result = o.cache.get(key);
  }
  const cached = result !== undefined;
  if (result === undefined) {
    result = decodeAndVerify(source, keyring, o.limits);
    if (key !== undefined) o.cache?.set(key, result);
  }
  const signers = countSigners(result, keyring, o);
  checkStatementTime(result.statement, o);
  // 7. Rollback last: only a statement that passed every other check is recorded.
  o.rollback?.accept(
    result.statement.tenant,
    result.statement.identifier,
    result.statement.version,
    result.digest,
  );
  return Object.freeze({
    envelope: result.envelope,
    statement: result.statement,
    // A copy: the cached bytes must not be mutable by one caller for the next.
    payload: result.payload.slice(),
    digest: result.digest,
    signers: Object.freeze(signers),
    keyringRevision: keyring.revision,
    cached,
  });
}
