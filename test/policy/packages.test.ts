/**
 * Package approval: a statement's SBOM (`dependencies`) is checked against the policy's
 * `packages` block by name and version range; unlisted packages follow `unlisted`.
 */
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import type { Dependency } from '../../src/envelope/types.ts';
import { ConfigError } from '../../src/errors.ts';
import { checkSource } from '../../src/policy/check.ts';
import { loadPolicy } from '../../src/policy/load.ts';
import { suggestPackages, unapprovedPackages, versionInRange } from '../../src/policy/packages.ts';

const DEFAULT = readFileSync(fileURLToPath(new URL('../../policies/default.yaml', import.meta.url)), 'utf8');
const dir = mkdtempSync(join(tmpdir(), 'sealbox-pkgpol-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function dep(name: string, version: string): Dependency {
  return { name, version, license: 'MIT', files: [{ path: 'index.js', sha256: '0'.repeat(64) }] };
}

function policyWith(block: string, name = 'p.yaml'): string {
  const file = join(dir, name);
  writeFileSync(file, DEFAULT.replace(/^packages:\n {2}unlisted: refuse\n {2}allow: \[\]\n/m, block));
  return file;
}

describe('when a version is matched against a range', () => {
  it.each([
    ['2.0.1', '^2.0.0', true],
    ['3.0.0', '^2.0.0', false],
    ['0.2.5', '^0.2.1', true],
    ['0.3.0', '^0.2.1', false],
    ['1.2.9', '~1.2.3', true],
    ['1.3.0', '~1.2.3', false],
    ['1.5.0', '>=1.0.0 <2.0.0', true],
    ['2.0.0', '>=1.0.0 <2.0.0', false],
    ['4.2.0', '1.x || 4.x', true],
    ['1.0.16', '1.0.16', true],
    ['1.0.17', '1.0.16', false],
    ['9.9.9', '*', true],
    ['2.0.0-beta.1', '^2.0.0', false],
    ['2.0.0-beta.1', '2.0.0-beta.1', true],
    ['not-a-version', '*', false],
    ['1.0.0', 'latest', false],
  ])('%s in %s is %s', (version, range, expected) => {
    expect(versionInRange(version, range)).toBe(expected);
  });
});

describe('when the SBOM is checked against the policy', () => {
  it('reports unlisted packages and versions outside the approved range', () => {
    const policy = { unlisted: 'refuse' as const, allow: [{ name: 'stemmer', versions: '^2.0.0' }] };
    expect(unapprovedPackages([dep('stemmer', '2.0.1')], policy)).toEqual([]);
    expect(unapprovedPackages([dep('stemmer', '3.0.0'), dep('left-pad', '1.3.0')], policy)).toEqual([
      { name: 'stemmer', version: '3.0.0', reason: expect.stringContaining('outside the approved ^2.0.0') },
      { name: 'left-pad', version: '1.3.0', reason: 'the package is not approved by policy' },
    ]);
    expect(unapprovedPackages([dep('left-pad', '1.3.0')], { ...policy, unlisted: 'allow' })).toEqual([]);
  });

  it('makes checkSource report packages.not-approved under default.yaml (allow: [])', () => {
    const policy = loadPolicy().forTenant('acme');
    const result = checkSource('class A extends Component {}', policy, {
      dependencies: [dep('stemmer', '2.0.1')],
    });
    expect(result.ok).toBe(false);
    expect(result.violations.map((v) => v.rule)).toEqual(['packages.not-approved']);
  });

  it('passes an approved package', () => {
    const file = policyWith(
      'packages:\n  unlisted: refuse\n  allow:\n    - name: stemmer\n      versions: "^2.0.0"\n',
    );
    const result = checkSource('class A extends Component {}', loadPolicy(file).forTenant('acme'), {
      dependencies: [dep('stemmer', '2.0.1')],
    });
    expect(result.ok).toBe(true);
  });
});

describe('when a policy file has a bad packages block', () => {
  it('throws ERR_POLICY_INVALID for a range this release cannot read', () => {
    const file = policyWith(
      'packages:\n  unlisted: refuse\n  allow:\n    - name: stemmer\n      versions: latest\n',
      'bad.yaml',
    );
    expect(() => loadPolicy(file).forTenant('acme')).toThrow(ConfigError);
  });

  it('throws ERR_POLICY_INVALID for an overlay that sets packages (base only)', () => {
    const folder = join(dir, 'folder');
    mkdirSync(join(folder, 'tenants'), { recursive: true });
    writeFileSync(join(folder, 'default.yaml'), DEFAULT);
    writeFileSync(
      join(folder, 'tenants', 'acme.yaml'),
      'schemaVersion: 1\noverlay: true\npackages:\n  unlisted: allow\n  allow: []\n',
    );
    let error: unknown;
    try {
      loadPolicy(folder).forTenant('acme');
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as ConfigError).code).toBe('ERR_POLICY_INVALID');
  });
});

describe('when suggesting a packages block', () => {
  it('approves exactly the bundled packages at ^version, and loads as a policy', () => {
    const yaml = suggestPackages([dep('fastest-levenshtein', '1.0.16'), dep('stemmer', '2.0.1')]);
    expect(yaml).toContain('versions: "^2.0.1"');
    const file = policyWith(
      yaml
        .split('\n')
        .filter((l) => !l.startsWith('#'))
        .join('\n'),
      'suggested.yaml',
    );
    const result = checkSource('class A extends Component {}', loadPolicy(file).forTenant('acme'), {
      dependencies: [dep('stemmer', '2.0.1'), dep('fastest-levenshtein', '1.0.16')],
    });
    expect(result.ok).toBe(true);
  });
});
