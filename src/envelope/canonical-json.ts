/**
 * RFC 8785 (JCS) canonical JSON through the `canonicalize` package, after checking that the value
 * is plain JSON. Canonical bytes are what sealbox signs and what it requires a payload to be.
 */
import canonicalizePackage from 'canonicalize';
import { EnvelopeError } from '../errors.ts';
import { guard } from './guard.ts';
import { DEFAULT_ENVELOPE_LIMITS, scanJson } from './limits.ts';

const encoder = new TextEncoder();
const strictDecoder = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

function pathOf(parent: string, key: string | number): string {
  if (typeof key === 'number') return `${parent}[${key}]`;
  return /^[A-Za-z_$][A-Za-z0-9_$]*$/.test(key)
    ? `${parent}.${key}`
    : `${parent}[${JSON.stringify(key.slice(0, 64))}]`;
}

function invalid(path: string, what: string): never {
  throw new EnvelopeError('ERR_JSON_INVALID', `${path}: expected a plain JSON value, got ${what}`, { path });
}

/**
 * Throws unless `value` is plain JSON: null, booleans, finite numbers, well-formed strings, arrays
 * and plain objects (prototype Object.prototype or null) of those, without cycles, holes,
 * accessors or enumerable symbol keys. Non-enumerable properties are ignored, as JSON.stringify does.
 * Iterative (explicit stack), so a deep value cannot overflow the call stack.
 * @throws EnvelopeError ERR_JSON_INVALID naming the path of the first bad value.
 */
export function assertPlainJson(value: unknown, root = '$', maxDepth = 10_000): void {
  const stack: { value: unknown; path: string; depth: number }[] = [{ value, path: root, depth: 0 }];
  const active = new Set<object>();
  const exits: { obj: object; at: number }[] = [];
  while (stack.length > 0) {
    const item = stack.pop()!;
    // Leave containers whose subtree is done (for cycle detection along the current path only).
    while (exits.length > 0 && exits[exits.length - 1]!.at > stack.length) active.delete(exits.pop()!.obj);
    const v = item.value;
    switch (typeof v) {
      case 'string':
        if (!v.isWellFormed()) invalid(item.path, 'a string with a lone surrogate');
        continue;
      case 'number':
        if (!Number.isFinite(v)) invalid(item.path, String(v));
        continue;
      case 'boolean':
        continue;
      case 'object':
        break;
      default:
        invalid(item.path, typeof v);
    }
    if (v === null) continue;
    if (item.depth >= maxDepth) invalid(item.path, `nesting deeper than ${maxDepth}`);
    if (active.has(v)) invalid(item.path, 'a cycle');
    const isArray = Array.isArray(v);
    const proto: unknown = Object.getPrototypeOf(v);
    if (!isArray && proto !== Object.prototype && proto !== null) {
      invalid(item.path, `an instance of ${(v as object).constructor?.name ?? 'a class'}`);
    }
    if (isArray && proto !== Array.prototype) invalid(item.path, 'an array subclass');
    active.add(v);
    exits.push({ obj: v, at: stack.length });
    const descriptors = Object.getOwnPropertyDescriptors(v);
    for (const key of Reflect.ownKeys(descriptors)) {
      const d = descriptors[key as keyof typeof descriptors] as PropertyDescriptor;
      if (typeof key === 'symbol') {
        if (d.enumerable) invalid(item.path, 'a symbol key');
        continue;
      }
      if (isArray && key === 'length') continue;
      if (!d.enumerable) continue;
      if (!('value' in d)) invalid(pathOf(item.path, key), 'an accessor property');
      if (isArray && !/^(?:0|[1-9][0-9]*)$/.test(key))
        invalid(item.path, `an array with extra property ${key.slice(0, 32)}`);
      if (!isArray && !key.isWellFormed()) invalid(item.path, 'a key with a lone surrogate');
      stack.push({
        value: d.value,
        path: pathOf(item.path, isArray ? Number(key) : key),
        depth: item.depth + 1,
      });
    }
    if (isArray) {
      const arr = v as unknown[];
      for (let i = 0; i < arr.length; i++) {
        if (!Object.prototype.hasOwnProperty.call(arr, i))
          invalid(pathOf(item.path, i), 'a hole in an array');
      }
    }
  }
}

