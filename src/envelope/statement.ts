/**
 * The signed statement: strict decoding of the payload (UTF-8, canonical JSON, closed schema,
 * hashes), and building canonical payload bytes for signing.
 */
import { createHash } from 'node:crypto';
import { EnvelopeError } from '../errors.ts';
import {
  ARTIFACT_NAME,
  CAPABILITY_NAME,
  COMPONENT_IDENTIFIER,
  ENTRY_CLASS_NAME,
  TENANT_NAME,
} from '../names.ts';
import { decodeBase64Strict } from './base64.ts';
import { guard } from './guard.ts';
import { assertPlainJson, canonicalBytes, parseCanonicalJson } from './canonical-json.ts';
import { checkJsonBudget, type BudgetProblem } from './json-budget.ts';
import { DEFAULT_ENVELOPE_LIMITS, resolveLimits, statementBudget, type EnvelopeLimits } from './limits.ts';
import { visibleName, visibleText } from './visible.ts';
import { checkDependencies } from './dependencies.ts';
import { readStatementVersion } from './statement-version.ts';
import { type Artifact, type JsonValue, type Statement } from './types.ts';

/** media type `type/subtype` (RFC 6838 restricted names, no parameters). */
const MEDIA_TYPE = /^[A-Za-z0-9][A-Za-z0-9!#$&^_.+-]{0,63}\/[A-Za-z0-9][A-Za-z0-9!#$&^_.+-]{0,63}$/;
const HEX64 = /^[0-9a-f]{64}$/;
/** RFC 3339 date-time, upper-case T and Z, seconds required, no leap second. */
const RFC3339 = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(\.\d{1,9})?(Z|[+-](\d{2}):(\d{2}))$/;
// C0, DEL and C1 controls: refused in text shown to people (log / terminal injection).
// eslint-disable-next-line no-control-regex
const CONTROL = /[\u0000-\u001f\u007f-\u009f]/;

const FIELDS = [
  '_type',
  'tenant',
  'identifier',
  'version',
  'entry',
  'source',
  'sourceSha256',
  'params',
  'artifacts',
  'requires',
  'repr',
  'issuedAt',
  'expiresAt',
  'packer',
] as const;
const OPTIONAL = new Set<string>(['expiresAt']);
/** v2 adds `dependencies` (required there: a v2 statement without it is written as v1). */
const FIELDS_V2 = [...FIELDS, 'dependencies'] as const;
const ARTIFACT_FIELDS = ['sha256', 'size', 'mediaType', 'data'] as const;

const strictDecoder = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });
const encoder = new TextEncoder();

function invalid(field: string, message: string): never {
  throw new EnvelopeError('ERR_STATEMENT_INVALID', `statement.${field}: ${message}`, { field });
}

function kind(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  return typeof value;
}

/** Hex SHA-256. */
export function sha256Hex(data: Uint8Array | string): string {
  return createHash('sha256').update(data).digest('hex');
}

/**
 * Parses an RFC 3339 timestamp (upper-case `T`/`Z`, seconds required, calendar-checked) to epoch ms.
 * Returns undefined when the text is not one.
 */
export function parseRfc3339(text: unknown): number | undefined {
  if (typeof text !== 'string' || text.length > 40) return undefined;
  const m = RFC3339.exec(text);
  if (!m) return undefined;
  const [year, month, day, hour, minute, second] = [m[1], m[2], m[3], m[4], m[5], m[6]].map(Number) as [
    number,
    number,
    number,
    number,
    number,
    number,
  ];
  if (month < 1 || month > 12 || hour > 23 || minute > 59 || second > 59) return undefined;
  const daysInMonth = new Date(Date.UTC(year, month, 0)).getUTCDate();
  if (day < 1 || day > daysInMonth) return undefined;
  if (m[9] !== undefined && (Number(m[9]) > 23 || Number(m[10]) > 59)) return undefined;
  const ms = Date.parse(text);
  return Number.isFinite(ms) ? ms : undefined;
}

function text(value: unknown, field: string, max: number, pattern?: RegExp): string {
  if (typeof value !== 'string') invalid(field, `expected a string, got ${kind(value)}`);
  if (value.length === 0 || value.length > max)
    invalid(field, `expected 1..${max} characters, got ${value.length}`);
  if (pattern && !pattern.test(value)) invalid(field, `expected to match ${pattern.source}`);
  if (!pattern && CONTROL.test(value)) invalid(field, 'control characters are not allowed');
  return value;
}

