/**
 * Namespace imports of relative modules (`import * as ns from './x.js'`, `export * as ns`,
 * `export *`): the packed script builds a frozen, prototype-less namespace object with every export
 * in sorted order, and behaves exactly like the original module imported in Node.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { findFreeVariables } from '../../src/ast/free-variables.ts';
import { SANDBOX_GLOBALS } from '../../src/ast/sandbox-globals.ts';
import { pack, type PackOptions } from '../../src/component/pack.ts';
import { parseScript } from '../../src/ast/parse.ts';
import { canonicalize } from '../../src/envelope/canonical-json.ts';
import type { JsonValue } from '../../src/envelope/types.ts';
import { PackError } from '../../src/errors.ts';
import { createLoader } from '../../src/loader.ts';
import { MemoryKvStore } from '../../src/sandbox/kv-store.ts';
import { signEnvelope } from '../../src/trust/sign.ts';
import { makeWorld } from '../e2e/helpers.ts';
import { callAsJson, evaluatePacked, fakeHost } from './stand-in.ts';

const FIXTURES = fileURLToPath(new URL('../fixtures/pack-namespace/', import.meta.url));
const BASE: PackOptions = { tenant: 'acme', identifier: 'c', version: 1, issuedAt: '2026-01-01T00:00:00Z' };

interface Case {
  readonly what: string;
  readonly file: string;
  readonly export: string;
  readonly calls: readonly (readonly [string, ...unknown[]])[];
}

const CASES: readonly Case[] = [
  { what: 'member calls', file: 'member.js', export: 'Member', calls: [['run', 4], ['keys'], ['shape']] },
  { what: 'destructuring', file: 'destructure.js', export: 'Destructure', calls: [['run', 5]] },
  {
    what: 'computed access',
    file: 'computed.js',
    export: 'Computed',
    calls: [
      ['look', 'f'],
      ['look', 'TABLE'],
      ['look', 'zeta'],
      ['look', 'nope'],
      ['look', 'constructor'],
      ['look', 'default'],
      ['write'],
    ],
  },
  { what: 'a namespace passed as a value', file: 'value.js', export: 'Value', calls: [['run'], ['same']] },
  {
    what: 'a namespace of a module that itself uses namespaces and export *',
    file: 'nested.js',
    export: 'Nested',
    calls: [['run', 2], ['keys']],
  },
  { what: 'a name clash across files', file: 'clash.js', export: 'Clash', calls: [['run', 7]] },
  {
    what: 'a namespace of a barrel that only re-exports',
    file: 'barrel-ns.js',
    export: 'FromBarrel',
    calls: [['run', 3]],
  },
  {
    what: 'a base class reached through a namespace',
    file: 'extends-ns.js',
    export: 'Derived',
    calls: [['run']],
  },
];

function packFixture(file: string, exportName: string, extra: Partial<PackOptions> = {}) {
  return pack(`${FIXTURES}${file}`, { ...BASE, export: exportName, ...extra });
}

// Vitest's module runner turns `import * as` into a plain object (source order, no ambiguity rule),
// so the originals run in a real Node ES module graph: a child process with the same Node, where a
// resolve hook points 'sealbox' at a stand-in Component.
const NODE_RUNNER = `
import { registerHooks } from 'node:module';
const COMPONENT = 'export class Component { constructor(params, context) { this.params = params; this.host = context.host; } }';
registerHooks({
  resolve(specifier, context, next) {
    if (specifier === 'sealbox') return { url: 'data:text/javascript,' + encodeURIComponent(COMPONENT), shortCircuit: true };
    return next(specifier, context);
  },
});
const out = [];
for (const c of JSON.parse(process.env.SEALBOX_NS_CASES)) {
  const Original = (await import(c.url))[c.export];
  const instance = new Original({}, { host: {} });
  const results = [];
  for (const [method, ...args] of c.calls) {
    try {
      results.push(JSON.stringify(await instance[method](...args)) ?? 'undefined');
    } catch (error) {
      results.push('threw ' + error.name);
    }
  }
  out.push(results);
}
process.stdout.write(JSON.stringify(out));
`;

/** What each case's calls return when the original modules run in Node (JSON text per call). */
function expectedInNode(): readonly (readonly string[])[] {
  const cases = CASES.map((c) => ({
    url: pathToFileURL(`${FIXTURES}${c.file}`).href,
    export: c.export,
    calls: c.calls,
  }));
  const stdout = execFileSync(process.execPath, ['--input-type=module', '--eval', NODE_RUNNER], {
    env: { ...process.env, SEALBOX_NS_CASES: JSON.stringify(cases) },
    encoding: 'utf8',
  });
  return JSON.parse(stdout) as string[][];
}
const EXPECTED = expectedInNode();

