/**
 * Host side of capability calls: the registry of host capabilities a supervisor offers, and the
 * dispatch of one request from a worker (grant, running-call, quota and rate checks, argument
 * decoding, the handler, the reply). Needs no worker process: unit-testable on its own.
 */
import type { JsonValue } from '../envelope/types.ts';
import { CAPABILITY_NAME, METHOD_NAME } from '../names.ts';
import { ConfigError, SandboxError } from '../errors.ts';
import {
  createKvCapability,
  createLogCapability,
  TokenBucket,
  type CapabilityContext,
  type HostCapability,
  type LogEntry,
} from './capabilities.ts';
import type { ComponentSpec } from './component-spec.ts';
import { decodeJson, encodeJson } from './json.ts';
import type { KvStore } from './kv-store.ts';

/** Sandbox codes a refusal may carry back into the isolate (and out of it, to the caller). */
export const REFUSAL_CODES: ReadonlySet<string> = new Set([
  'ERR_CAPABILITY_DENIED',
  'ERR_QUOTA_EXCEEDED',
  'ERR_ARGS_INVALID',
]);

/** One running call (or load) of a component: counts its capability calls. */
export interface Invocation {
  capCalls: number;
  /** the worker request carrying it, once sent (the worker names it as a request's owner) */
  requestId: number | undefined;
}

/** The component a request comes from, as the host knows it (never as the worker claims it). */
export interface CapabilityCaller {
  readonly spec: ComponentSpec;
  /** the component's loads and calls now running */
  readonly active: ReadonlySet<Invocation>;
  /** the tenant's rate buckets, by capability name */
  readonly buckets: Map<string, TokenBucket>;
}

/** A request as a worker sent it: every field unchecked. */
export interface CapabilityRequest {
  readonly cap: unknown;
  readonly method: unknown;
  /** JSON text of the argument array */
  readonly args: unknown;
  /** the request id of the invocation the worker says made it (-1: none in flight) */
  readonly op?: unknown;
}

/** What goes back to the isolate: a JSON text ('' for undefined), or a refusal code and message. */
export interface CapabilityReply {
  readonly ok: boolean;
  readonly text: string;
  readonly code: string;
}

/**
 * The capabilities a supervisor offers: `log`, `kv` and the embedder's own.
 * @throws ConfigError ERR_CONFIG_INVALID for a malformed or clashing capability
 */
export function createCapabilityRegistry(
  logger: (entry: LogEntry) => void,
  kv: KvStore,
  extra: unknown,
): ReadonlyMap<string, HostCapability> {
  const capabilities = new Map<string, HostCapability>();
  capabilities.set('log', createLogCapability(logger));
  capabilities.set('kv', createKvCapability(kv));
  // Defends against a malformed option crashing with an untyped TypeError: shapes are checked first.
  if (extra !== undefined && !Array.isArray(extra)) {
    throw new ConfigError('ERR_CONFIG_INVALID', 'capabilities: expected an array');
  }
  for (const capability of (extra ?? []) as readonly HostCapability[]) {
    if (
      typeof capability?.name !== 'string' ||
      capability.methods === null ||
      typeof capability.methods !== 'object' ||
      !CAPABILITY_NAME.test(capability.name) ||
      capabilities.has(capability.name)
    ) {
      throw new ConfigError(
        'ERR_CONFIG_INVALID',
        `capability ${String(capability?.name).slice(0, 64)}: expected a free, valid name and a methods object`,
      );
    }
    for (const method of Object.keys(capability.methods)) {
      if (!METHOD_NAME.test(method) || typeof capability.methods[method]?.handler !== 'function') {
        throw new ConfigError(
          'ERR_CONFIG_INVALID',
          `capability ${capability.name}: method ${method.slice(0, 64)} is invalid`,
        );
      }
    }
    capabilities.set(capability.name, capability);
  }
  return capabilities;
}

/**
 * Runs one capability request and returns the reply for the isolate. Never throws: a handler's
 * own error becomes a generic refusal.
 */
