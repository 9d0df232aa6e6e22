/**
 * Test helper: evaluates a packed statement's source in a fresh node:vm context with a stand-in
 * `Component` (the docs/authoring.md contract in plain JS), and a fake host shared by both sides.
 */
import vm from 'node:vm';
import type { JsonValue, Statement } from '../../src/envelope/types.ts';

const BOOTSTRAP = `
const __decode = globalThis.__decode; delete globalThis.__decode;
class Component {
  constructor(params, context) {
    this.params = params;
    const artifacts = {};
    for (const [k, v] of Object.entries(context.artifacts ?? {})) artifacts[k] = new Uint8Array(v);
    this.artifacts = Object.freeze(artifacts);
    this.host = context.host;
    this.identifier = context.identifier;
    this.version = context.version;
    this.tenant = context.tenant;
  }
  artifactText(name) { return __decode(this.artifacts[name]); }
  artifactJson(name) { return JSON.parse(this.artifactText(name)); }
}
`;

/** A fake host: memory kv and a log record, same behaviour as the real capabilities' contract. */
export function fakeHost(): { host: Record<string, unknown>; logs: unknown[] } {
  const store = new Map<string, JsonValue>();
  const logs: unknown[] = [];
  const host = {
    log: async (level: string, message: string, fields?: unknown) => {
      logs.push(JSON.parse(JSON.stringify({ level, message, fields })));
    },
    kv: {
      get: async (key: string) => (store.has(key) ? JSON.parse(JSON.stringify(store.get(key))) : null),
      set: async (key: string, value: JsonValue) => {
        store.set(key, JSON.parse(JSON.stringify(value)));
      },
      delete: async (key: string) => {
        store.delete(key);
      },
      list: async (prefix = '') => [...store.keys()].filter((k) => k.startsWith(prefix)).sort(),
    },
  };
  return { host, logs };
}

/** The entry class of a packed statement, evaluated as a script in a fresh context. */
export function evaluatePacked(
  statement: Statement,
): new (params: unknown, context: unknown) => Record<string, unknown> {
  const context = vm.createContext({ __decode: (bytes: Uint8Array) => new TextDecoder().decode(bytes) });
  vm.runInContext(BOOTSTRAP, context);
  return vm.runInContext(`${statement.source}\n;${statement.entry}`, context, {
    filename: 'packed.js',
  }) as never;
}

/** Artifacts of a statement as bytes. */
export function artifactBytesOf(statement: Statement): Record<string, Uint8Array> {
  const out: Record<string, Uint8Array> = {};
  for (const [name, a] of Object.entries(statement.artifacts))
    out[name] = new Uint8Array(Buffer.from(a.data, 'base64'));
  return out;
}

/** Calls `method` and normalises the result to JSON text (or the error's name). */
export async function callAsJson(
  instance: Record<string, unknown>,
  method: string,
  args: unknown[],
): Promise<string> {
  try {
    const fn = instance[method] as (...a: unknown[]) => unknown;
    const result = await fn.apply(instance, args);
    return JSON.stringify(result) ?? 'undefined';
  } catch (error) {
    return `threw ${(error as Error).name}`;
  }
}