function closedObject(
  value: unknown,
  field: string,
  allowed: readonly string[],
  optional: ReadonlySet<string>,
): Record<string, unknown> {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    invalid(field, `expected an object, got ${kind(value)}`);
  }
  const obj = value as Record<string, unknown>;
  for (const key of Object.keys(obj)) {
    // Defends against smuggled fields (e.g. cachedData, filename): unknown fields are refused.
    // Defends against terminal injection through the refusal message (inspect/check show it for
    // unverified envelopes): the untrusted name is quoted with controls and bidi marks escaped.
    if (!allowed.includes(key))
      invalid(field === '' ? visibleName(key) : `${field}.${visibleName(key)}`, 'unknown field');
  }
  for (const key of allowed) {
    if (!optional.has(key) && !Object.prototype.hasOwnProperty.call(obj, key)) {
      invalid(field === '' ? key : `${field}.${key}`, 'missing required field');
    }
  }
  return obj;
}

function deepFreeze<T>(value: T): T {
  const stack: unknown[] = [value];
  while (stack.length > 0) {
    const v = stack.pop();
    if (v !== null && typeof v === 'object' && !Object.isFrozen(v)) {
      Object.freeze(v);
      for (const child of Object.values(v)) stack.push(child);
    }
  }
  return value;
}

/**
 * Validates a parsed statement object against the closed schema and checks its hashes.
 * The object must come from JSON.parse (plain JSON); it is frozen in place.
 */
function checkStatement(value: unknown, limits: EnvelopeLimits): Statement {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    invalid('', `expected an object, got ${kind(value)}`);
  }
  // The format version first: a newer statement is refused as newer (ERR_STATEMENT_VERSION, naming
  // the release that reads it), not as a schema violation of the fields it added.
  const format = readStatementVersion(
    (value as Record<string, unknown>)['_type'],
    (value as Record<string, unknown>)['packer'],
  );
  const s = closedObject(value, '', format >= 2 ? FIELDS_V2 : FIELDS, OPTIONAL);
  if (format >= 2) checkDependencies(s['dependencies']);
  text(s['tenant'], 'tenant', 64, TENANT_NAME);
  text(s['identifier'], 'identifier', 64, COMPONENT_IDENTIFIER);
  const version = s['version'];
  if (typeof version !== 'number' || !Number.isSafeInteger(version) || version < 1) {
    invalid(
      'version',
      `expected an integer from 1 to 2^53-1, got ${kind(version)} ${typeof version === 'number' ? version : ''}`.trimEnd(),
    );
  }
  text(s['entry'], 'entry', 128, ENTRY_CLASS_NAME);
  const source = s['source'];
  if (typeof source !== 'string') invalid('source', `expected a string, got ${kind(source)}`);
  const sourceBytes = encoder.encode(source);
  if (sourceBytes.length > limits.maxSourceBytes) {
    throw new EnvelopeError(
      'ERR_INPUT_TOO_LARGE',
      `statement.source is ${sourceBytes.length} bytes, more than the ${limits.maxSourceBytes}-byte limit`,
      { field: 'source', size: sourceBytes.length, limit: limits.maxSourceBytes },
    );
  }
  const sourceSha256 = text(s['sourceSha256'], 'sourceSha256', 64, HEX64);
  // Defends against a source swapped under a stale hash (e.g. by a buggy build step).
  if (sha256Hex(sourceBytes) !== sourceSha256) {
    throw new EnvelopeError(
      'ERR_DIGEST_MISMATCH',
      'statement.sourceSha256 does not match the SHA-256 of source',
      {
        field: 'sourceSha256',
      },
    );
  }
  if (!('params' in s) || s['params'] === undefined) invalid('params', 'missing required field');
  checkArtifacts(s['artifacts'], limits);
  const requires = s['requires'];
  if (!Array.isArray(requires)) invalid('requires', `expected an array, got ${kind(requires)}`);
  if (requires.length > limits.maxRequires)
    invalid('requires', `expected at most ${limits.maxRequires} entries, got ${requires.length}`);
  const seen = new Set<string>();
  requires.forEach((name: unknown, i) => {
    text(name, `requires[${i}]`, 32, CAPABILITY_NAME);
    if (seen.has(name as string)) invalid(`requires[${i}]`, `duplicate capability ${name as string}`);
    seen.add(name as string);
  });
  text(s['repr'], 'repr', limits.maxReprLength);
  const issued = parseRfc3339(s['issuedAt']);
  if (issued === undefined) invalid('issuedAt', 'expected an RFC 3339 date-time like 2026-01-02T03:04:05Z');
  if ('expiresAt' in s) {
    const expires = parseRfc3339(s['expiresAt']);
    if (expires === undefined)
      invalid('expiresAt', 'expected an RFC 3339 date-time like 2026-01-02T03:04:05Z');
    if (expires <= issued) invalid('expiresAt', 'expected a time after issuedAt');
  }
  const packer = closedObject(s['packer'], 'packer', ['name', 'version'], new Set());
  text(packer['name'], 'packer.name', limits.maxShortTextLength);
  text(packer['version'], 'packer.version', limits.maxShortTextLength);
  return deepFreeze(s) as unknown as Statement;
}

