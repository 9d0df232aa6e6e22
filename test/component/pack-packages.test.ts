/**
 * Packing components that import real npm packages (exact-pinned devDependencies): stemmer (ESM),
 * fastest-levenshtein (CommonJS), mustache (`exports` with import/require conditions), from
 * fixture components under test/fixtures/packages/ (one of them TypeScript). Each packed one runs in
 * the sandbox with the results plain Node gives; refusals name the package and file.
 */
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { pack, type PackOptions } from '../../src/component/pack.ts';
import { parseStatement, sha256Hex } from '../../src/envelope/statement.ts';
import { canonicalBytes } from '../../src/envelope/canonical-json.ts';
import { PackError, type ErrorCode } from '../../src/errors.ts';
import type { JsonValue } from '../../src/envelope/types.ts';
import { createLoader } from '../../src/loader.ts';
import { MemoryKvStore } from '../../src/sandbox/kv-store.ts';
import { signEnvelope } from '../../src/trust/sign.ts';
import { makeWorld } from '../e2e/helpers.ts';
import { callAsJson, fakeHost } from './stand-in.ts';

const FIXTURES = fileURLToPath(new URL('../fixtures/packages/', import.meta.url));
const REPO = fileURLToPath(new URL('../../', import.meta.url));
const BASE: PackOptions = { tenant: 'acme', identifier: 'c', version: 1, issuedAt: '2026-01-01T00:00:00Z' };

interface Case {
  readonly file: string;
  readonly export: string;
  readonly params: JsonValue;
  readonly packages: readonly string[];
  readonly calls: readonly (readonly [string, ...JsonValue[]])[];
}

const CASES: readonly Case[] = [
  {
    file: 'stem-search.ts',
    export: 'StemSearch',
    params: { vocabulary: ['running', 'jumper', 'happiness', 'generalization'] },
    packages: ['fastest-levenshtein', 'stemmer'],
    calls: [
      ['stems', 'The runners were running happily towards generalizations'],
      ['nearest', 'hapiness'],
      ['nearest', 'jumping'],
    ],
  },
  {
    file: 'greeter.js',
    export: 'Greeter',
    params: {},
    packages: ['mustache'],
    calls: [['greet', 'Ada <admin>']],
  },
];

function packCase(c: Case, extra: Partial<PackOptions> = {}) {
  return pack(join(FIXTURES, c.file), { ...BASE, export: c.export, params: c.params, ...extra });
}

function refusal(run: () => unknown, code: ErrorCode): PackError {
  let error: unknown;
  try {
    run();
  } catch (e) {
    error = e;
  }
  expect(error).toBeInstanceOf(PackError);
  expect((error as PackError).code).toBe(code);
  return error as PackError;
}

