/**
 * Issue 13 #4: the shipped policies' kv quotas fit one node and agree with the code's defaults and
 * the docs (default.yaml used to grant 10,000 keys × 64 KiB = 640 MB per tenant).
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { loadPolicy } from '../../src/policy/load.ts';
import { KV_DEFAULT_LIMITS } from '../../src/sandbox/capabilities.ts';

const MIB = 1024 * 1024;

describe('kv quotas of the shipped policies', () => {
  it('default.yaml grants the code defaults: 1000 keys, 8 MiB in all per tenant', () => {
    const kv = loadPolicy().forTenant('acme').capabilities['kv']!;
    expect(kv['maxKeys']).toBe(KV_DEFAULT_LIMITS.maxKeys);
    expect(kv['maxTotalBytes']).toBe(KV_DEFAULT_LIMITS.maxTotalBytes);
    expect(kv['maxTotalBytes']).toBeLessThanOrEqual(8 * MIB);
  });

  it('strict.yaml caps a tenant at 1 MiB', () => {
    const text = readFileSync(new URL('../../policies/strict.yaml', import.meta.url), 'utf8');
    expect(text).toMatch(/maxTotalBytes: 1048576/);
  });

  it('docs state the byte quota', () => {
    const sandbox = readFileSync(new URL('../../docs/sandbox.md', import.meta.url), 'utf8');
    expect(sandbox).toMatch(/`maxTotalBytes`\s+8 MiB/);
  });
});
