/** Shared helpers for sandbox tests: specs, error assertions, process liveness. */
import { expect } from 'vitest';
import type { JsonValue } from '../../src/envelope/types.ts';
import type { ComponentSpec } from '../../src/sandbox/supervisor.ts';
import {
  DEFAULT_SANDBOX_LIMITS,
  type CapabilityGrants,
  type SandboxLimits,
} from '../../src/sandbox/limits.ts';

/** The `meta` text of a bootstrap `control('init', meta, [], [])` in pool-level tests. */
export const INIT_META = JSON.stringify({
  tenant: 't',
  identifier: 'w',
  version: 1,
  params: '{}',
  caps: {},
  maxArgBytes: 1024,
  maxResultBytes: 1024,
  maxJsonDepth: 8,
  maxCapabilityCalls: 4,
});

/** Small, fast limits for tests. */
export const TEST_LIMITS: SandboxLimits = Object.freeze({
  ...DEFAULT_SANDBOX_LIMITS,
  memoryMb: 32,
  callTimeoutMs: 500,
  maxArgBytes: 64 * 1024,
  maxResultBytes: 64 * 1024,
  maxJsonDepth: 16,
  maxCapabilityCalls: 50,
});

export interface SpecOptions {
  tenant?: string;
  identifier?: string;
  entry?: string;
  params?: JsonValue;
  artifacts?: Record<string, Uint8Array>;
  grants?: CapabilityGrants;
  limits?: Partial<SandboxLimits>;
}

/** A spec around `source` (entry class `C` unless told). */
export function spec(source: string, options: SpecOptions = {}): ComponentSpec {
  return {
    tenant: options.tenant ?? 'acme',
    identifier: options.identifier ?? 'widget',
    version: 1,
    digest: 'ab'.repeat(32),
    entry: options.entry ?? 'C',
    source,
    params: options.params ?? {},
    artifacts: options.artifacts ?? {},
    grants: options.grants ?? { log: {}, kv: {} },
    limits: { ...TEST_LIMITS, ...options.limits },
  };
}

/** A class `C extends Component` with the given body. */
export function cls(body: string): string {
  return `class C extends Component {\n${body}\n}`;
}

/** Awaits `promise` and asserts it rejects with this class name and code. */
export async function expectCode(promise: Promise<unknown>, name: string, code: string): Promise<Error> {
  let caught: unknown;
  try {
    await promise;
  } catch (error) {
    caught = error;
  }
  expect(caught, `expected ${name} ${code}`).toBeInstanceOf(Error);
  const error = caught as Error & { code?: string };
  expect({ name: error.name, code: error.code }).toEqual({ name, code });
  return error;
}

/** True when a process with this pid exists. */
export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** Waits until `check` is true (polling), at most `ms`. */
export async function waitFor(check: () => boolean, ms = 3000): Promise<void> {
  const end = Date.now() + ms;
  while (!check()) {
    if (Date.now() > end) throw new Error('condition not reached in time');
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

/** How `promise` settles: 'fulfilled', or the error's stable code ('untyped' when it has none). */
export async function codeOf(promise: Promise<unknown>): Promise<string> {
  try {
    await promise;
    return 'fulfilled';
  } catch (error) {
    return (error as { code?: unknown }).code === undefined
      ? 'untyped'
      : String((error as { code: unknown }).code);
  }
}
