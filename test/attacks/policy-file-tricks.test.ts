/**
 * Policy files as ops (or whoever can write to the policy folder) leave them: special files, keys
 * that YAML types differently but JavaScript spells the same, overlay names in the wrong case, huge
 * maps, and a watched folder that changes shape. Layer that must stop each: the policy loader
 * (ConfigError ERR_POLICY_INVALID naming file and line, in bounded time; never a hang, a crash or a
 * silently ignored file).
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ConfigError } from '../../src/errors.ts';
import { loadPolicy } from '../../src/policy/load.ts';
import { parsePolicyText } from '../../src/policy/policy-file.ts';
import type { ReloadResult } from '../../src/policy/types.ts';
import { POLICIES_DIR } from '../policy/support.ts';
import { fastestMs } from '../support/timing.ts';

const DEFAULT_TEXT = readFileSync(join(POLICIES_DIR, 'default.yaml'), 'utf8');

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'sealbox-policy-tricks-'));
  writeFileSync(join(dir, 'default.yaml'), DEFAULT_TEXT);
  mkdirSync(join(dir, 'tenants'));
});
afterEach(() => {
  rmSync(dir, { recursive: true, force: true });
});

function configError(fn: () => unknown): ConfigError {
  try {
    fn();
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as ConfigError).code).toBe('ERR_POLICY_INVALID');
    return error as ConfigError;
  }
  return expect.fail('expected ERR_POLICY_INVALID');
}

describe('when a tenant overlay is not a regular file (layer: policy loader)', () => {
  it('throws ERR_POLICY_INVALID for a named pipe instead of blocking forever', () => {
    execFileSync('mkfifo', [join(dir, 'tenants', 'acme.yaml')]);
    // A blocking open of a FIFO with no writer never returns: reaching the assertion is the proof.
    const error = configError(() => loadPolicy(dir));
    expect(error.details['file']).toContain('acme.yaml');
  });

  it('throws ERR_POLICY_INVALID for a symlink to /dev/zero instead of reading without end', () => {
    symlinkSync('/dev/zero', join(dir, 'tenants', 'acme.yaml'));
    // An unbounded read of /dev/zero never ends (or exhausts memory): reaching the assertion is the proof.
    const error = configError(() => loadPolicy(dir));
    expect(error.details['file']).toContain('acme.yaml');
  });

  it('still follows a symlink to a regular file (mounted config maps are symlinks)', () => {
    writeFileSync(join(dir, 'real-acme.yaml'), 'resources:\n  memoryMb: 32\n');
    symlinkSync(join(dir, 'real-acme.yaml'), join(dir, 'tenants', 'acme.yaml'));
    expect(loadPolicy(dir).forTenant('acme').resources.memoryMb).toBe(32);
  });
});

describe('when two keys of one map are spelt differently but read the same (layer: policy file)', () => {
  it('throws ERR_POLICY_INVALID for `true:` next to `"true":` (one capability twice, last one won)', () => {
    const text = DEFAULT_TEXT.replace(
      'capabilities:\n',
      'capabilities:\n  true: { granted: true, limits: {} }\n  "true": { granted: false, limits: {} }\n',
    );
    const line = text.split('\n').indexOf('  true: { granted: true, limits: {} }') + 1;
    const error = configError(() => parsePolicyText(text, 'p.yaml'));
    expect(error.details['line']).toBe(line);
  });

  it('throws ERR_POLICY_INVALID naming the line of a key that is not a string (null, number, list)', () => {
    for (const [text, line] of [
      ['resources:\n  memoryMb: 32\n  null: 1\n', 3],
      ['source:\n  1: 2\n', 2],
      ['? [a, b]\n: 1\n', 1],
    ] as const) {
      expect(configError(() => parsePolicyText(text, 'o.yaml', 'overlay')).details['line']).toBe(line);
    }
  });

  it('keeps refusing plain duplicates with the line of the second one', () => {
    const text = 'trust:\n  minSignatures: 2\n  "minSignatures": 1\n';
    expect(configError(() => parsePolicyText(text, 'o.yaml', 'overlay')).details['line']).toBe(3);
  });
});

describe('when a policy file holds a huge map (layer: policy file)', () => {
  it('throws ERR_POLICY_INVALID for 50,000 keys, in time linear in the keys (duplicate detection is not quadratic)', () => {
    const keys = (n: number) => Array.from({ length: n }, (_, i) => `k${i}: 1`).join('\n');
    const big = keys(50_000);
    const small = keys(5_000);
    // Ten times the keys: about ten times the work when linear, a hundred when quadratic.
    const bigMs = fastestMs(() => configError(() => parsePolicyText(big, 'o.yaml', 'overlay')), 1);
    const smallMs = fastestMs(() => configError(() => parsePolicyText(small, 'o.yaml', 'overlay')), 3);
    expect(bigMs / smallMs).toBeLessThan(40);
  }, 120_000);
});

describe('when an overlay file name differs from a tenant name only by case (layer: policy loader)', () => {
  it('throws ERR_POLICY_INVALID for acme.YAML instead of silently ignoring the narrowing', () => {
    writeFileSync(join(dir, 'tenants', 'acme.YAML'), 'capabilities:\n  kv: { granted: false }\n');
    expect(configError(() => loadPolicy(dir)).details['file']).toContain('acme.YAML');
  });

  it('throws ERR_POLICY_INVALID for ACME.yaml', () => {
    writeFileSync(join(dir, 'tenants', 'ACME.yaml'), 'mode: enforce\n');
    configError(() => loadPolicy(dir));
  });

  it('throws ERR_POLICY_INVALID for acme.yml next to acme.yaml', () => {
    writeFileSync(join(dir, 'tenants', 'acme.yaml'), 'mode: enforce\n');
    writeFileSync(join(dir, 'tenants', 'acme.yml'), 'mode: enforce\n');
    configError(() => loadPolicy(dir));
  });
});

describe('when the watched folder changes shape (layer: policy loader)', () => {
  const nextReload = (results: ReloadResult[], count: number): Promise<void> =>
    new Promise((resolve, reject) => {
      const started = Date.now();
      const poll = (): void => {
        if (results.length >= count) resolve();
        else if (Date.now() - started > 4000) reject(new Error(`no reload #${count}`));
        else setTimeout(poll, 20);
      };
      poll();
    });

  it('picks up edits in a tenants/ folder created after watch() started', async () => {
    rmSync(join(dir, 'tenants'), { recursive: true });
    const set = loadPolicy(dir);
    const results: ReloadResult[] = [];
    const stop = set.watch((r) => results.push(r));
    try {
      mkdirSync(join(dir, 'tenants'));
      writeFileSync(join(dir, 'tenants', 'acme.yaml'), 'resources:\n  memoryMb: 32\n');
      await nextReload(results, 1);
      await new Promise((r) => setTimeout(r, 250));
      const before = results.length;
      expect(set.forTenant('acme').resources.memoryMb).toBe(32);
      writeFileSync(join(dir, 'tenants', 'acme.yaml'), 'resources:\n  memoryMb: 16\n');
      await nextReload(results, before + 1);
      expect(set.forTenant('acme').resources.memoryMb).toBe(16);
    } finally {
      stop();
    }
  });

  it('keeps the last good policy, and keeps watching, when tenants/ is deleted and recreated', async () => {
    writeFileSync(join(dir, 'tenants', 'acme.yaml'), 'resources:\n  memoryMb: 32\n');
    const set = loadPolicy(dir);
    const results: ReloadResult[] = [];
    const stop = set.watch((r) => results.push(r));
    try {
      rmSync(join(dir, 'tenants'), { recursive: true });
      await nextReload(results, 1);
      await new Promise((r) => setTimeout(r, 250));
      mkdirSync(join(dir, 'tenants'));
      await nextReload(results, results.length + 1);
      await new Promise((r) => setTimeout(r, 250));
      const before = results.length;
      writeFileSync(join(dir, 'tenants', 'acme.yaml'), 'resources:\n  memoryMb: 16\n');
      await nextReload(results, before + 1);
      expect(set.forTenant('acme').resources.memoryMb).toBe(16);
    } finally {
      stop();
    }
  });
});
