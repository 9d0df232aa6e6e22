/**
 * Structural budgets for untrusted JSON text, checked in one linear scan before JSON.parse or any
 * other step allocates per key or per value.
 *
 * Defends against event-loop freezes from JSON that is small in bytes but huge in structure: a
 * 32 MiB object with 3.5 million keys, 11 million `{}`, a long array of numbers. JSON.parse, a
 * duplicate-key Set, canonicalisation and freezing all cost per key or per value; this scan costs
 * a few instructions per structural character (strings are skipped with indexOf), keeps a fixed
 * amount of state (two typed arrays sized by the depth budget), and stops at the first character
 * past a budget, so refusing garbage is cheap even when the text is large.
 * It is not a validator: JSON.parse still runs afterwards and refuses what this scan lets through.
 */

/** Limits on the shape of one JSON text. All counts are inclusive maxima. */
export interface JsonBudget {
  /** Deepest nesting of objects and arrays (the top-level container is depth 1). */
  readonly maxDepth: number;
  /** Most members in one object. */
  readonly maxKeysPerObject: number;
  /** Most object members in the whole text. */
  readonly maxTotalKeys: number;
  /** Most items in one array. */
  readonly maxItemsPerArray: number;
  /** Most values (strings, numbers, literals, objects, arrays; keys not counted) in the whole text. */
  readonly maxTotalValues: number;
  /** Longest string value, in UTF-16 units of the JSON text between its quotes (escapes counted as written). */
  readonly maxStringLength: number;
  /** Longest object key, same unit. */
  readonly maxKeyLength: number;
  /**
   * Refuse duplicate keys (compared after decoding escapes). Costs one small array per open
   * object; use only with a small `maxKeysPerObject` (the comparison is linear per key).
   */
  readonly rejectDuplicateKeys: boolean;
}

/** The first budget the text broke, or a syntax problem the scan could see. */
export type BudgetProblem =
  | {
      readonly kind:
        | 'depth'
        | 'keysPerObject'
        | 'totalKeys'
        | 'itemsPerArray'
        | 'totalValues'
        | 'stringLength'
        | 'keyLength';
      readonly limit: number;
      /** nesting depth where the budget broke (1 = inside the top-level container) */
      readonly depth: number;
    }
  | { readonly kind: 'duplicate'; readonly key: string }
  | { readonly kind: 'syntax' };

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const OPEN_BRACE = 0x7b;
const CLOSE_BRACE = 0x7d;
const OPEN_BRACKET = 0x5b;
const CLOSE_BRACKET = 0x5d;
const COMMA = 0x2c;
const COLON = 0x3a;

const OBJECT = 1;
const ARRAY = 2;

function isWhitespace(c: number): boolean {
  return c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09;
}

/** True for the characters that end a number or literal token. */
function endsToken(c: number): boolean {
  return (
    isWhitespace(c) ||
    c === COMMA ||
    c === COLON ||
    c === CLOSE_BRACE ||
    c === CLOSE_BRACKET ||
    c === OPEN_BRACE ||
    c === OPEN_BRACKET ||
    c === QUOTE
  );
}

/** Index of the quote closing the string that opens at `start`, or -1. Linear over the string. */
function closingQuote(text: string, start: number): { end: number; escaped: boolean } | undefined {
  let end = start + 1;
  let escaped = false;
  for (;;) {
    end = text.indexOf('"', end);
    if (end === -1) return undefined;
    let slashes = 0;
    // Counts only the backslashes between this quote and the previous candidate: linear overall.
    for (let j = end - 1; j > start && text.charCodeAt(j) === BACKSLASH; j--) slashes++;
    if (slashes > 0) escaped = true;
    if (slashes % 2 === 0) return { end, escaped };
    end++;
  }
}

/**
 * Scans `text` once and returns the first budget it breaks, or undefined when it fits.
 * Linear in `text.length`; allocates nothing per key or value (except the small per-object key
 * lists of `rejectDuplicateKeys`, bounded by `maxKeysPerObject`).
 */