describe('when a component imports npm packages', () => {
  it.each(CASES)(
    'packs $file as a v2 statement whose SBOM lists each package that contributed bytes',
    (c) => {
      const statement = packCase(c);
      expect(statement._type).toBe('sealbox/component/v2');
      expect(statement.entry).toBe(c.export);
      expect(statement.source).not.toMatch(/^\s*(import|export)\b/m);
      const deps = statement.dependencies ?? [];
      expect(deps.map((d) => d.name)).toEqual(c.packages);
      for (const d of deps) {
        const manifest = JSON.parse(
          readFileSync(join(REPO, 'node_modules', d.name, 'package.json'), 'utf8'),
        ) as {
          version: string;
          license: string;
        };
        expect(d.version).toBe(manifest.version);
        expect(d.license).toBe(manifest.license);
        expect(d.integrity).toMatch(/^sha512-/);
        for (const f of d.files) {
          expect(f.sha256).toBe(sha256Hex(readFileSync(join(REPO, 'node_modules', d.name, f.path))));
        }
      }
      // The decoder accepts what the packer wrote (closed v2 schema).
      expect(parseStatement(canonicalBytes(statement as unknown as JsonValue)).dependencies).toEqual(deps);
    },
  );

  it('resolves CommonJS from `main` and ESM from the `import` condition, as Node does', () => {
    const stem = packCase(CASES[0] as Case).dependencies ?? [];
    expect(stem.find((d) => d.name === 'fastest-levenshtein')?.files.map((f) => f.path)).toEqual(['mod.js']);
    const greet = packCase(CASES[1] as Case).dependencies ?? [];
    expect(greet[0]?.files.map((f) => f.path)).toEqual(['mustache.mjs']);
  });

  it('writes v1 (no dependencies) for a component without packages', () => {
    const statement = pack(join(FIXTURES, 'shout-component.js'), { ...BASE, export: 'Plain' });
    expect(statement._type).toBe('sealbox/component/v1');
    expect('dependencies' in statement).toBe(false);
  });

  it('is deterministic: the same digest twice and from a copy of the project in another folder', () => {
    const c = CASES[0] as Case;
    const digest = (s: object): string => sha256Hex(canonicalBytes(s as JsonValue));
    const first = digest(packCase(c));
    expect(digest(packCase(c))).toBe(first);
    const copy = mkdtempSync(join(tmpdir(), 'sealbox-pkgcopy-'));
    try {
      cpSync(FIXTURES, join(copy, 'test/fixtures/packages'), { recursive: true });
      writeFileSync(join(copy, 'package.json'), '{"name":"copy","private":true}');
      cpSync(join(REPO, 'package-lock.json'), join(copy, 'package-lock.json'));
      for (const name of ['stemmer', 'fastest-levenshtein']) {
        cpSync(join(REPO, 'node_modules', name), join(copy, 'node_modules', name), { recursive: true });
      }
      const moved = pack(join(copy, 'test/fixtures/packages', c.file), {
        ...BASE,
        export: c.export,
        params: c.params,
      });
      expect(digest(moved)).toBe(first);
    } finally {
      rmSync(copy, { recursive: true, force: true });
    }
  });
});

