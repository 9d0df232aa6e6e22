import { describe, expect, it } from 'vitest';
import {
  DEFAULT_SANDBOX_LIMITS,
  parseCapabilityGrants,
  parseSandboxLimits,
} from '../../src/sandbox/limits.ts';
import { createSupervisor } from '../../src/sandbox/supervisor.ts';

describe('when limits are parsed', () => {
  it('accepts the defaults and returns a frozen copy', () => {
    const parsed = parseSandboxLimits({ ...DEFAULT_SANDBOX_LIMITS });
    expect(parsed).toEqual(DEFAULT_SANDBOX_LIMITS);
    expect(Object.isFrozen(parsed)).toBe(true);
    expect(DEFAULT_SANDBOX_LIMITS).toEqual({
      memoryMb: 64,
      callTimeoutMs: 1000,
      maxArgBytes: 1048576,
      maxResultBytes: 1048576,
      maxJsonDepth: 64,
      maxCapabilityCalls: 1000,
      maxConcurrentCalls: 4,
      maxQueuedCalls: 64,
    });
  });
  it.each([
    ['a missing key', { ...DEFAULT_SANDBOX_LIMITS, memoryMb: undefined }],
    ['an unknown key', { ...DEFAULT_SANDBOX_LIMITS, cpu: 1 }],
    ['a symbol key', { ...DEFAULT_SANDBOX_LIMITS, [Symbol('x')]: 1 }],
    ['a fraction', { ...DEFAULT_SANDBOX_LIMITS, callTimeoutMs: 1.5 }],
    ['NaN', { ...DEFAULT_SANDBOX_LIMITS, maxArgBytes: Number.NaN }],
    ['memory under 8 MB', { ...DEFAULT_SANDBOX_LIMITS, memoryMb: 4 }],
    ['a getter', Object.defineProperty({ ...DEFAULT_SANDBOX_LIMITS }, 'memoryMb', { get: () => 64 })],
    ['null', null],
  ])('throws ERR_CONFIG_INVALID for %s', (_name, value) => {
    expect(() => parseSandboxLimits(value)).toThrow(expect.objectContaining({ code: 'ERR_CONFIG_INVALID' }));
  });
  it('throws ERR_CONFIG_INVALID for bad grants', () => {
    expect(() => parseCapabilityGrants({ 'bad name': {} })).toThrow(
      expect.objectContaining({ code: 'ERR_CONFIG_INVALID' }),
    );
    expect(() => parseCapabilityGrants({ kv: { maxKeys: -1 } })).toThrow(
      expect.objectContaining({ code: 'ERR_CONFIG_INVALID' }),
    );
    expect(() => parseCapabilityGrants({ kv: [] })).toThrow(
      expect.objectContaining({ code: 'ERR_CONFIG_INVALID' }),
    );
    expect(Object.getPrototypeOf(parseCapabilityGrants({ kv: { maxKeys: 1 } }))).toBeNull();
  });
  it('throws ERR_CONFIG_INVALID for bad supervisor options', () => {
    expect(() => createSupervisor({ workers: 0 })).toThrow(
      expect.objectContaining({ code: 'ERR_CONFIG_INVALID' }),
    );
    expect(() => createSupervisor({ heartbeatMs: 1 })).toThrow(
      expect.objectContaining({ code: 'ERR_CONFIG_INVALID' }),
    );
    expect(() => createSupervisor({ worker: 3 } as never)).toThrow(
      expect.objectContaining({ code: 'ERR_CONFIG_INVALID' }),
    );
  });
});
