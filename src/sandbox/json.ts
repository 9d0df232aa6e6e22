/**
 * Host-side JSON copies for everything that crosses the sandbox boundary: arguments, capability
 * values, results. Values cross only as JSON text, size- and depth-capped.
 */
import type { JsonValue } from '../envelope/types.ts';
import { SandboxError } from '../errors.ts';

type JsonCode = 'ERR_ARGS_INVALID' | 'ERR_RESULT_INVALID';

/** Keys that never reach host or isolate code. */
const DROPPED_KEYS: ReadonlySet<string> = new Set(['__proto__', 'constructor', 'prototype']);

/**
 * Serialises a host value to JSON text: plain objects and arrays only (no accessors, no class
 * instances, no cycles), finite numbers, strings, booleans, null.
 * Drops `__proto__`, `constructor` and `prototype` keys.
 * @throws SandboxError `code` (ERR_ARGS_INVALID or ERR_RESULT_INVALID) when the value is not
 *   plain JSON, nests deeper than `maxDepth`, or its UTF-8 text is larger than `maxBytes`.
 */
export function encodeJson(
  value: unknown,
  maxBytes: number,
  maxDepth: number,
  code: JsonCode,
  what: string,
): string {
  const parts: string[] = [];
  let size = 0;
  // The path to the value being walked, formatted only when an error needs it (no string per node).
  const path: (string | number)[] = [];
  const where = (): string =>
    path.map((p) => (typeof p === 'number' ? `[${p}]` : `.${p.slice(0, 64)}`)).join('');
  const put = (s: string): void => {
    size += s.length;
    // Defends against memory exhaustion by huge values: stop as soon as the budget is spent.
    if (size > maxBytes) throw new SandboxError(code, `${what} is larger than ${maxBytes} bytes`);
    parts.push(s);
  };
  const walk = (v: unknown, depth: number): void => {
    switch (typeof v) {
      case 'string':
        put(JSON.stringify(v));
        return;
      case 'number':
        if (!Number.isFinite(v)) throw new SandboxError(code, `${what}${where()}: expected a finite number`);
        put(JSON.stringify(v));
        return;
      case 'boolean':
        put(v ? 'true' : 'false');
        return;
      case 'object':
        break;
      default:
        throw new SandboxError(code, `${what}${where()}: expected a JSON value, got ${typeof v}`);
    }
    if (v === null) {
      put('null');
      return;
    }
    // Defends against stack exhaustion and cycles: depth is capped before descending.
    if (depth >= maxDepth) throw new SandboxError(code, `${what}${where()}: nested deeper than ${maxDepth}`);
    if (Array.isArray(v)) {
      put('[');
      for (let i = 0; i < v.length; i++) {
        if (i > 0) put(',');
        path.push(i);
        const d = Object.getOwnPropertyDescriptor(v, i);
        if (d === undefined || !('value' in d)) {
          throw new SandboxError(code, `${what}${where()}: expected a plain array element`);
        }
        walk(d.value, depth + 1);
        path.pop();
      }
      put(']');
      return;
    }
    const proto: unknown = Object.getPrototypeOf(v);
    if (proto !== Object.prototype && proto !== null) {
      throw new SandboxError(code, `${what}${where()}: expected a plain object`);
    }
    put('{');
    let first = true;
    for (const key of Reflect.ownKeys(v)) {
      if (typeof key !== 'string')
        throw new SandboxError(code, `${what}${where()}: symbol keys are not JSON`);
      // Defends against prototype poisoning: these keys are dropped, never copied.
      if (DROPPED_KEYS.has(key)) continue;
      const d = Object.getOwnPropertyDescriptor(v, key);
      // Defends against getters running in host code with hostile side effects: data properties only.
      if (d === undefined || !('value' in d)) {
        throw new SandboxError(
          code,
          `${what}${where()}: property ${JSON.stringify(key.slice(0, 64))} is an accessor`,
        );
      }
      if (!d.enumerable || d.value === undefined) continue;
      if (!first) put(',');
      first = false;
      put(JSON.stringify(key));
      put(':');
      path.push(key);
      walk(d.value, depth + 1);
      path.pop();
    }
    put('}');
  };
  walk(value, 0);
  const text = parts.join('');
  if (Buffer.byteLength(text, 'utf8') > maxBytes) {
    throw new SandboxError(code, `${what} is larger than ${maxBytes} bytes`);
  }
  return text;
}

/**
 * Parses JSON text that came from a worker or an isolate, dropping `__proto__`, `constructor` and
 * `prototype` keys again (the worker is not trusted to have done it).
 * @throws SandboxError `code` when the text is not JSON, too large or too deep.
 */
export function decodeJson(
  text: unknown,
  maxBytes: number,
  maxDepth: number,
  code: JsonCode,
  what: string,
): JsonValue {
  if (typeof text !== 'string') throw new SandboxError(code, `${what}: expected JSON text`);
  if (text.length > maxBytes || Buffer.byteLength(text, 'utf8') > maxBytes) {
    throw new SandboxError(code, `${what} is larger than ${maxBytes} bytes`);
  }
  let value: unknown;
  try {
    value =
      // Defends against a compromised worker spelling a dropped key with escapes ("\u005f_proto__"):
      // any backslash in the text sends it through the reviver, which sees the decoded key.
      text.includes('\\') ||
      text.includes('"__proto__"') ||
      text.includes('"constructor"') ||
      text.includes('"prototype"')
        ? (JSON.parse(text, (key, v: unknown) => (DROPPED_KEYS.has(key) ? undefined : v)) as unknown)
        : (JSON.parse(text) as unknown);
  } catch {
    throw new SandboxError(code, `${what}: not valid JSON text`);
  }
  if (depthOf(value, maxDepth + 1) > maxDepth) {
    throw new SandboxError(code, `${what}: nested deeper than ${maxDepth}`);
  }
  return value as JsonValue;
}

/** Nesting depth of a parsed JSON value, stopping at `stop`. */
function depthOf(value: unknown, stop: number): number {
  if (value === null || typeof value !== 'object') return 0;
  if (stop <= 0) return 1;
  let max = 0;
  for (const child of Object.values(value as Record<string, unknown>)) {
    const d = depthOf(child, stop - 1);
    if (d > max) max = d;
    if (max >= stop) break;
  }
  return max + 1;
}
