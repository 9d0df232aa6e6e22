/**
 * `sealbox diff` for components with packages: added, removed and changed packages from the two
 * SBOMs, and a loud flag when a package changed and the code now reaches globals it did not.
 */
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { diffPackages, packageDiffLines } from '../../src/cli/commands/diff-packages.ts';
import { pack } from '../../src/component/pack.ts';
import type { Dependency, Statement } from '../../src/envelope/types.ts';

const FIXTURES = fileURLToPath(new URL('../fixtures/packages/', import.meta.url));
const base = pack(`${FIXTURES}stem-search.ts`, {
  export: 'StemSearch',
  tenant: 'acme',
  identifier: 'stem',
  version: 1,
  issuedAt: '2026-01-01T00:00:00Z',
}) as Statement;
const deps = base.dependencies as readonly Dependency[];

describe('when two versions bundle different packages', () => {
  it('reports nothing for the same statement', () => {
    const d = diffPackages(base, base);
    expect(d).toMatchObject({ added: [], removed: [], changed: [], newGlobals: [], escalation: false });
    expect(packageDiffLines(d)).toEqual(['packages: unchanged']);
  });

  it('flags a changed package whose new code reaches a new global', () => {
    const bumped = deps.map((d) =>
      d.name === 'stemmer'
        ? { ...d, version: '2.0.2', files: d.files.map((f) => ({ ...f, sha256: '0'.repeat(64) })) }
        : d,
    );
    const next = { ...base, dependencies: bumped, source: `${base.source}\nfetch('https://x.invalid');\n` };
    const d = diffPackages(base, next);
    expect(d.changed).toEqual([
      { name: 'stemmer', old: '2.0.1', new: '2.0.2', licenseChanged: false, filesChanged: ['index.js'] },
    ]);
    expect(d.newGlobals).toEqual(['fetch']);
    expect(d.escalation).toBe(true);
    expect(packageDiffLines(d).join('\n')).toContain('~stemmer 2.0.1 -> 2.0.2');
  });

  it('lists added and removed packages (a v1 statement has none)', () => {
    const v1 = { ...base, _type: 'sealbox/component/v1', dependencies: undefined } as unknown as Statement;
    expect(diffPackages(v1, base).added).toEqual(['fastest-levenshtein', 'stemmer']);
    expect(diffPackages(base, v1).removed).toEqual(['fastest-levenshtein', 'stemmer']);
    expect(diffPackages(base, v1).escalation).toBe(false);
  });
});