describe('when a component uses namespace imports of its own files', () => {
  for (const [index, c] of CASES.entries()) {
    it(`packs ${c.what} (${c.file}) into a script that behaves like the original`, async () => {
      const statement = packFixture(c.file, c.export);
      expect(statement.entry).toBe(c.export);
      const free = findFreeVariables(parseScript(statement.source)).filter(
        (r) => !SANDBOX_GLOBALS.has(r.name),
      );
      expect(free.map((r) => r.name)).toEqual([]);
      const Packed = evaluatePacked(statement);
      const context = { identifier: 'c', version: 1, tenant: 'acme', artifacts: {} };
      const packed = new Packed({}, { ...context, host: fakeHost().host });
      for (const [i, [method, ...args]] of c.calls.entries()) {
        const expected = EXPECTED[index]?.[i] as string;
        const actual = await callAsJson(packed, method, structuredClone(args));
        expect(actual, `${c.file} ${method}`).toBe(expected);
        expect(expected.startsWith('threw')).toBe(false);
      }
    });
  }

  it('keeps every export of a namespaced module, and only those of named imports otherwise', () => {
    const source = packFixture('member.js', 'Member').source;
    // `zeta` and `name` are never used by name, but a namespace holds every export.
    expect(source).toContain("const zeta = 'last';");
    expect(source).toContain("const name = 'helpers';");
    expect(source).toContain('const helpers = $helpers_namespace;');
    const named = packFixture('extends-ns.js', 'Derived').source;
    expect(named).not.toContain('$helpers');
    const clash = packFixture('clash.js', 'Clash').source;
    expect(clash).toContain('const $helpers = ');
    expect(clash).toContain('const $helpers2 = ');
  });

  it('builds a frozen namespace (a real one reports writable, non-configurable properties instead)', () => {
    const Packed = evaluatePacked(packFixture('value.js', 'Value'));
    const context = { identifier: 'c', version: 1, tenant: 'acme', artifacts: {}, host: fakeHost().host };
    const packed = new Packed({}, context);
    const ns = (packed['constructor'] as unknown as { ns: () => object }).ns();
    expect(Object.isFrozen(ns)).toBe(true);
    expect(Object.getPrototypeOf(ns)).toBe(null);
    expect(Object.getOwnPropertyDescriptor(ns, Symbol.toStringTag)).toEqual({
      value: 'Module',
      writable: false,
      enumerable: false,
      configurable: false,
    });
  });

  it('packs byte-identical payloads for the same input', () => {
    for (const c of CASES) {
      const a = canonicalize(packFixture(c.file, c.export) as unknown as JsonValue);
      const b = canonicalize(packFixture(c.file, c.export) as unknown as JsonValue);
      expect(a).toBe(b);
    }
  });
});

describe('when the namespace shapes run in the real sandbox', () => {
  const world = makeWorld();
  const loader = createLoader({ keyring: world.keyring, kv: new MemoryKvStore(), workers: 1 });
  afterAll(async () => {
    await loader.close();
    rmSync(world.dir, { recursive: true, force: true });
  });
  it('returns what the original module returns', async () => {
    for (const [i, c] of CASES.entries()) {
      const statement = packFixture(c.file, c.export, { identifier: `n${i}` });
      const loaded = await loader.load(signEnvelope(statement, world.key), { tenant: 'acme' });
      for (const [j, [method, ...args]] of c.calls.entries()) {
        const expected = EXPECTED[i]?.[j] as string;
        const actual = JSON.stringify(await loaded.call(method, ...(args as JsonValue[])));
        expect(actual, `${c.file} ${method}`).toBe(expected);
      }
      await loaded.dispose();
    }
  });
});

