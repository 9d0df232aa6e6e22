import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { rmSync } from 'node:fs';
import { Component } from '../../src/component/component.ts';
import { pack, type PackOptions } from '../../src/component/pack.ts';
import { PackError, type ErrorCode } from '../../src/errors.ts';

const dir = mkdtempSync(join(tmpdir(), 'sealbox-pack-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const BASE: PackOptions = { tenant: 'acme', identifier: 'c', version: 1, issuedAt: '2026-01-01T00:00:00Z' };

function file(name: string, text: string): string {
  const path = join(dir, name);
  writeFileSync(path, text);
  return path;
}

function refusal(run: () => unknown): PackError {
  try {
    run();
  } catch (error) {
    expect(error).toBeInstanceOf(PackError);
    return error as PackError;
  }
  throw new Error('expected a PackError, nothing was thrown');
}

function expectRefusal(run: () => unknown, code: ErrorCode, ...mentions: string[]): PackError {
  const error = refusal(run);
  expect(error.code).toBe(code);
  for (const m of mentions) expect(error.message).toContain(m);
  return error;
}

const HEAD = "import { Component } from 'sealbox';\n";

describe('when the module imports something that cannot be bundled', () => {
  it('throws ERR_PACK_PACKAGE for a Node built-in, naming the module, file and line', () => {
    const f = file(
      'fs.js',
      `${HEAD}import { readFileSync } from 'node:fs';\nexport class A extends Component {}\n`,
    );
    const e = expectRefusal(
      () => pack(f, { ...BASE, export: 'A' }),
      'ERR_PACK_PACKAGE',
      "'node:fs'",
      'fs.js:2:0',
      'Node built-in',
    );
    expect(e.details).toMatchObject({ module: 'node:fs', line: 2, column: 0, reason: 'node-builtin' });
  });
  it('throws ERR_PACK_IMPORT for a package import', () => {
    const f = file(
      'pkg.js',
      `${HEAD}import _ from 'lodash';\nexport class A extends Component { m() { return _; } }\n`,
    );
    expectRefusal(() => pack(f, { ...BASE, export: 'A' }), 'ERR_PACK_IMPORT', "'lodash'", 'pkg.js:2:0');
  });
  it('throws ERR_PACK_IMPORT for other names from sealbox', () => {
    const f = file(
      'sb.js',
      `import { Component, pack } from 'sealbox';\nexport class A extends Component {}\n`,
    );
    expectRefusal(() => pack(f, { ...BASE, export: 'A' }), 'ERR_PACK_IMPORT', 'sb.js:1:20');
  });
  it('throws ERR_PACK_IMPORT for a missing relative file', () => {
    const f = file(
      'missing.js',
      `${HEAD}import { x } from './nope.js';\nexport class A extends Component {}\n`,
    );
    expectRefusal(() => pack(f, { ...BASE, export: 'A' }), 'ERR_PACK_IMPORT', './nope.js', 'missing.js:2:0');
  });
  it('throws ERR_PACK_IMPORT for a name the helper does not export', () => {
    file('h1.js', 'export const a = 1;\n');
    const f = file(
      'badname.js',
      `${HEAD}import { b } from './h1.js';\nexport class A extends Component { m() { return b; } }\n`,
    );
    expectRefusal(
      () => pack(f, { ...BASE, export: 'A' }),
      'ERR_PACK_IMPORT',
      "no export named 'b'",
      'badname.js:2:9',
    );
  });
  it('throws ERR_PACK_IMPORT for namespace imports of packages', () => {
    const f = file(
      'ns.js',
      `${HEAD}import * as h from 'some-package';\nexport class A extends Component { m() { return h.a; } }\n`,
    );
    expectRefusal(() => pack(f, { ...BASE, export: 'A' }), 'ERR_PACK_IMPORT', 'some-package', 'ns.js:2:0');
  });
  it('throws ERR_PACK_IMPORT for dynamic import() in kept code', () => {
    const f = file(
      'dyn.js',
      `${HEAD}export class A extends Component { m() { return import('node:fs'); } }\n`,
    );
    expectRefusal(
      () => pack(f, { ...BASE, export: 'A' }),
      'ERR_PACK_IMPORT',
      'dynamic import()',
      'dyn.js:2:',
    );
  });
  it('throws ERR_PACK_IMPORT for import cycles between kept files', () => {
    file('cyc-a.js', "import { b } from './cyc-b.js';\nexport const a = () => b();\n");
    file(
      'cyc-b.js',
      "import { a } from './cyc-a.js';\nexport const b = () => 1;\nexport const c = () => a();\n",
    );
    const f = file(
      'cyc.js',
      `${HEAD}import { a } from './cyc-a.js';\nimport { c } from './cyc-b.js';\nexport class A extends Component { m() { return a() + c(); } }\n`,
    );
    expectRefusal(() => pack(f, { ...BASE, export: 'A' }), 'ERR_PACK_IMPORT', 'import each other');
  });
});

describe('when the class uses names the sandbox does not provide', () => {
  it('throws ERR_PACK_FREE_VARIABLE listing each name with its position (module file)', () => {
    const f = file(
      'free.js',
      `${HEAD}export class A extends Component {\n  m() { return process.env.X + require('fs') + console; }\n}\n`,
    );
    const e = expectRefusal(
      () => pack(f, { ...BASE, export: 'A' }),
      'ERR_PACK_FREE_VARIABLE',
      'process (free.js:3:15)',
      'require (free.js:3:31)',
      'console',
    );
    expect((e.details['names'] as { name: string }[]).map((n) => n.name)).toEqual([
      'process',
      'require',
      'console',
    ]);
  });
  it('throws ERR_PACK_FREE_VARIABLE for a class object that closes over a variable', () => {
    const secret = 42;
    class Leaky extends Component {
      m(): number {
        return secret;
      }
    }
    const e = expectRefusal(() => pack(Leaky, BASE), 'ERR_PACK_FREE_VARIABLE', 'secret (3:');
    expect(e.details['names']).toMatchObject([{ name: 'secret', line: 3 }]);
  });
  it('throws ERR_PACK_FREE_VARIABLE for eval and Function (removed in the sandbox)', () => {
    const f = file(
      'evil.js',
      `${HEAD}export class A extends Component { m() { return eval('1') + Function('x'); } }\n`,
    );
    expectRefusal(
      () => pack(f, { ...BASE, export: 'A' }),
      'ERR_PACK_FREE_VARIABLE',
      'eval (evil.js:2:',
      'Function (evil.js:2:',
    );
  });
});

describe('when packing a class object', () => {
  it('packs a self-contained class', () => {
    class Adder extends Component {
      add(a: number, b: number): number {
        return a + b + Math.max(0, 0);
      }
    }
    const statement = pack(Adder, BASE);
    expect(statement.entry).toBe('Adder');
    expect(statement.source).toContain('class Adder extends Component');
  });
  it('throws ERR_PACK_BASE_CLASS for a class that does not extend Component', () => {
    class Plain {
      m(): number {
        return 1;
      }
    }
    expectRefusal(() => pack(Plain as never, BASE), 'ERR_PACK_BASE_CLASS', 'Plain');
  });
  it('throws ERR_PACK_BASE_CLASS for a class extending another class', () => {
    class Other {}
    class Child extends Other {}
    expectRefusal(() => pack(Child as never, BASE), 'ERR_PACK_BASE_CLASS', 'extends Other', '1:');
  });
  it('throws ERR_PACK_EXPORT for a function or a value', () => {
    expectRefusal(() => pack((() => 1) as never, BASE), 'ERR_PACK_EXPORT', 'function');
    expectRefusal(() => pack(42 as never, BASE), 'ERR_PACK_EXPORT', 'number');
    expectRefusal(() => pack(Math.max as never, BASE), 'ERR_PACK_EXPORT', 'native');
  });
});

describe('when the module file is garbage', () => {
  it('throws ERR_PACK_SYNTAX with file, line and column', () => {
    const f = file('syntax.js', `${HEAD}export class A extends Component {\n  m( { }\n`);
    const e = expectRefusal(() => pack(f, { ...BASE, export: 'A' }), 'ERR_PACK_SYNTAX', 'syntax.js:4:0');
    expect(e.details).toMatchObject({ file: 'syntax.js', line: 4, column: 0 });
  });
  it('throws ERR_PACK_EXPORT for an empty file', () => {
    const f = file('empty.js', '');
    expectRefusal(
      () => pack(f, { ...BASE, export: 'A' }),
      'ERR_PACK_EXPORT',
      "no export named 'A'",
      'nothing',
    );
  });
  it('throws ERR_PACK_EXPORT for a missing export, listing what exists', () => {
    const f = file('other.js', `${HEAD}export class B extends Component {}\n`);
    expectRefusal(() => pack(f, { ...BASE, export: 'A' }), 'ERR_PACK_EXPORT', "'A'", 'B');
  });
  it('throws ERR_PACK_EXPORT for an export that is not a class', () => {
    const f = file('notclass.js', `export function A() {}\nexport const B = 1;\n`);
    expectRefusal(
      () => pack(f, { ...BASE, export: 'A' }),
      'ERR_PACK_EXPORT',
      'a function',
      'notclass.js:1:7',
    );
    expectRefusal(
      () => pack(f, { ...BASE, export: 'B' }),
      'ERR_PACK_EXPORT',
      'a variable',
      'notclass.js:2:7',
    );
  });
  it('throws ERR_PACK_TOO_LARGE for a 5 MB file, before parsing it', () => {
    const f = file(
      'huge.js',
      `${HEAD}export class A extends Component {}\n//${'x'.repeat(5 * 1024 * 1024)}\n`,
    );
    expectRefusal(() => pack(f, { ...BASE, export: 'A' }), 'ERR_PACK_TOO_LARGE', 'huge.js');
  });
  it('throws ERR_PACK_BASE_CLASS for a class extending something else', () => {
    const f = file(
      'base.js',
      `${HEAD}class Thing {}\nexport class A extends Thing {}\nexport class B extends Array {}\nexport class C {}\n`,
    );
    expectRefusal(
      () => pack(f, { ...BASE, export: 'A' }),
      'ERR_PACK_BASE_CLASS',
      'class Thing does not extend Component',
      'base.js:2:0',
    );
    expectRefusal(
      () => pack(f, { ...BASE, export: 'B' }),
      'ERR_PACK_BASE_CLASS',
      'extends Array',
      'base.js:4:23',
    );
    expectRefusal(
      () => pack(f, { ...BASE, export: 'C' }),
      'ERR_PACK_BASE_CLASS',
      'does not extend Component',
      'base.js:5:7',
    );
  });
  it('throws ERR_PACK_SYNTAX for a file that is not UTF-8', () => {
    const path = join(dir, 'latin1.js');
    writeFileSync(path, Buffer.from([0x63, 0x6c, 0x61, 0x73, 0x73, 0x20, 0xff, 0xfe]));
    expectRefusal(() => pack(path, { ...BASE, export: 'A' }), 'ERR_PACK_SYNTAX', 'UTF-8');
  });
  it('throws ERR_PACK_OPTIONS for a file that does not exist or has another extension', () => {
    expectRefusal(() => pack(join(dir, 'nope.js'), { ...BASE, export: 'A' }), 'ERR_PACK_OPTIONS', 'nope.js');
    expectRefusal(() => pack(join(dir, 'x.py'), { ...BASE, export: 'A' }), 'ERR_PACK_OPTIONS', 'x.py');
  });
  it('throws ERR_PACK_STATEMENT when a dropped top-level statement mutates kept code', () => {
    const f = file(
      'sidefx.js',
      `${HEAD}const table = {};\ntable.x = 1;\nexport class A extends Component { m() { return table.x; } }\n`,
    );
    expectRefusal(() => pack(f, { ...BASE, export: 'A' }), 'ERR_PACK_STATEMENT', 'sidefx.js:3:0', 'table');
  });
});

describe('when the TypeScript needs a transform', () => {
  const cases: [string, string, string][] = [
    ['enum', 'enum Color { Red, Green }\n', 'enum-file.ts:2:0'],
    ['namespace', 'namespace N { export const a = 1; }\n', 'namespace-file.ts:2:0'],
    [
      'parameter property',
      'export class P { constructor(private readonly x: number) {} }\n',
      'parameter-file.ts:2:17',
    ],
  ];
  for (const [construct, text, position] of cases) {
    it(`throws ERR_PACK_TYPESCRIPT naming the ${construct} and its position`, () => {
      const name = `${construct.split(' ')[0]}-file.ts`;
      const f = file(name, `${HEAD}${text}export class A extends Component {}\n`);
      const e = expectRefusal(
        () => pack(f, { ...BASE, export: 'A' }),
        'ERR_PACK_TYPESCRIPT',
        construct,
        position,
      );
      expect(e.details['construct']).toBe(construct);
    });
  }
});

describe('when params are not plain JSON', () => {
  const f = file('ok.js', `${HEAD}export class A extends Component {}\n`);
  const cyclic: Record<string, unknown> = {};
  cyclic['self'] = cyclic;
  const cases: [string, unknown, string][] = [
    ['a function', { model: { fn: () => 1 } }, 'params.model.fn'],
    ['undefined', { a: undefined }, 'params.a'],
    ['NaN', { model: { layers: [{}, {}, {}, { bias: NaN }] } }, 'params.model.layers[3].bias'],
    ['Infinity', [1, Infinity], 'params[1]'],
    ['a cycle', cyclic, 'params.self'],
    ['a BigInt', { n: 5n }, 'params.n'],
    ['a class instance', { when: new Date(0) }, 'params.when'],
    ['a Map', { m: new Map() }, 'params.m'],
  ];
  for (const [what, params, path] of cases) {
    it(`throws ERR_PACK_PARAMS naming the path of ${what}`, () => {
      const e = expectRefusal(
        () => pack(f, { ...BASE, export: 'A', params: params as never }),
        'ERR_PACK_PARAMS',
        path,
      );
      expect(e.details['path']).toBe(path);
    });
  }
});

describe('when artifacts are bad', () => {
  const f = file('art.js', `${HEAD}export class A extends Component {}\n`);
  it('throws ERR_PACK_ARTIFACT for a missing file', () => {
    expectRefusal(
      () => pack(f, { ...BASE, export: 'A', artifacts: { w: { path: join(dir, 'none.bin') } } }),
      'ERR_PACK_ARTIFACT',
      'artifacts.w',
      'ENOENT',
    );
  });
  it('throws ERR_PACK_ARTIFACT for a bad name', () => {
    expectRefusal(
      () => pack(f, { ...BASE, export: 'A', artifacts: { '../x': new Uint8Array(1) } }),
      'ERR_PACK_ARTIFACT',
      '../x',
    );
  });
  it('throws ERR_PACK_ARTIFACT past the total size limit', () => {
    const artifacts = { a: new Uint8Array(600), b: new Uint8Array(600) };
    expectRefusal(
      () => pack(f, { ...BASE, export: 'A', artifacts, maxArtifactsBytes: 1000 }),
      'ERR_PACK_ARTIFACT',
      'artifacts.b',
      '1000',
    );
  });
  it('throws ERR_PACK_ARTIFACT for a value that is not bytes', () => {
    expectRefusal(
      () => pack(f, { ...BASE, export: 'A', artifacts: { a: [1, 2] as never } }),
      'ERR_PACK_ARTIFACT',
      'artifacts.a',
    );
  });
  it('copies the bytes: later changes to the caller buffer do not change the statement', () => {
    const bytes = new Uint8Array([1, 2, 3]);
    const statement = pack(f, { ...BASE, export: 'A', artifacts: { a: bytes } });
    bytes[0] = 9;
    expect(statement.artifacts['a']?.data).toBe('AQID');
  });
});

describe('when options are bad', () => {
  const f = file('opt.js', `${HEAD}export class A extends Component {}\n`);
  const cases: [string, Record<string, unknown>, string][] = [
    ['unknown option', { expor: 'A' }, 'expor'],
    ['bad tenant', { tenant: 'Acme Corp' }, 'tenant'],
    ['bad identifier', { identifier: '../x' }, 'identifier'],
    ['version 0', { version: 0 }, 'version'],
    ['fractional version', { version: 1.5 }, 'version'],
    ['bad issuedAt', { issuedAt: 'yesterday' }, 'issuedAt'],
    ['expiry before issue', { expiresAt: '2025-01-01T00:00:00Z' }, 'expiresAt'],
    ['bad requires', { requires: ['KV'] }, 'requires[0]'],
    ['missing export', { export: undefined }, 'export'],
  ];
  for (const [what, override, field] of cases) {
    it(`throws ERR_PACK_OPTIONS for ${what}`, () => {
      const options = { ...BASE, export: 'A', ...override } as Record<string, unknown>;
      if ('export' in override && override['export'] === undefined) delete options['export'];
      expectRefusal(() => pack(f, options as never), 'ERR_PACK_OPTIONS', field);
    });
  }
  it('sorts and deduplicates requires, and normalises dates', () => {
    const s = pack(f, {
      ...BASE,
      export: 'A',
      requires: ['log', 'kv', 'log'],
      issuedAt: new Date(Date.UTC(2026, 0, 1)),
    });
    expect(s.requires).toEqual(['kv', 'log']);
    expect(s.issuedAt).toBe('2026-01-01T00:00:00.000Z');
  });
  it('returns a frozen statement whose sign is not enumerable', () => {
    const s = pack(f, { ...BASE, export: 'A' });
    expect(Object.isFrozen(s)).toBe(true);
    expect(Object.keys(s)).not.toContain('sign');
    expect(typeof s.sign).toBe('function');
  });
});
