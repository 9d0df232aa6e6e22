/**
 * Review of the packer against module shapes real authors write (test/fixtures/pack-review/):
 * each one either packs into a script that behaves exactly like the original module, or is
 * refused with a typed PackError that names the construct and its file:line:column.
 */
import { cpSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { homedir, tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { findFreeVariables } from '../../src/ast/free-variables.ts';
import { SANDBOX_GLOBALS } from '../../src/ast/sandbox-globals.ts';
import { pack, type PackOptions } from '../../src/component/pack.ts';
import { parseScript } from '../../src/ast/parse.ts';
import { canonicalize } from '../../src/envelope/canonical-json.ts';
import { PackError, type ErrorCode } from '../../src/errors.ts';
import type { JsonValue } from '../../src/envelope/types.ts';
import { createLoader } from '../../src/loader.ts';
import { MemoryKvStore } from '../../src/sandbox/kv-store.ts';
import { signEnvelope } from '../../src/trust/sign.ts';
import { makeWorld } from '../e2e/helpers.ts';
import { callAsJson, evaluatePacked, fakeHost } from './stand-in.ts';

const FIXTURES = fileURLToPath(new URL('../fixtures/pack-review/', import.meta.url));
const BASE: PackOptions = { tenant: 'acme', identifier: 'c', version: 1, issuedAt: '2026-01-01T00:00:00Z' };

interface Case {
  readonly file: string;
  readonly export: string;
  /** Expected entry name in the statement (default: the export name). */
  readonly entry?: string;
  readonly calls: readonly (readonly [string, ...unknown[]])[];
}

const CASES: readonly Case[] = [
  { file: 'default-class.js', export: 'default', entry: '$default', calls: [['hello', 'x']] },
  { file: 'default-named-class.js', export: 'default', entry: 'Greeter', calls: [['hello', 'x']] },
  { file: 'export-as.js', export: 'PublicName', entry: 'InternalName', calls: [['run', 4]] },
  { file: 'const-class.js', export: 'Doubler', calls: [['run', 4]] },
  {
    file: 'const-named-class.js',
    export: 'Tripler',
    calls: [['run', 4], ['name']],
  },
  { file: 'declared-later.js', export: 'Later', calls: [['run']] },
  { file: 'reexport-entry.js', export: 'Top', entry: 'Core', calls: [['run', 'two levels']] },
  { file: 'lib/index.js', export: 'Core', calls: [['run', 'index']] },
  { file: 'barrel-entry.js', export: 'Entry', entry: 'Widget', calls: [['run', 'cycle via index']] },
  { file: 'clash.js', export: 'Clash', calls: [['run', '  MiXed  ']] },
  { file: 'chain.js', export: 'Chain', calls: [['run', 5]] },
  { file: 'state.js', export: 'State', calls: [['hit'], ['hit'], ['hit']] },
  {
    file: 'table.js',
    export: 'Table',
    calls: [
      ['look', 'b'],
      ['look', 'zz'],
    ],
  },
  { file: 'hoist.js', export: 'Hoist', calls: [['run', 3]] },
  { file: 'default-and-named.js', export: 'Mixed', calls: [['run', 2]] },
  { file: 'default-arrow.js', export: 'Arrow', calls: [['run', 2]] },
  { file: 'base-elsewhere.js', export: 'default', entry: 'Derived', calls: [['run', 'x'], ['tag']] },
  { file: 'string-names.js', export: 'Strings', calls: [['run']] },
  { file: 'mod-entry.mjs', export: 'ModEntry', calls: [['run', 21]] },
  {
    file: 'ts-features.ts',
    export: 'Features',
    calls: [['apply', 3], ['apply', 40], ['both'], ['label']],
  },
  { file: 'type-only-sealbox.ts', export: 'Typed', calls: [['run', null, { a: [1] }]] },
  { file: 'bom-crlf.js', export: 'Bom', calls: [['run', 1]] },
  { file: 'shebang.js', export: 'Bang', calls: [['run']] },
  { file: 'unicode.js', export: 'Plain', calls: [['run']] },
  { file: 'strict-dupe.js', export: 'S', calls: [['run']] },
  { file: 'local-base.js', export: 'Child', calls: [['run'], ['greet']] },
  { file: 'alias-base.js', export: 'Aliased', calls: [['run']] },
  { file: 'shadow.js', export: 'Map', calls: [['run']] },
  { file: 'namespace.js', export: 'Ns', calls: [['run', 2]] },
];

function packFixture(file: string, exportName: string, extra: Partial<PackOptions> = {}) {
  return pack(`${FIXTURES}${file}`, { ...BASE, export: exportName, ...extra });
}

describe('when packing module shapes authors write', () => {
  for (const c of CASES) {
    it(`packs ${c.file} (${c.export}) into a script that behaves like the original`, async () => {
      const statement = packFixture(c.file, c.export);
      expect(statement.entry).toBe(c.entry ?? c.export);
      const free = findFreeVariables(parseScript(statement.source)).filter(
        (r) => !SANDBOX_GLOBALS.has(r.name),
      );
      expect(free.map((r) => r.name)).toEqual([]);
      const module = (await import(`${FIXTURES}${c.file}`)) as Record<string, unknown>;
      const Original = module[c.export] as new (p: unknown, ctx: unknown) => Record<string, unknown>;
      const Packed = evaluatePacked(statement);
      const context = { identifier: 'c', version: 1, tenant: 'acme', artifacts: {} };
      const original = new Original({ scale: 2 }, { ...context, host: fakeHost().host });
      const packed = new Packed({ scale: 2 }, { ...context, host: fakeHost().host });
      for (const [method, ...args] of c.calls) {
        const expected = await callAsJson(original, method, structuredClone(args));
        const actual = await callAsJson(packed, method, structuredClone(args));
        expect(actual, `${c.file} ${method}`).toBe(expected);
        expect(expected.startsWith('threw')).toBe(false);
      }
    });
  }
});

// The same packed scripts through the real pipeline (sign, verify, default policy, isolated-vm),
// for the shapes whose packed form differs most from the file: names like built-ins, a `const`
// class, a default-exported anonymous class, a barrel cycle, TypeScript, module-level state.
describe('when the packed shapes run in the real sandbox', () => {
  const world = makeWorld();
  const loader = createLoader({ keyring: world.keyring, kv: new MemoryKvStore(), workers: 1 });
  afterAll(async () => {
    await loader.close();
    rmSync(world.dir, { recursive: true, force: true });
  });
  const names = [
    'shadow.js',
    'const-class.js',
    'default-class.js',
    'barrel-entry.js',
    'ts-features.ts',
    'table.js',
    'clash.js',
  ];
  it('returns what the original module returns', async () => {
    for (const [i, c] of CASES.filter((x) => names.includes(x.file)).entries()) {
      const statement = packFixture(c.file, c.export, { identifier: `c${i}`, params: { scale: 2 } });
      const loaded = await loader.load(signEnvelope(statement, world.key), { tenant: 'acme' });
      const module = (await import(`${FIXTURES}${c.file}`)) as Record<string, unknown>;
      const Original = module[c.export] as new (p: unknown, ctx: unknown) => Record<string, unknown>;
      const context = { identifier: `c${i}`, version: 1, tenant: 'acme', artifacts: {} };
      const original = new Original({ scale: 2 }, { ...context, host: fakeHost().host });
      for (const [method, ...args] of c.calls) {
        const expected = await callAsJson(original, method, structuredClone(args));
        const actual = JSON.stringify(await loaded.call(method, ...(args as JsonValue[])));
        expect(actual, `${c.file} ${method}`).toBe(expected);
      }
      await loaded.dispose();
    }
  });
});

function expectRefusal(
  run: () => unknown,
  code: ErrorCode,
  details: Record<string, unknown>,
  ...mentions: string[]
): PackError {
  let error: unknown;
  try {
    run();
  } catch (e) {
    error = e;
  }
  expect(error).toBeInstanceOf(PackError);
  const e = error as PackError;
  expect(e.code, e.message).toBe(code);
  expect(e.details).toMatchObject(details);
  for (const m of mentions) expect(e.message).toContain(m);
  return e;
}

describe('when a module uses a construct the packer cannot bundle', () => {
  const cases: readonly [string, string, ErrorCode, Record<string, unknown>, ...string[]][] = [
    ['cyc.js', 'Cyc', 'ERR_PACK_IMPORT', { line: 1, column: 9 }, 'cyc-a.js:1:9', 'third file'],
    ['back-entry.js', 'Core2', 'ERR_PACK_IMPORT', { line: 2, column: 9 }, 'back-core.js:2:9', "'VERSION'"],
    ['tla.js', 'Tla', 'ERR_PACK_SYNTAX', { line: 2, column: 13 }, 'tla.js:2:13', 'top-level await'],
    ['tla2.js', 'Tla2', 'ERR_PACK_SYNTAX', { line: 1, column: 17 }, 'tla-helper.js:1:17', 'top-level await'],
    [
      'import-meta.js',
      'Meta',
      'ERR_PACK_IMPORT',
      { line: 4, column: 11 },
      'import-meta.js:4:11',
      'import.meta',
    ],
    ['dyn-import.js', 'Dyn', 'ERR_PACK_IMPORT', { line: 4, column: 18 }, 'dyn-import.js:4:18', 'import()'],
    ['json-import.js', 'Json', 'ERR_PACK_IMPORT', { line: 2 }, 'json-import.js:2:', 'attributes', 'artifact'],
    ['sealbox-extra.js', 'Extra', 'ERR_PACK_IMPORT', { line: 1, column: 20 }, 'sealbox-extra.js:1:20'],
    ['sealbox-default.js', 'Def', 'ERR_PACK_IMPORT', { line: 1, column: 7 }, 'sealbox-default.js:1:7'],
    ['sealbox-ns.js', 'Ns', 'ERR_PACK_IMPORT', { line: 1, column: 7 }, 'sealbox-ns.js:1:7'],
    ['shadow2.js', 'Set', 'ERR_PACK_IMPORT', { line: 2, column: 13 }, 'shadow-helper.js:2:13', "'Set'"],
    [
      'fn-reassigned.js',
      'Swapper',
      'ERR_PACK_IMPORT',
      { line: 2, column: 9 },
      'fn-reassigned.js:2:9',
      "'pick'",
    ],
    ['state-live.js', 'Live', 'ERR_PACK_IMPORT', { line: 2 }, 'state-live.js:2:', "'count'", 'let'],
    ['named-component.js', 'Component', 'ERR_PACK_EXPORT', { line: 3 }, 'named-component.js:3:7', 'rename'],
    ['unicode.js', 'Ünï', 'ERR_PACK_EXPORT', { line: 9, column: 7 }, 'unicode.js:9:7', 'ASCII'],
  ];
  for (const [file, exportName, code, details, ...mentions] of cases) {
    it(`throws ${code} for ${file}`, () => {
      expectRefusal(() => packFixture(file, exportName), code, details, ...mentions);
    });
  }
});

// TypeScript that needs a transform does not type-check under this repo's erasableSyntaxOnly, so
// these modules are written to a temporary directory instead of living in test/fixtures.
describe('when a TypeScript module needs a transform or post-ES2024 syntax', () => {
  const dir = mkdtempSync(join(tmpdir(), 'sealbox-review-ts-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  const HEAD = "import { Component } from 'sealbox';\n";
  const cases: readonly [string, string, ErrorCode, Record<string, unknown>, ...string[]][] = [
    [
      'enum.ts',
      `${HEAD}export class Uses extends Component {\n  run(): number { return Color.Red; }\n}\nenum Color {\n  Red,\n}\n`,
      'ERR_PACK_TYPESCRIPT',
      { line: 5, column: 0, construct: 'enum' },
      'enum.ts:5:0',
    ],
    [
      'ns.ts',
      `${HEAD}namespace Util {\n  export const x = 1;\n}\nexport class Uses extends Component { run(): number { return Util.x; } }\n`,
      'ERR_PACK_TYPESCRIPT',
      { line: 2, column: 0, construct: 'namespace' },
      'ns.ts:2:0',
    ],
    [
      'param.ts',
      `${HEAD}class P {\n  constructor(public x: number) {}\n}\nexport class Uses extends Component { run(): number { return new P(1).x; } }\n`,
      'ERR_PACK_TYPESCRIPT',
      { line: 3, construct: 'parameter property' },
      'param.ts:3:',
    ],
    [
      'deco.ts',
      `${HEAD}function logged(t: unknown): void { void t; }\nexport class Uses extends Component {\n  @logged\n  run(): number { return 1; }\n}\n`,
      'ERR_PACK_SYNTAX',
      { line: 4, column: 2, construct: 'decorator' },
      'deco.ts:4:2',
      'decorators are not',
    ],
    [
      'acc.ts',
      `${HEAD}export class Acc extends Component {\n  accessor hits = 0;\n}\n`,
      'ERR_PACK_SYNTAX',
      { line: 3, column: 2, construct: 'accessor' },
      'acc.ts:3:2',
      'auto-accessor',
    ],
    [
      'angle.ts',
      `${HEAD}export class Angle extends Component {\n  run(v: unknown): number {\n    return <number>v;\n  }\n}\n`,
      'ERR_PACK_TYPESCRIPT',
      { line: 4, column: 11, construct: 'angle-bracket' },
      'angle.ts:4:11',
      'as T',
    ],
    [
      'equals.ts',
      `${HEAD}import fs = require('node:fs');\nexport class Eq extends Component {\n  run(): string { return typeof fs; }\n}\n`,
      'ERR_PACK_TYPESCRIPT',
      { line: 2, column: 0, construct: 'import equals' },
      'equals.ts:2:0',
    ],
    [
      'typo.ts',
      `${HEAD}export class Typo extends Component {\n  run(x: number): number {\n    const y = (x + ;\n    return y;\n  }\n}\n`,
      'ERR_PACK_SYNTAX',
      { line: 4 },
      'typo.ts:4:4',
    ],
  ];
  for (const [name, text, code, details, ...mentions] of cases) {
    it(`throws ${code} naming the construct for ${name}`, () => {
      writeFileSync(join(dir, name), text);
      const exportName = /export class (\w+)/.exec(text)?.[1] as string;
      expectRefusal(() => pack(join(dir, name), { ...BASE, export: exportName }), code, details, ...mentions);
    });
  }
});

describe('when the same module is packed from different places', () => {
  const copies: string[] = [];
  afterAll(() => {
    for (const dir of copies) rmSync(dir, { recursive: true, force: true });
  });
  const payloadOf = (statement: object): string => canonicalize({ ...statement });

  it('gives byte-identical payloads for absolute and relative paths and any cwd', () => {
    const absolute = packFixture('reexport-entry.js', 'Top');
    const fromRoot = pack(relative(process.cwd(), `${FIXTURES}reexport-entry.js`), {
      ...BASE,
      export: 'Top',
    });
    const fromCwd = pack('reexport-entry.js', { ...BASE, export: 'Top', cwd: FIXTURES });
    const fromLib = pack('../reexport-entry.js', { ...BASE, export: 'Top', cwd: `${FIXTURES}lib` });
    expect(payloadOf(fromRoot)).toBe(payloadOf(absolute));
    expect(payloadOf(fromCwd)).toBe(payloadOf(absolute));
    expect(payloadOf(fromLib)).toBe(payloadOf(absolute));
  });

  it('gives byte-identical payloads from two copies in different directories, with no host path', () => {
    const payloads = [0, 1].map((i) => {
      const dir = mkdtempSync(join(tmpdir(), `sealbox-review-${i}-`));
      copies.push(dir);
      cpSync(FIXTURES, join(dir, i === 0 ? 'a' : 'deeper/b'), { recursive: true });
      const statement = pack(join(dir, i === 0 ? 'a' : 'deeper/b', 'ts-features.ts'), {
        ...BASE,
        export: 'Features',
      });
      const text = payloadOf(statement);
      for (const hostPath of [dir, FIXTURES, homedir(), process.cwd()]) {
        expect(statement.source).not.toContain(hostPath);
        expect(statement.repr).not.toContain(hostPath);
        expect(text).not.toContain(hostPath);
      }
      return text;
    });
    expect(payloads[1]).toBe(payloads[0]);
  });
});
