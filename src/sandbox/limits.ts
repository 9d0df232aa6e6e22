/**
 * Resource limits of the sandbox and the shape of capability grants: their types, their ranges
 * and their defaults, owned here. The policy layer produces objects of exactly these shapes
 * (`policy.resources`, `policy.capabilities`) and imports the types from this module;
 * policies/policy.schema.json repeats the ranges for editors, and test/names-schema.test.ts
 * keeps the two equal.
 */
import { ConfigError } from '../errors.ts';
import { CAPABILITY_LIMIT_NAME, CAPABILITY_NAME } from '../names.ts';

/** Per-component resource limits (all integers; ranges in RESOURCE_RANGES). */
export interface ResourceLimits {
  /** isolate heap limit in MiB (one isolate per tenant per worker) */
  readonly memoryMb: number;
  /**
   * budget of one load or call, ms: CPU time of the component's own code in its isolate plus its
   * capability calls, from when it starts running (never queue time; docs/sandbox.md "Time")
   */
  readonly callTimeoutMs: number;
  /** UTF-8 bytes of the JSON arguments of one call (and of one capability call's arguments) */
  readonly maxArgBytes: number;
  /** UTF-8 bytes of the JSON result of one call */
  readonly maxResultBytes: number;
  /** nesting depth of arguments and results */
  readonly maxJsonDepth: number;
  /** capability calls per invocation */
  readonly maxCapabilityCalls: number;
  /**
   * calls of one component the host sends to the worker at once (pipelined: they still run one at
   * a time in its isolate; docs/sandbox.md "Pipelined calls"); with maxQueuedCalls, the calls a
   * tenant may have admitted
   */
  readonly maxConcurrentCalls: number;
  /** further calls a tenant may have waiting; more → ERR_QUEUE_FULL */
  readonly maxQueuedCalls: number;
}

/** Per-component resource limits: the policy's `resources` section, one type for both layers. */
export type SandboxLimits = ResourceLimits;

/** The defaults: 64 MiB, 1000 ms, 1 MiB args and result, depth 64, 1000 capability calls, 4 running, 64 queued. */
export const DEFAULT_SANDBOX_LIMITS: SandboxLimits = Object.freeze({
  memoryMb: 64,
  callTimeoutMs: 1000,
  maxArgBytes: 1024 * 1024,
  maxResultBytes: 1024 * 1024,
  maxJsonDepth: 64,
  maxCapabilityCalls: 1000,
  maxConcurrentCalls: 4,
  maxQueuedCalls: 64,
});

/**
 * Granted capabilities with their limits: `{ kv: { maxKeyBytes, maxValueBytes, maxKeys, callsPerSecond },
 * log: { maxMessageBytes, callsPerSecond } }`. Only granted capabilities appear.
 */
export type CapabilityGrants = Readonly<Record<string, Readonly<Record<string, number>>>>;

/**
 * The inclusive integer range of each resource limit, the one source of truth: the policy file
 * (through policies/policy.schema.json, kept equal by a test) and `createSupervisor` accept
 * exactly these values.
 *
 * Policy: where the schema and this table used to disagree, the narrower bound won, so every
 * value that loaded end to end before still does: memoryMb ≤ 4096 (an isolate per tenant per
 * worker; larger heaps do not fit a shared node), callTimeoutMs ≤ 60 s, maxResultBytes ≥ 4 (the
 * smallest result, `null`), maxJsonDepth ≤ 1000, maxCapabilityCalls ≤ 10 million.
 */
export const RESOURCE_RANGES: Readonly<Record<keyof ResourceLimits, readonly [number, number]>> =
  Object.freeze({
    memoryMb: [8, 4096],
    callTimeoutMs: [1, 60_000],
    maxArgBytes: [2, 256 * 1024 * 1024],
    maxResultBytes: [4, 256 * 1024 * 1024],
    maxJsonDepth: [1, 1000],
    maxCapabilityCalls: [0, 10_000_000],
    maxConcurrentCalls: [1, 10_000],
    maxQueuedCalls: [0, 1_000_000],
  });
const LIMIT_RANGES = RESOURCE_RANGES;

/**
 * Checks a limits object: exactly the {@link SandboxLimits} keys, each an integer in range.
 * Returns a frozen copy.
 * @throws ConfigError ERR_CONFIG_INVALID
 */
export function parseSandboxLimits(value: unknown, where = 'limits'): SandboxLimits {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    throw new ConfigError('ERR_CONFIG_INVALID', `${where}: expected an object, got ${typeName(value)}`);
  }
  const out: Record<string, number> = Object.create(null) as Record<string, number>;
  const record = value as Record<string, unknown>;
  for (const key of Reflect.ownKeys(record)) {
    if (typeof key !== 'string' || !Object.hasOwn(LIMIT_RANGES, key)) {
      throw new ConfigError('ERR_CONFIG_INVALID', `${where}: unknown key ${String(key).slice(0, 64)}`);
    }
  }
  for (const [key, [min, max]] of Object.entries(LIMIT_RANGES)) {
    const descriptor = Object.getOwnPropertyDescriptor(record, key);
    const v: unknown = descriptor && 'value' in descriptor ? descriptor.value : undefined;
    if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max) {
      throw new ConfigError(
        'ERR_CONFIG_INVALID',
        `${where}.${key}: expected an integer in [${min}, ${max}], got ${typeName(v)}`,
      );
    }
    out[key] = v;
  }
  return Object.freeze({ ...out }) as unknown as SandboxLimits;
}

/**
 * Checks grants: an object of capability name → object of limit name → finite number >= 0.
 * Returns a frozen null-prototype copy.
 * @throws ConfigError ERR_CONFIG_INVALID
 */
export function parseCapabilityGrants(value: unknown, where = 'grants'): CapabilityGrants {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    throw new ConfigError('ERR_CONFIG_INVALID', `${where}: expected an object, got ${typeName(value)}`);
  }
  const out = Object.create(null) as Record<string, Readonly<Record<string, number>>>;
  for (const name of Reflect.ownKeys(value)) {
    if (typeof name !== 'string' || !CAPABILITY_NAME.test(name)) {
      throw new ConfigError(
        'ERR_CONFIG_INVALID',
        `${where}: bad capability name ${String(name).slice(0, 64)}`,
      );
    }
    const inner = (value as Record<string, unknown>)[name];
    if (inner === null || typeof inner !== 'object' || Array.isArray(inner)) {
      throw new ConfigError('ERR_CONFIG_INVALID', `${where}.${name}: expected an object of limits`);
    }
    const limits = Object.create(null) as Record<string, number>;
    for (const key of Reflect.ownKeys(inner)) {
      const v = (inner as Record<string | symbol, unknown>)[key];
      // Defends against odd keys reaching error messages and host objects: limit names follow
      // the policy's grammar (CAPABILITY_LIMIT_NAME), as a policy file could only give those.
      if (
        typeof key !== 'string' ||
        !CAPABILITY_LIMIT_NAME.test(key) ||
        typeof v !== 'number' ||
        !Number.isFinite(v) ||
        v < 0
      ) {
        throw new ConfigError(
          'ERR_CONFIG_INVALID',
          `${where}.${name}.${String(key).slice(0, 64)}: expected a finite number >= 0, got ${typeName(v)}`,
        );
      }
      limits[key] = v;
    }
    out[name] = Object.freeze(limits);
  }
  return Object.freeze(out);
}

function typeName(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'array';
  return typeof value === 'number' ? `number ${String(value)}` : typeof value;
}