export async function dispatchCapability(
  capabilities: ReadonlyMap<string, HostCapability>,
  caller: CapabilityCaller,
  request: CapabilityRequest,
): Promise<CapabilityReply> {
  try {
    const value = await runCapability(capabilities, caller, request);
    const text =
      value === undefined
        ? ''
        : encodeJson(
            value,
            caller.spec.limits.maxResultBytes,
            caller.spec.limits.maxJsonDepth,
            'ERR_RESULT_INVALID',
            'capability result',
          );
    return { ok: true, text, code: '' };
  } catch (error) {
    if (error instanceof SandboxError && REFUSAL_CODES.has(error.code)) {
      return { ok: false, text: error.message, code: error.code };
    }
    // Defends against leaking host internals (paths, secrets) through a handler's own error text.
    return {
      ok: false,
      text: `capability ${String(request.cap).slice(0, 64)}.${String(request.method).slice(0, 64)} failed`,
      code: 'ERR_CAPABILITY_DENIED',
    };
  }
}

async function runCapability(
  capabilities: ReadonlyMap<string, HostCapability>,
  caller: CapabilityCaller,
  request: CapabilityRequest,
): Promise<JsonValue | undefined> {
  const { spec } = caller;
  const { cap, method } = request;
  if (typeof cap !== 'string' || typeof method !== 'string' || typeof request.args !== 'string') {
    throw new SandboxError('ERR_CAPABILITY_DENIED', 'malformed capability request');
  }
  const capability = capabilities.get(cap);
  const grant = Object.hasOwn(spec.grants, cap) ? spec.grants[cap] : undefined;
  // Defends against calls to capabilities the policy did not grant (a forged stub or a wild worker).
  if (capability === undefined || grant === undefined || !Object.hasOwn(capability.methods, method)) {
    throw new SandboxError(
      'ERR_CAPABILITY_DENIED',
      `capability ${cap.slice(0, 64)}.${method.slice(0, 64)} is not granted`,
    );
  }
  // Defends against background work reaching the host after its call ended: the request must
  // name a running invocation of this component (the worker names the one whose slot made it).
  // Only that invocation's quota pays: pipelined calls that have not started yet must not spend
  // theirs on another's requests.
  let payer: Invocation | undefined;
  for (const invocation of caller.active) {
    if (typeof request.op === 'number' && invocation.requestId === request.op) payer = invocation;
  }
  if (payer === undefined) {
    throw new SandboxError(
      'ERR_CAPABILITY_DENIED',
      'capabilities may only be called while a call is running',
    );
  }
  payer.capCalls++;
  if (payer.capCalls > spec.limits.maxCapabilityCalls) {
    throw new SandboxError(
      'ERR_QUOTA_EXCEEDED',
      `more than ${spec.limits.maxCapabilityCalls} capability calls in one call`,
    );
  }
  const limits = Object.freeze({ ...capability.limits, ...grant });
  const rate = limits['callsPerSecond'];
  if (rate !== undefined) {
    let bucket = caller.buckets.get(cap);
    if (bucket === undefined) {
      bucket = new TokenBucket(rate);
      caller.buckets.set(cap, bucket);
    }
    if (!bucket.take())
      throw new SandboxError('ERR_QUOTA_EXCEEDED', `${cap} is limited to ${rate} calls per second`);
  }
  const args = decodeJson(
    request.args,
    spec.limits.maxArgBytes,
    spec.limits.maxJsonDepth + 1,
    'ERR_ARGS_INVALID',
    'capability arguments',
  );
  if (!Array.isArray(args))
    throw new SandboxError('ERR_ARGS_INVALID', 'capability arguments must be an array');
  const entry = capability.methods[method]!;
  const ctx: CapabilityContext = Object.freeze({
    tenant: spec.tenant,
    identifier: spec.identifier,
    version: spec.version,
    limits,
  });
  const problem = entry.validate?.(args, ctx);
  if (problem !== undefined) throw new SandboxError('ERR_ARGS_INVALID', `${cap}.${method}: ${problem}`);
  return await entry.handler(ctx, ...(args as JsonValue[]));
}
