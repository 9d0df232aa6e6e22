/**
 * Host capabilities: the only way out of an isolate. Every call arrives as JSON text, is checked
 * against the grant, counted against quotas, validated, and only then handed to a handler.
 * Built-ins: `log` (to the embedding app's logger) and `kv` (namespaced per tenant).
 */
import type { JsonValue } from '../envelope/types.ts';
import type { KvStore } from './kv-store.ts';

/** Who is calling: filled in by the host from its own records, never from the isolate. */
export interface CapabilityContext {
  readonly tenant: string;
  readonly identifier: string;
  readonly version: number;
  /** the effective limits of this capability for this tenant (defaults overlaid by the grant) */
  readonly limits: Readonly<Record<string, number>>;
}

/** One method of a capability. */
export interface CapabilityMethod {
  /** Returns an error message when the (already JSON-copied) arguments are unacceptable. */
  validate?: (args: readonly JsonValue[], ctx: CapabilityContext) => string | undefined;
  /**
   * Does the work. May throw a SandboxError with ERR_CAPABILITY_DENIED, ERR_QUOTA_EXCEEDED or
   * ERR_ARGS_INVALID (its message reaches the component); any other error reaches the component as a
   * generic ERR_CAPABILITY_DENIED without its message.
   */
  handler(
    ctx: CapabilityContext,
    ...args: JsonValue[]
  ): Promise<JsonValue | undefined> | JsonValue | undefined;
}

/**
 * A capability the embedding app registers. Inside the sandbox it appears as `this.host[name][method]`
 * (or `this.host[name](...)` when its only method has the capability's own name), only when granted.
 * `limits` are the defaults the grant overlays; `callsPerSecond` feeds the per-tenant token bucket.
 */
export interface HostCapability {
  readonly name: string;
  readonly methods: Readonly<Record<string, CapabilityMethod>>;
  readonly limits?: Readonly<Record<string, number>>;
}

/** One entry of the embedding app's log. */
export interface LogEntry {
  readonly tenant: string;
  readonly identifier: string;
  readonly version: number;
  readonly level: 'debug' | 'info' | 'warn' | 'error';
  readonly message: string;
  readonly fields?: { readonly [key: string]: JsonValue };
}

const LEVELS: ReadonlySet<string> = new Set(['debug', 'info', 'warn', 'error']);

/** Default limits of the built-in `log` capability. */
export const LOG_DEFAULT_LIMITS = Object.freeze({ maxMessageBytes: 4096, callsPerSecond: 100 });
/** Default limits of the built-in `kv` capability. */
export const KV_DEFAULT_LIMITS = Object.freeze({
  maxKeyBytes: 256,
  maxValueBytes: 64 * 1024,
  maxKeys: 1000,
  /** UTF-8 bytes of every key plus its JSON value, per tenant namespace (8 MiB) */
  maxTotalBytes: 8 * 1024 * 1024,
  callsPerSecond: 200,
});

/**
 * The built-in `log` capability: `host.log(level, message, fields?)`.
 * @throws (to the component) ERR_ARGS_INVALID for a bad level, message or fields.
 */
export function createLogCapability(logger: (entry: LogEntry) => void): HostCapability {
  return Object.freeze({
    name: 'log',
    limits: LOG_DEFAULT_LIMITS,
    methods: Object.freeze({
      log: {
        validate(args: readonly JsonValue[], ctx: CapabilityContext): string | undefined {
          const [level, message, fields] = args;
          if (args.length < 2 || args.length > 3)
            return `log expects (level, message, fields?), got ${args.length} arguments`;
          if (typeof level !== 'string' || !LEVELS.has(level))
            return 'log level must be debug, info, warn or error';
          if (typeof message !== 'string') return 'log message must be a string';
          const max = ctx.limits['maxMessageBytes'] ?? LOG_DEFAULT_LIMITS.maxMessageBytes;
          const size =
            Buffer.byteLength(message) +
            (fields === undefined ? 0 : Buffer.byteLength(JSON.stringify(fields)));
          if (size > max) return `log message and fields are larger than ${max} bytes`;
          if (
            fields !== undefined &&
            fields !== null &&
            (typeof fields !== 'object' || Array.isArray(fields))
          ) {
            return 'log fields must be an object';
          }
          return undefined;
        },
        handler(ctx: CapabilityContext, level: JsonValue, message: JsonValue, fields?: JsonValue): undefined {
          const entry: LogEntry = {
            tenant: ctx.tenant,
            identifier: ctx.identifier,
            version: ctx.version,
            level: level as LogEntry['level'],
            message: message as string,
            ...(fields !== undefined && fields !== null
              ? { fields: fields as { [key: string]: JsonValue } }
              : {}),
          };
          logger(entry);
          return undefined;
        },
      },
    }),
  });
}