describe('when a namespace import cannot be bundled', () => {
  const dir = mkdtempSync(join(tmpdir(), 'sealbox-ns-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  const HEAD = "import { Component } from 'sealbox';\n";
  const write = (name: string, text: string): string => {
    const path = join(dir, name);
    writeFileSync(path, text);
    return path;
  };
  const refusal = (run: () => unknown): PackError => {
    try {
      run();
    } catch (error) {
      expect(error).toBeInstanceOf(PackError);
      return error as PackError;
    }
    throw new Error('expected a PackError');
  };

  it('throws ERR_PACK_IMPORT for a namespace import of a package', () => {
    const f = write(
      'pkg.js',
      `${HEAD}import * as _ from 'lodash';\nexport class A extends Component { m() { return _.x; } }\n`,
    );
    const e = refusal(() => pack(f, { ...BASE, export: 'A' }));
    expect(e.code).toBe('ERR_PACK_IMPORT');
    expect(e.details).toMatchObject({ file: 'pkg.js', line: 2, module: 'lodash' });
  });

  it("throws ERR_PACK_IMPORT for a namespace import of 'sealbox'", () => {
    const f = write('sb.js', `import * as sb from 'sealbox';\nexport class A extends sb.Component {}\n`);
    const e = refusal(() => pack(f, { ...BASE, export: 'A' }));
    expect(e.code).toBe('ERR_PACK_IMPORT');
    expect(e.details).toMatchObject({ file: 'sb.js', line: 1, column: 7, module: 'sealbox' });
  });

  it('throws ERR_PACK_IMPORT when a namespaced module reassigns one of its exports', () => {
    write('live.js', 'export let count = 0;\nexport function bump() { count += 1; }\n');
    const f = write(
      'uses-live.js',
      `${HEAD}import * as live from './live.js';\nexport class A extends Component { m() { live.bump(); return live.count; } }\n`,
    );
    const e = refusal(() => pack(f, { ...BASE, export: 'A' }));
    expect(e.code).toBe('ERR_PACK_IMPORT');
    expect(e.details).toMatchObject({ file: 'uses-live.js', line: 2, column: 7, name: 'count' });
  });

  it('throws ERR_PACK_IMPORT when a helper imports the namespace of the file being packed', () => {
    write('back.js', "import * as entry from './entry.js';\nexport function f() { return entry.K; }\n");
    const f = write(
      'entry.js',
      `${HEAD}import { f } from './back.js';\nexport const K = 1;\nexport class A extends Component { m() { return f(); } }\n`,
    );
    const e = refusal(() => pack(f, { ...BASE, export: 'A' }));
    expect(e.code).toBe('ERR_PACK_IMPORT');
    expect(e.details).toMatchObject({ file: 'back.js', line: 1, column: 7 });
  });

  it('throws ERR_PACK_IMPORT for a name two export * modules export as different bindings (as Node does)', () => {
    const e = refusal(() => packFixture('ambiguous.js', 'Ambiguous'));
    expect(e.code).toBe('ERR_PACK_IMPORT');
    expect(e.details).toMatchObject({ file: 'ambiguous.js', line: 2, column: 9, name: 'shared' });
    const url = pathToFileURL(`${FIXTURES}ambiguous.js`).href;
    const run = () =>
      execFileSync(process.execPath, ['--input-type=module', '--eval', `import ${JSON.stringify(url)};`], {
        stdio: 'pipe',
      });
    expect(run).toThrow(/conflicting star exports for name 'shared'/);
  });

  it('throws ERR_PACK_IMPORT when the entry file shadows a global the namespace is built with', () => {
    write('plain.js', 'export const one = 1;\n');
    const f = write(
      'shadows.js',
      `${HEAD}import * as p from './plain.js';\nclass Symbol {}\nexport class A extends Component { m() { return [p.one, new Symbol()]; } }\n`,
    );
    const e = refusal(() => pack(f, { ...BASE, export: 'A' }));
    expect(e.code).toBe('ERR_PACK_IMPORT');
    expect(e.details).toMatchObject({ file: 'shadows.js', line: 2, column: 7, name: 'Symbol' });
  });

  it('throws ERR_PACK_STATEMENT when a dropped top-level statement uses a kept namespace', () => {
    write('table.js', 'export const TABLE = {};\n');
    const f = write(
      'setup.js',
      `${HEAD}import * as t from './table.js';\nt.TABLE.x = 1;\nexport class A extends Component { m() { return t.TABLE.x; } }\n`,
    );
    const e = refusal(() => pack(f, { ...BASE, export: 'A' }));
    expect(e.code).toBe('ERR_PACK_STATEMENT');
    expect(e.details).toMatchObject({ file: 'setup.js', line: 3 });
  });
});