describe('when a package needs what the sandbox lacks', () => {
  const dir = mkdtempSync(join(tmpdir(), 'sealbox-pkgrefuse-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  const fakePackage = (name: string, code: string): string => {
    const root = join(dir, 'node_modules', name);
    mkdirSync(join(root, 'lib'), { recursive: true });
    mkdirSync(join(dir, 'src'), { recursive: true });
    writeFileSync(join(dir, 'package.json'), '{"name":"refusals","private":true}');
    writeFileSync(
      join(root, 'package.json'),
      JSON.stringify({ name, version: '1.0.0', license: 'MIT', main: 'lib/index.js' }),
    );
    writeFileSync(join(root, 'lib', 'index.js'), code);
    const entry = join(dir, 'src', `${name}-user.js`);
    writeFileSync(
      entry,
      `import { Component } from 'sealbox';\nimport { run } from '${name}';\nexport class User extends Component { go() { return run(); } }\n`,
    );
    return entry;
  };

  it('throws ERR_PACK_PACKAGE for a Node built-in, naming the package and its file', () => {
    const entry = fakePackage(
      'reads-files',
      "import { readFileSync } from 'node:fs';\nexport const run = () => readFileSync('/etc/hostname', 'utf8');\n",
    );
    const e = refusal(() => pack(entry, { ...BASE, export: 'User' }), 'ERR_PACK_PACKAGE');
    expect(e.details).toMatchObject({
      reason: 'node-builtin',
      package: 'reads-files',
      file: 'node_modules/reads-files/lib/index.js',
      line: 1,
    });
  });

  it('throws ERR_PACK_FREE_VARIABLE for process.env, pointing at the package file', () => {
    const entry = fakePackage('reads-env', 'export const run = () => process.env.HOME;\n');
    const e = refusal(() => pack(entry, { ...BASE, export: 'User' }), 'ERR_PACK_FREE_VARIABLE');
    expect(e.message).toContain('process (package reads-env, node_modules/reads-env/lib/index.js:1:');
  });

  it('throws ERR_PACK_FREE_VARIABLE for `new Function` code generation (the sandbox has no Function constructor)', () => {
    const entry = fakePackage('makes-code', "export const run = () => new Function('return 1')();\n");
    const e = refusal(() => pack(entry, { ...BASE, export: 'User' }), 'ERR_PACK_FREE_VARIABLE');
    expect(e.message).toContain('Function (package makes-code, node_modules/makes-code/lib/index.js:1:');
  });

  it('throws ERR_PACK_PACKAGE for a computed dynamic import()', () => {
    const entry = fakePackage('loads-later', 'export const run = (name) => import(name);\n');
    const e = refusal(() => pack(entry, { ...BASE, export: 'User' }), 'ERR_PACK_PACKAGE');
    expect(e.details).toMatchObject({ reason: 'dynamic-import', package: 'loads-later' });
  });

  it('throws ERR_PACK_PACKAGE for a network import', () => {
    const entry = fakePackage('from-net', "export { run } from 'https://example.invalid/x.js';\n");
    const e = refusal(() => pack(entry, { ...BASE, export: 'User' }), 'ERR_PACK_PACKAGE');
    expect(e.details).toMatchObject({ reason: 'url', package: 'from-net' });
  });

  it('throws ERR_PACK_TOO_LARGE saying by how much, and which package weighs most', () => {
    const e = refusal(() => packCase(CASES[1] as Case, { maxSourceBytes: 4096 }), 'ERR_PACK_TOO_LARGE');
    expect(e.details['over']).toBe((e.details['size'] as number) - 4096);
    expect(e.message).toContain('mustache');
  });
});

describe('when packed package components run in the real sandbox', () => {
  const world = makeWorld();
  const policyDir = mkdtempSync(join(tmpdir(), 'sealbox-pkgpolicy-'));
  // mustache writes Scanner.prototype.x = …: the default policy refuses that member name, so this
  // run uses the default policy in audit mode (the per-package approval is the ops' decision).
  const audit = join(policyDir, 'audit.yaml');
  writeFileSync(
    audit,
    readFileSync(join(REPO, 'policies/default.yaml'), 'utf8').replace(/^mode: enforce$/m, 'mode: audit'),
  );
  const strictLoader = createLoader({ keyring: world.keyring, kv: new MemoryKvStore(), workers: 1 });
  const auditLoader = createLoader({
    keyring: world.keyring,
    kv: new MemoryKvStore(),
    workers: 1,
    policy: audit,
  });
  afterAll(async () => {
    await strictLoader.close();
    await auditLoader.close();
    rmSync(world.dir, { recursive: true, force: true });
    rmSync(policyDir, { recursive: true, force: true });
  });

  it.each(CASES.map((c, i) => [c.file, c, i] as const))(
    '%s returns what plain Node returns',
    async (_f, c, i) => {
      const statement = packCase(c, { identifier: `p${i}` });
      const loader = c.file === 'stem-search.ts' ? strictLoader : auditLoader;
      const loaded = await loader.load(signEnvelope(statement, world.key), { tenant: 'acme' });
      const module = (await import(join(FIXTURES, c.file))) as Record<string, unknown>;
      const Original = module[c.export] as new (p: unknown, ctx: unknown) => Record<string, unknown>;
      const original = new Original(c.params, {
        identifier: `p${i}`,
        version: 1,
        tenant: 'acme',
        artifacts: {},
        host: fakeHost().host,
      });
      for (const [method, ...args] of c.calls) {
        const expected = await callAsJson(original, method, structuredClone(args));
        expect(JSON.stringify(await loaded.call(method, ...args)), `${c.file} ${method}`).toBe(expected);
      }
      await loaded.dispose();
    },
  );
});