/**
 * The built-in `kv` capability: `host.kv.get(key)`, `set(key, value)`, `delete(key)`, `list(prefix)`.
 * The namespace is `ctx.tenant`. Limits: maxKeyBytes, maxValueBytes, maxKeys, maxTotalBytes.
 */
export function createKvCapability(store: KvStore): HostCapability {
  const keyError = (key: JsonValue | undefined, ctx: CapabilityContext, what = 'key'): string | undefined => {
    if (typeof key !== 'string') return `kv ${what} must be a string`;
    const max = ctx.limits['maxKeyBytes'] ?? KV_DEFAULT_LIMITS.maxKeyBytes;
    if (what === 'key' && key.length === 0) return 'kv key must not be empty';
    if (Buffer.byteLength(key) > max) return `kv ${what} is larger than ${max} bytes`;
    return undefined;
  };
  const arity = (args: readonly JsonValue[], n: number, name: string): string | undefined =>
    args.length === n ? undefined : `kv.${name} expects ${n} argument(s), got ${args.length}`;
  return Object.freeze({
    name: 'kv',
    limits: KV_DEFAULT_LIMITS,
    methods: Object.freeze({
      get: {
        validate: (args: readonly JsonValue[], ctx: CapabilityContext) =>
          arity(args, 1, 'get') ?? keyError(args[0], ctx),
        handler: (ctx: CapabilityContext, key: JsonValue) => store.get(ctx.tenant, key as string),
      },
      set: {
        validate(args: readonly JsonValue[], ctx: CapabilityContext): string | undefined {
          const bad = arity(args, 2, 'set') ?? keyError(args[0], ctx);
          if (bad !== undefined) return bad;
          const max = ctx.limits['maxValueBytes'] ?? KV_DEFAULT_LIMITS.maxValueBytes;
          if (Buffer.byteLength(JSON.stringify(args[1] ?? null)) > max)
            return `kv value is larger than ${max} bytes`;
          return undefined;
        },
        async handler(ctx: CapabilityContext, key: JsonValue, value: JsonValue): Promise<undefined> {
          // Defends against one tenant exhausting the node's memory or disk, and against concurrent
          // sets (from this node or others sharing the store) racing past the count: the store checks
          // maxKeys and maxTotalBytes and writes in one atomic step.
          await store.set(ctx.tenant, key as string, value, {
            maxKeys: ctx.limits['maxKeys'] ?? KV_DEFAULT_LIMITS.maxKeys,
            maxTotalBytes: ctx.limits['maxTotalBytes'] ?? KV_DEFAULT_LIMITS.maxTotalBytes,
          });
          return undefined;
        },
      },
      delete: {
        validate: (args: readonly JsonValue[], ctx: CapabilityContext) =>
          arity(args, 1, 'delete') ?? keyError(args[0], ctx),
        async handler(ctx: CapabilityContext, key: JsonValue): Promise<undefined> {
          await store.delete(ctx.tenant, key as string);
          return undefined;
        },
      },
      list: {
        validate: (args: readonly JsonValue[], ctx: CapabilityContext) =>
          args.length > 1
            ? `kv.list expects (prefix?), got ${args.length} arguments`
            : keyError(args[0] ?? '', ctx, 'prefix'),
        handler: (ctx: CapabilityContext, prefix?: JsonValue) =>
          store.list(ctx.tenant, (prefix as string | undefined) ?? ''),
      },
    }),
  });
}

/** A token bucket: `rate` tokens per second, burst `rate` (at least 1; none when `rate` is 0). */
export class TokenBucket {
  #tokens: number;
  #last: number;
  readonly #rate: number;

  constructor(rate: number) {
    this.#rate = rate;
    // A rate of 0 grants nothing (not even one call).
    this.#tokens = rate > 0 ? Math.max(1, rate) : 0;
    this.#last = performance.now();
  }

  /** Takes one token; false when the bucket is empty. */
  take(): boolean {
    const now = performance.now();
    const burst = this.#rate > 0 ? Math.max(1, this.#rate) : 0;
    this.#tokens = Math.min(burst, this.#tokens + ((now - this.#last) / 1000) * this.#rate);
    this.#last = now;
    if (this.#tokens < 1) return false;
    this.#tokens -= 1;
    return true;
  }
}
