/**
 * Size and shape limits for untrusted envelopes and statements, and the iterative JSON pre-scan
 * that enforces nesting depth (and, where asked, duplicate keys) before any recursive parser runs.
 * The structural budgets of untrusted envelopes and statements are in json-budget.ts.
 */
import type { JsonBudget } from './json-budget.ts';

/** Every limit the envelope and statement parsers enforce. */
export interface EnvelopeLimits {
  /** Largest envelope accepted, in bytes (UTF-8 for text input). Default 32 MiB. */
  readonly maxEnvelopeBytes: number;
  /** Most signatures in one envelope. Default 4 (never more than 4). */
  readonly maxSignatures: number;
  /** Deepest JSON nesting in an envelope or statement (params included). Default 64. */
  readonly maxJsonDepth: number;
  /** Largest `source`, in UTF-8 bytes. Default 2 MiB (the default policy's `source.maxBytes`). */
  readonly maxSourceBytes: number;
  /** Largest sum of decoded artifact sizes. Default 16 MiB. */
  readonly maxArtifactsBytes: number;
  /** Most artifacts in one statement. Default 256. */
  readonly maxArtifacts: number;
  /** Most entries in `requires`. Default 32. */
  readonly maxRequires: number;
  /** Longest `repr`, in UTF-16 code units. Default 1024. */
  readonly maxReprLength: number;
  /** Longest short text field (`packer.name`, `packer.version`, `mediaType`). Default 128. */
  readonly maxShortTextLength: number;
  /**
   * Most object members in one statement, params, artifact entries and the SBOM included.
   * Default 24576 (room for the largest SBOM `dependencies` allows, about 21,500 keys).
   */
  readonly maxJsonKeys: number;
  /** Most members in one object of a statement. Default 4096. */
  readonly maxKeysPerObject: number;
  /** Most JSON values (strings, numbers, literals, objects, arrays) in one statement. Default 49152. */
  readonly maxJsonValues: number;
  /** Longest object key in a statement, in characters as written. Default 1024. */
  readonly maxKeyLength: number;
}

/** The defaults: safe for a node that loads components from untrusted transports. */
export const DEFAULT_ENVELOPE_LIMITS: EnvelopeLimits = Object.freeze({
  maxEnvelopeBytes: 32 * 1024 * 1024,
  maxSignatures: 4,
  maxJsonDepth: 64,
  maxSourceBytes: 2 * 1024 * 1024,
  maxArtifactsBytes: 16 * 1024 * 1024,
  maxArtifacts: 256,
  maxRequires: 32,
  maxReprLength: 1024,
  maxShortTextLength: 128,
  // Defends against a tenant's own signed params stalling the node (issue 16 #3): every key and
  // value is parsed, canonicalised, frozen and re-encoded on the host's event loop, at a few µs
  // each; these budgets keep that work in the tens of milliseconds (bench and
  // test/attacks/loader-event-loop-block.test.ts). Bulk data belongs in artifacts, which the host
  // only hashes: the component parses them inside its sandbox.
  maxJsonKeys: 24576,
  maxKeysPerObject: 4096,
  maxJsonValues: 49152,
  maxKeyLength: 1024,
});

const LIMIT_KEYS = Object.keys(DEFAULT_ENVELOPE_LIMITS) as (keyof EnvelopeLimits)[];

/** Characters of the base64 text of `bytes` bytes (padded). */
function base64Length(bytes: number): number {
  return Math.ceil(bytes / 3) * 4;
}

/**
 * The envelope limits for a policy's envelope size: the byte cap checked before parsing is
 * `maxBytes` plus the base64-of-base64 size of `maxArtifactsBytes` (artifacts are base64 inside
 * the statement, which is base64 inside the envelope); decoded artifacts are held to
 * `maxArtifactsBytes`. Artifacts are so counted separately from the class.
 */
export function envelopeLimitsFor(size: {
  readonly maxBytes: number;
  readonly maxArtifactsBytes: number;
}): Pick<EnvelopeLimits, 'maxEnvelopeBytes' | 'maxArtifactsBytes'> {
  return {
    maxEnvelopeBytes: size.maxBytes + base64Length(base64Length(size.maxArtifactsBytes)),
    maxArtifactsBytes: size.maxArtifactsBytes,
  };
}

/**
 * The structural budget of an envelope's JSON: exactly the DSSE shape's size (an object of 3
 * fields, a `signatures` array of at most `maxSignatures` objects of 2 fields), so anything else
 * is refused within a few hundred characters of where it goes wrong.
 */
export function envelopeBudget(limits: EnvelopeLimits): JsonBudget {
  return {
    maxDepth: 3,
    maxKeysPerObject: 3,
    maxTotalKeys: 3 + 2 * limits.maxSignatures,
    maxItemsPerArray: limits.maxSignatures,
    maxTotalValues: 4 + 3 * limits.maxSignatures,
    maxStringLength: base64Length(limits.maxEnvelopeBytes),
    maxKeyLength: 16,
    rejectDuplicateKeys: true,
  };
}

/**
 * The structural budget of a statement's JSON (params included). Strings may be as long as the
 * source (six characters per byte when escaped) or all artifact bytes in base64.
 */