/**
 * RFC 8785 canonical JSON text of a plain JSON value.
 * @throws EnvelopeError ERR_JSON_INVALID when the value is not plain JSON (with its path).
 * @example canonicalize({ b: 1, a: [true, null] }) // '{"a":[true,null],"b":1}'
 */
export function canonicalize(value: unknown): string {
  return guard(
    () => {
      assertPlainJson(value);
      return canonicalizeTrusted(value);
    },
    (cause) =>
      new EnvelopeError(
        'ERR_JSON_INVALID',
        '$: value could not be read as plain JSON',
        { path: '$' },
        { cause },
      ),
  );
}

/** Canonical JSON of a value already known to be plain JSON (e.g. straight from JSON.parse). */
export function canonicalizeTrusted(value: unknown): string {
  let text: string | undefined;
  try {
    text = canonicalizePackage(value);
  } catch (error) {
    throw new EnvelopeError(
      'ERR_JSON_INVALID',
      `value cannot be canonicalised: ${(error as Error).message}`,
      {
        path: '$',
      },
    );
  }
  if (typeof text !== 'string')
    throw new EnvelopeError('ERR_JSON_INVALID', '$: value has no JSON form', { path: '$' });
  return text;
}

/**
 * UTF-8 bytes of {@link canonicalize}.
 * @throws EnvelopeError ERR_JSON_INVALID
 */
export function canonicalBytes(value: unknown): Uint8Array {
  return encoder.encode(canonicalize(value));
}

/** What {@link parseCanonicalJson} found: the value, or why the text is not canonical JSON. */
export type CanonicalParse =
  | { readonly ok: true; readonly value: unknown }
  | { readonly ok: false; readonly reason: 'depth' | 'not-json' | 'not-canonical' };

/**
 * Parses JSON text that must be its own RFC 8785 canonical form (`text == JCS(JSON.parse(text))`).
 * The one canonical check sealbox has: statements and {@link isCanonical} both go through it.
 * Never throws. Text nested deeper than `maxDepth` is refused before JSON.parse runs.
 * Callers bound the text's structure first (json-budget.ts): this costs per key and value.
 */
export function parseCanonicalJson(
  text: string,
  maxDepth = DEFAULT_ENVELOPE_LIMITS.maxJsonDepth,
): CanonicalParse {
  // Defends against stack exhaustion in JSON.parse and in the recursive canonicaliser.
  if (scanJson(text, maxDepth, false) !== undefined) return { ok: false, reason: 'depth' };
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return { ok: false, reason: 'not-json' };
  }
  let canonical: string | undefined;
  try {
    canonical = canonicalizePackage(value);
  } catch {
    canonical = undefined;
  }
  // Defends against duplicate keys (JSON.parse keeps the last), alternate number and string
  // encodings and whitespace games: only the one canonical text of a value is accepted.
  if (canonical !== text) return { ok: false, reason: 'not-canonical' };
  return { ok: true, value };
}

/**
 * Whether `bytes` is valid UTF-8 JSON equal to its own RFC 8785 canonical form
 * (`bytes == JCS(JSON.parse(bytes))`). Never throws; deep nesting (beyond 64) returns false.
 */
export function isCanonical(bytes: Uint8Array, maxDepth = DEFAULT_ENVELOPE_LIMITS.maxJsonDepth): boolean {
  let text: string;
  try {
    text = strictDecoder.decode(bytes);
  } catch {
    return false;
  }
  return parseCanonicalJson(text, maxDepth).ok;
}