export function checkJsonBudget(text: string, budget: JsonBudget): BudgetProblem | undefined {
  const kinds = new Uint8Array(budget.maxDepth + 1);
  const counts = new Float64Array(budget.maxDepth + 1);
  const seen: string[][] | undefined = budget.rejectDuplicateKeys ? [] : undefined;
  let depth = 0;
  let expectKey = false;
  let totalKeys = 0;
  let totalValues = 0;
  const length = text.length;
  let i = 0;

  // Counts one value starting here; returns a problem when a budget is broken.
  const value = (): BudgetProblem | undefined => {
    if (++totalValues > budget.maxTotalValues)
      return { kind: 'totalValues', limit: budget.maxTotalValues, depth };
    if (depth > 0 && kinds[depth] === ARRAY && ++counts[depth]! > budget.maxItemsPerArray) {
      return { kind: 'itemsPerArray', limit: budget.maxItemsPerArray, depth };
    }
    return undefined;
  };

  while (i < length) {
    const c = text.charCodeAt(i);
    if (c === QUOTE) {
      const closing = closingQuote(text, i);
      if (closing === undefined) return { kind: 'syntax' };
      const size = closing.end - i - 1;
      if (expectKey) {
        if (++totalKeys > budget.maxTotalKeys)
          return { kind: 'totalKeys', limit: budget.maxTotalKeys, depth };
        if (++counts[depth]! > budget.maxKeysPerObject) {
          return { kind: 'keysPerObject', limit: budget.maxKeysPerObject, depth };
        }
        if (size > budget.maxKeyLength) return { kind: 'keyLength', limit: budget.maxKeyLength, depth };
        if (seen !== undefined) {
          let key = text.slice(i + 1, closing.end);
          if (closing.escaped || key.includes('\\')) {
            try {
              key = JSON.parse(text.slice(i, closing.end + 1)) as string;
            } catch {
              return { kind: 'syntax' };
            }
          }
          const keys = (seen[depth] ??= []);
          if (keys.includes(key)) return { kind: 'duplicate', key: key.slice(0, 64) };
          keys.push(key);
        }
        expectKey = false;
      } else {
        const problem = value();
        if (problem !== undefined) return problem;
        if (size > budget.maxStringLength)
          return { kind: 'stringLength', limit: budget.maxStringLength, depth };
      }
      i = closing.end + 1;
      continue;
    }
    if (c === OPEN_BRACE || c === OPEN_BRACKET) {
      const problem = value();
      if (problem !== undefined) return problem;
      if (depth >= budget.maxDepth) return { kind: 'depth', limit: budget.maxDepth, depth };
      depth++;
      kinds[depth] = c === OPEN_BRACE ? OBJECT : ARRAY;
      counts[depth] = 0;
      if (seen !== undefined) seen[depth] = [];
      expectKey = c === OPEN_BRACE;
      i++;
      continue;
    }
    if (c === CLOSE_BRACE || c === CLOSE_BRACKET) {
      if (depth === 0 || kinds[depth] !== (c === CLOSE_BRACE ? OBJECT : ARRAY)) return { kind: 'syntax' };
      depth--;
      expectKey = false;
      i++;
      continue;
    }
    if (c === COMMA) {
      expectKey = depth > 0 && kinds[depth] === OBJECT;
      i++;
      continue;
    }
    if (c === COLON) {
      expectKey = false;
      i++;
      continue;
    }
    if (isWhitespace(c)) {
      i++;
      continue;
    }
    // A number or literal (true, false, null, or garbage JSON.parse will refuse): one value.
    if (expectKey) return { kind: 'syntax' };
    const problem = value();
    if (problem !== undefined) return problem;
    i++;
    while (i < length && !endsToken(text.charCodeAt(i))) i++;
  }
  return undefined;
}