export function statementBudget(limits: EnvelopeLimits): JsonBudget {
  return {
    maxDepth: limits.maxJsonDepth,
    maxKeysPerObject: limits.maxKeysPerObject,
    maxTotalKeys: limits.maxJsonKeys,
    maxItemsPerArray: limits.maxJsonValues,
    maxTotalValues: limits.maxJsonValues,
    maxStringLength: Math.max(6 * limits.maxSourceBytes, base64Length(limits.maxArtifactsBytes)),
    maxKeyLength: limits.maxKeyLength,
    // Duplicates are refused by the canonical-form check (JSON.parse keeps one, so the bytes differ).
    rejectDuplicateKeys: false,
  };
}

/**
 * Merges caller limits over the defaults. Returns undefined-free, frozen limits.
 * Unknown keys, or values that are not positive safe integers, return an error message instead.
 * `maxSignatures` can only be lowered (docs/envelope.md caps it at 4).
 */
export function resolveLimits(partial: unknown): EnvelopeLimits | string {
  if (partial === undefined) return DEFAULT_ENVELOPE_LIMITS;
  if (partial === null || typeof partial !== 'object' || Array.isArray(partial)) {
    return 'limits must be an object';
  }
  const out: Record<string, number> = { ...DEFAULT_ENVELOPE_LIMITS };
  for (const key of Reflect.ownKeys(partial)) {
    if (typeof key !== 'string' || !(LIMIT_KEYS as string[]).includes(key)) {
      return `unknown limit ${String(key)}`;
    }
    const value = (partial as Record<string, unknown>)[key];
    if (value === undefined) continue;
    if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 1) {
      return `limit ${key} must be a positive integer`;
    }
    out[key] = value;
  }
  if ((out['maxSignatures'] ?? 0) > DEFAULT_ENVELOPE_LIMITS.maxSignatures) {
    return `limit maxSignatures may not exceed ${DEFAULT_ENVELOPE_LIMITS.maxSignatures}`;
  }
  return Object.freeze(out) as unknown as EnvelopeLimits;
}

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const OPEN_BRACE = 0x7b;
const CLOSE_BRACE = 0x7d;
const OPEN_BRACKET = 0x5b;
const CLOSE_BRACKET = 0x5d;
const COLON = 0x3a;

/** What the pre-scan found wrong, or undefined when the text may go to JSON.parse. */
export type ScanProblem =
  | { readonly kind: 'depth'; readonly depth: number }
  | { readonly kind: 'duplicate'; readonly key: string }
  | { readonly kind: 'syntax' };

/**
 * Scans JSON text without recursion: nesting depth, and optionally duplicate object keys.
 * Defends against stack exhaustion in JSON.parse and in every recursive walk after it: text nested
 * deeper than `maxDepth` is refused here, in one linear pass with an explicit stack.
 * Defends against parser differentials from duplicate keys (JSON.parse silently keeps the last):
 * with `rejectDuplicates`, every object's keys are compared after decoding escapes.
 * It is not a validator: JSON.parse still runs afterwards and refuses what this scan lets through.
 */
export function scanJson(text: string, maxDepth: number, rejectDuplicates: boolean): ScanProblem | undefined {
  // One entry per open container: a Set of keys for objects (when tracking), null for arrays.
  const stack: (Set<string> | null | false)[] = [];
  let expectKey = false;
  const length = text.length;
  let i = 0;
  while (i < length) {
    const c = text.charCodeAt(i);
    if (c === QUOTE) {
      // Find the closing quote: jump with indexOf, then count preceding backslashes.
      let end = i + 1;
      let hasEscape = false;
      for (;;) {
        end = text.indexOf('"', end);
        if (end === -1) return { kind: 'syntax' };
        let slashes = 0;
        for (let j = end - 1; j > i && text.charCodeAt(j) === BACKSLASH; j--) slashes++;
        if (slashes > 0) hasEscape = true;
        if (slashes % 2 === 0) break;
        end++;
      }
      const top = stack[stack.length - 1];
      if (rejectDuplicates && expectKey && top instanceof Set) {
        let key = text.slice(i + 1, end);
        if (hasEscape || key.indexOf('\\') !== -1) {
          try {
            key = JSON.parse(text.slice(i, end + 1)) as string;
          } catch {
            return { kind: 'syntax' };
          }
        }
        if (top.has(key)) return { kind: 'duplicate', key: key.slice(0, 64) };
        top.add(key);
      }
      expectKey = false;
      i = end + 1;
      continue;
    }
    if (c === OPEN_BRACE || c === OPEN_BRACKET) {
      if (stack.length >= maxDepth) return { kind: 'depth', depth: stack.length + 1 };
      stack.push(c === OPEN_BRACE ? (rejectDuplicates ? new Set() : false) : null);
      expectKey = c === OPEN_BRACE;
    } else if (c === CLOSE_BRACE || c === CLOSE_BRACKET) {
      stack.pop();
      expectKey = false;
    } else if (c === 0x2c /* , */) {
      expectKey = stack[stack.length - 1] !== null && stack.length > 0;
    } else if (c === COLON) {
      expectKey = false;
    }
    i++;
  }
  return undefined;
}
