/**
 * Author-side layer (pack, rolldown path): packages that try to bring host access or hostile
 * metadata into a statement are refused with a typed PackError, never packed and never an untyped
 * crash. Codes: ERR_PACK_PACKAGE (built-ins through require, addons), ERR_PACK_FREE_VARIABLE
 * (computed require), ERR_PACK_OPTIONS (a manifest whose name or license the statement schema
 * refuses: control characters, a name that is not an npm name).
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { pack } from '../../src/component/pack.ts';
import { PackError } from '../../src/errors.ts';

const dir = mkdtempSync(join(tmpdir(), 'sealbox-smuggle-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
writeFileSync(join(dir, 'package.json'), '{"name":"smuggle","private":true}');

function project(name: string, manifest: Record<string, unknown>, code: string): string {
  const root = join(dir, 'node_modules', name);
  mkdirSync(root, { recursive: true });
  writeFileSync(join(root, 'package.json'), JSON.stringify({ main: 'index.js', ...manifest }));
  writeFileSync(join(root, 'index.js'), code);
  const entry = join(dir, `${name.replace(/\W/g, '_')}.js`);
  writeFileSync(
    entry,
    `import { Component } from 'sealbox';\nimport { run } from '${name}';\nexport class C extends Component { go() { return run(); } }\n`,
  );
  return entry;
}

function refusal(entry: string): PackError {
  let error: unknown;
  try {
    pack(entry, {
      export: 'C',
      tenant: 'acme',
      identifier: 'c',
      version: 1,
      issuedAt: '2026-01-01T00:00:00Z',
    });
  } catch (e) {
    error = e;
  }
  expect(error).toBeInstanceOf(PackError);
  return error as PackError;
}

describe('when a package reaches for the host through CommonJS', () => {
  it('throws ERR_PACK_PACKAGE for require("child_process")', () => {
    const entry = project(
      'spawner',
      { name: 'spawner', version: '1.0.0', license: 'MIT' },
      "exports.run = () => require('child_process').execSync('id').toString();\n",
    );
    const e = refusal(entry);
    expect(e.code).toBe('ERR_PACK_PACKAGE');
    expect(e.details).toMatchObject({
      reason: 'node-builtin',
      package: 'spawner',
      specifier: 'child_process',
    });
  });

  it('throws ERR_PACK_FREE_VARIABLE for a computed require()', () => {
    const entry = project(
      'loader-pkg',
      { name: 'loader-pkg', version: '1.0.0', license: 'MIT' },
      "const name = ['f', 's'].join('');\nexports.run = () => require(name);\n",
    );
    const e = refusal(entry);
    expect(e.code).toBe('ERR_PACK_FREE_VARIABLE');
    // rolldown turns a computed require into a call of its runtime helper, which reads `require`.
    expect(e.details['names']).toEqual([expect.objectContaining({ name: 'require' })]);
  });
});

describe('when a package manifest carries hostile metadata for the SBOM', () => {
  it('refuses a license with terminal control characters (they would reach inspect and diff)', () => {
    const entry = project(
      'shouty',
      { name: 'shouty', version: '1.0.0', license: 'MIT\u001b[2J\u001b]0;pwned\u0007' },
      'export const run = () => 1;\n',
    );
    expect(refusal(entry).code).toBe('ERR_PACK_OPTIONS');
  });

  it('refuses a manifest name that is not an npm package name', () => {
    const entry = project(
      'renamed',
      { name: '../../etc/passwd', version: '1.0.0', license: 'MIT' },
      'export const run = () => 1;\n',
    );
    expect(refusal(entry).code).toBe('ERR_PACK_OPTIONS');
  });
});
