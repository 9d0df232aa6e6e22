/**
 * Validation of a {@link ComponentSpec} at the supervisor's boundary: every field checked once,
 * frozen, and turned into what a worker needs (sanitised filename, bootstrap meta, artifact copies,
 * the script digest computed here).
 */
import { createHash } from 'node:crypto';
import type { JsonValue } from '../envelope/types.ts';
import { ConfigError, EnvelopeError } from '../errors.ts';
import { ENTRY_CLASS_NAME } from '../names.ts';
import type { HostCapability } from './capabilities.ts';
import { encodeJson } from './json.ts';
import {
  parseCapabilityGrants,
  parseSandboxLimits,
  type CapabilityGrants,
  type SandboxLimits,
} from './limits.ts';

/** What to run: already verified and policy-checked by the loader (the source is still hostile). */
export interface ComponentSpec {
  readonly tenant: string;
  readonly identifier: string;
  readonly version: number;
  /** hex SHA-256 of the statement payload */
  readonly digest: string;
  /** the class name to instantiate */
  readonly entry: string;
  readonly source: string;
  readonly params: JsonValue;
  readonly artifacts: Readonly<Record<string, Uint8Array>>;
  readonly grants: CapabilityGrants;
  readonly limits: SandboxLimits;
  /**
   * Whether BigInt values may be made at run time (`BigInt()`, BigInt typed arrays,
   * `DataView#getBigInt64`); default false. BigInt work ignores the isolate timeout: grant only
   * to tenants whose policy allows BigInt literals (`syntax.allow: [BigIntLiteral]`).
   */
  readonly bigint?: boolean;
}

/** A checked spec and what the worker needs to load it. */
export interface CheckedSpec {
  readonly spec: ComponentSpec;
  /** sanitised script filename, `sealbox:<identifier>` */
  readonly filename: string;
  /** JSON text of the bootstrap meta */
  readonly meta: string;
  readonly artifactNames: readonly string[];
  readonly artifactBytes: readonly Uint8Array[];
  /** hex SHA-256 of spec.source, computed here (the worker's compiled-script cache key) */
  readonly sourceSha256: string;
}

const MAX_IDENTIFIER_IN_FILENAME = 128;
/** A plain JavaScript identifier (entry class and method names): names.ts's grammar. */
export const ENTRY_NAME = ENTRY_CLASS_NAME;

/** Keeps only stack frames of the component's own script (no bootstrap, no host frames). */
export function trimStack(stack: string, filename: string): string {
  const frames: string[] = [];
  for (const line of stack.split('\n')) {
    const trimmed = line.trim();
    if (!trimmed.startsWith('at ')) continue;
    // Defends against host path disclosure: only frames located in the component's own script.
    if (trimmed.includes(`(${filename}:`) || trimmed.startsWith(`at ${filename}:`))
      frames.push(`    ${trimmed}`);
    if (frames.length >= 32) break;
  }
  return frames.join('\n');
}

/**
 * Checks a spec against the registered capabilities.
 * @throws ConfigError ERR_CONFIG_INVALID (bad field, unknown capability in grants)
 * @throws EnvelopeError ERR_JSON_INVALID (params are not JSON)
 */
export function checkSpec(
  spec: ComponentSpec,
  capabilities: ReadonlyMap<string, HostCapability>,
): CheckedSpec {
  if (spec === null || typeof spec !== 'object')
    throw new ConfigError('ERR_CONFIG_INVALID', 'spec: expected an object');
  const str = (name: keyof ComponentSpec, max: number): string => {
    const v: unknown = spec[name];
    if (typeof v !== 'string' || v.length === 0 || v.length > max) {
      throw new ConfigError(
        'ERR_CONFIG_INVALID',
        `spec.${name}: expected a non-empty string of at most ${max} characters`,
      );
    }
    return v;
  };
  const tenant = str('tenant', 256);
  const identifier = str('identifier', 256);
  const digest = str('digest', 256);
  const entry = str('entry', 128);
  const source = str('source', 64 * 1024 * 1024);
  // Defends against script injection through the entry name: it is evaluated as a bare identifier.
  if (!ENTRY_NAME.test(entry))
    throw new ConfigError('ERR_CONFIG_INVALID', 'spec.entry: expected a JavaScript identifier');
  if (!Number.isSafeInteger(spec.version) || spec.version < 1) {
    throw new ConfigError('ERR_CONFIG_INVALID', 'spec.version: expected an integer >= 1');
  }
  if (spec.bigint !== undefined && typeof spec.bigint !== 'boolean') {
    throw new ConfigError('ERR_CONFIG_INVALID', 'spec.bigint: expected a boolean');
  }
  const bigint = spec.bigint === true;
  const limits = parseSandboxLimits(spec.limits, 'spec.limits');
  const grants = parseCapabilityGrants(spec.grants, 'spec.grants');
  const caps: Record<string, string[]> = {};
  for (const name of Object.keys(grants)) {
    const capability = capabilities.get(name);
    if (capability === undefined) {
      throw new ConfigError(
        'ERR_CONFIG_INVALID',
        `spec.grants: no host capability named ${name} is registered`,
      );
    }
    caps[name] = Object.keys(capability.methods).sort();
  }
  let paramsText: string;
  try {
    paramsText = encodeJson(spec.params, 64 * 1024 * 1024, limits.maxJsonDepth, 'ERR_ARGS_INVALID', 'params');
  } catch (error) {
    throw new EnvelopeError('ERR_JSON_INVALID', (error as Error).message);
  }
  const artifactNames: string[] = [];
  const artifactBytes: Uint8Array[] = [];
  if (spec.artifacts === null || typeof spec.artifacts !== 'object') {
    throw new ConfigError('ERR_CONFIG_INVALID', 'spec.artifacts: expected an object');
  }
  for (const name of Object.keys(spec.artifacts).sort()) {
    const bytes: unknown = spec.artifacts[name];
    if (!(bytes instanceof Uint8Array) || name.length > 256) {
      throw new ConfigError(
        'ERR_CONFIG_INVALID',
        `spec.artifacts.${name.slice(0, 64)}: expected a Uint8Array`,
      );
    }
    artifactNames.push(name);
    // A private copy: later changes to the caller's buffer never reach the isolate.
    artifactBytes.push(Uint8Array.from(bytes));
  }
  // Defends against tenant-controlled paths in stacks and script origins: a fixed, sanitised name.
  const filename = `sealbox:${identifier.replace(/[^A-Za-z0-9._@/-]/g, '_').slice(0, MAX_IDENTIFIER_IN_FILENAME)}`;
  const meta = JSON.stringify({
    tenant,
    identifier,
    version: spec.version,
    params: paramsText,
    caps,
    maxArgBytes: limits.maxArgBytes,
    maxResultBytes: limits.maxResultBytes,
    maxJsonDepth: limits.maxJsonDepth,
    maxCapabilityCalls: limits.maxCapabilityCalls,
    bigint,
  });
  const frozenSpec: ComponentSpec = Object.freeze({
    tenant,
    identifier,
    version: spec.version,
    digest,
    entry,
    source,
    params: spec.params,
    artifacts: spec.artifacts,
    grants,
    limits,
    bigint,
  });
  // Defends against running a different script than this spec's: the worker caches compiled
  // scripts by this digest, so it is computed here from the source itself, never taken from a caller.
  const sourceSha256 = createHash('sha256').update(source, 'utf8').digest('hex');
  return { spec: frozenSpec, filename, meta, artifactNames, artifactBytes, sourceSha256 };
}