function checkArtifacts(value: unknown, limits: EnvelopeLimits): void {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    invalid('artifacts', `expected an object, got ${kind(value)}`);
  }
  const names = Object.keys(value);
  if (names.length > limits.maxArtifacts)
    invalid('artifacts', `expected at most ${limits.maxArtifacts}, got ${names.length}`);
  let total = 0;
  for (const name of names) {
    const field = `artifacts[${visibleText(JSON.stringify(name.slice(0, 64)))}]`;
    // Defends against path traversal and prototype keys: names are a safe, anchored charset.
    if (!ARTIFACT_NAME.test(name)) invalid(field, `name must match ${ARTIFACT_NAME.source}`);
    const a = closedObject((value as Record<string, unknown>)[name], field, ARTIFACT_FIELDS, new Set());
    const sha = text(a['sha256'], `${field}.sha256`, 64, HEX64);
    const size = a['size'];
    if (typeof size !== 'number' || !Number.isSafeInteger(size) || size < 0) {
      invalid(`${field}.size`, `expected a non-negative integer, got ${kind(size)}`);
    }
    text(a['mediaType'], `${field}.mediaType`, limits.maxShortTextLength, MEDIA_TYPE);
    const data = a['data'];
    if (typeof data !== 'string') invalid(`${field}.data`, `expected a base64 string, got ${kind(data)}`);
    total += Math.floor((data.length / 4) * 3);
    if (total > limits.maxArtifactsBytes + 2) {
      throw new EnvelopeError(
        'ERR_INPUT_TOO_LARGE',
        `statement.artifacts exceed the ${limits.maxArtifactsBytes}-byte limit`,
        {
          field: 'artifacts',
          limit: limits.maxArtifactsBytes,
        },
      );
    }
    let bytes: Uint8Array;
    try {
      bytes = decodeBase64Strict(data, `statement.${field}.data`);
    } catch {
      invalid(`${field}.data`, 'expected canonical base64');
    }
    if (bytes.length !== size) {
      throw new EnvelopeError(
        'ERR_DIGEST_MISMATCH',
        `statement.${field}.size is ${size}, the data has ${bytes.length} bytes`,
        {
          field: `${field}.size`,
        },
      );
    }
    if (sha256Hex(bytes) !== sha) {
      throw new EnvelopeError('ERR_DIGEST_MISMATCH', `statement.${field}.sha256 does not match its data`, {
        field: `${field}.sha256`,
      });
    }
  }
}

function limitsOf(limits: Partial<EnvelopeLimits> | undefined): EnvelopeLimits {
  if (limits === undefined) return DEFAULT_ENVELOPE_LIMITS;
  const resolved = resolveLimits(limits);
  if (typeof resolved === 'string') invalid('', `invalid limits: ${resolved}`);
  return resolved;
}

/**
 * Decodes a (verified) payload into a Statement: strict UTF-8, RFC 8785 canonical bytes, closed
 * schema of docs/envelope.md, source and artifact hashes. The result is deeply frozen.
 * @throws EnvelopeError ERR_PAYLOAD_NOT_CANONICAL (not UTF-8, not JSON, or not canonical),
 *   ERR_STATEMENT_INVALID (names the field), ERR_DIGEST_MISMATCH, ERR_INPUT_TOO_LARGE
 */
export function parseStatement(payload: Uint8Array, limits?: Partial<EnvelopeLimits>): Statement {
  return guard(
    () => parseUnguarded(payload, limits),
    (cause) =>
      new EnvelopeError('ERR_STATEMENT_INVALID', 'statement could not be read', { field: '' }, { cause }),
  );
}

function parseUnguarded(payload: Uint8Array, limits?: Partial<EnvelopeLimits>): Statement {
  const lim = limitsOf(limits);
  if (!(payload instanceof Uint8Array)) invalid('', `expected payload bytes, got ${kind(payload)}`);
  if (payload.length > lim.maxEnvelopeBytes) {
    throw new EnvelopeError(
      'ERR_INPUT_TOO_LARGE',
      `payload is more than the ${lim.maxEnvelopeBytes}-byte limit`,
      {
        limit: lim.maxEnvelopeBytes,
      },
    );
  }
  let json: string;
  try {
    json = strictDecoder.decode(payload);
  } catch {
    throw new EnvelopeError('ERR_PAYLOAD_NOT_CANONICAL', 'payload is not valid UTF-8');
  }
  // Defends against a statement, signed or not, that is small in bytes but huge in structure
  // (1.2 million params keys stalled the node for 8.5 s): its keys, values, key lengths and
  // nesting are counted in one linear scan before JSON.parse, canonicalisation or freezing runs.
  const problem = checkJsonBudget(json, statementBudget(lim));
  if (problem !== undefined) refuseStructure(problem);
  const parsed = parseCanonicalJson(json, lim.maxJsonDepth);
  if (!parsed.ok) {
    if (parsed.reason === 'depth') invalid('params', `JSON nested deeper than ${lim.maxJsonDepth}`);
    throw new EnvelopeError(
      'ERR_PAYLOAD_NOT_CANONICAL',
      parsed.reason === 'not-json' ? 'payload is not JSON' : 'payload is not RFC 8785 canonical JSON',
    );
  }
  const value = parsed.value;
  return checkStatement(value, lim);
}

/** The typed refusal for a statement that breaks its structural budget. */
function refuseStructure(problem: BudgetProblem): never {
  switch (problem.kind) {
    case 'depth':
      return invalid('params', `JSON nested deeper than ${problem.limit}`);
    case 'syntax':
    case 'duplicate':
      throw new EnvelopeError('ERR_PAYLOAD_NOT_CANONICAL', 'payload is not JSON');
    default: {
      const what = {
        keysPerObject: `an object with more than ${problem.limit} keys`,
        totalKeys: `more than ${problem.limit} object keys in all`,
        itemsPerArray: `an array with more than ${problem.limit} items`,
        totalValues: `more than ${problem.limit} JSON values in all`,
        stringLength: `a string longer than ${problem.limit} characters`,
        keyLength: `a key longer than ${problem.limit} characters`,
      }[problem.kind];
      throw new EnvelopeError(
        'ERR_INPUT_TOO_LARGE',
        `statement has ${what} (params included; bulk data belongs in artifacts)`,
        { budget: problem.kind, limit: problem.limit },
      );
    }
  }
}

/** Hex SHA-256 of the payload bytes: the statement's identity (`digest`). */
export function statementDigest(payload: Uint8Array): string {
  return sha256Hex(payload);
}

/**
 * Canonical payload bytes of a statement, ready to sign. Only own enumerable string keys of the
 * statement count (a packer's non-enumerable helpers are ignored). The result is parsed back with
 * {@link parseStatement}, so nothing invalid is ever signed.
 * @throws EnvelopeError ERR_JSON_INVALID, ERR_STATEMENT_INVALID, ERR_DIGEST_MISMATCH, ERR_INPUT_TOO_LARGE
 */
export function buildStatementPayload(statement: Statement, limits?: Partial<EnvelopeLimits>): Uint8Array {
  return guard(
    () => buildUnguarded(statement, limits),
    (cause) =>
      new EnvelopeError(
        'ERR_JSON_INVALID',
        'statement could not be read as plain data',
        { path: 'statement' },
        { cause },
      ),
  );
}

function buildUnguarded(statement: Statement, limits?: Partial<EnvelopeLimits>): Uint8Array {
  if (statement === null || typeof statement !== 'object' || Array.isArray(statement)) {
    invalid('', `expected a statement object, got ${kind(statement)}`);
  }
  const copy: Record<string, unknown> = {};
  const descriptors = Object.getOwnPropertyDescriptors(statement);
  for (const key of Object.keys(descriptors)) {
    const d = descriptors[key]!;
    if (!d.enumerable) continue;
    if (!('value' in d)) invalid(key, 'expected a data property, got an accessor');
    copy[key] = d.value;
  }
  assertPlainJson(copy, 'statement');
  const bytes = canonicalBytes(copy);
  parseStatement(bytes, limits);
  return bytes;
}

/** Decoded bytes of one artifact of a parsed statement (the hash was checked by parseStatement). */
export function artifactBytes(artifact: Artifact): Uint8Array {
  return decodeBase64Strict(artifact.data, 'artifact.data');
}

/** Re-exported for callers that only need the JSON type. */
export type { JsonValue };
