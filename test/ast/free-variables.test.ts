import { describe, expect, it } from 'vitest';
import { findFreeVariables } from '../../src/ast/free-variables.ts';
import { SANDBOX_GLOBALS } from '../../src/ast/sandbox-globals.ts';
import { ECMA_VERSION, parseModule, parseScript } from '../../src/ast/parse.ts';
import { PackError } from '../../src/errors.ts';

const freeIn = (source: string): string[] => findFreeVariables(parseScript(source)).map((r) => r.name);
const freeInModule = (source: string): string[] => findFreeVariables(parseModule(source)).map((r) => r.name);

describe('when names are declared by some enclosing scope', () => {
  const cases: [string, string, string[]][] = [
    ['var hoisting within a function', 'function f() { x; var x = 1; }', []],
    ['var in a nested block hoists to the function', 'function f() { { var x; } return x; }', []],
    ['function declarations hoist', 'f(); function f() {}', []],
    ['let declared later in the block', 'function f() { return () => y; let y = 1; }', []],
    ['const in a block is not visible outside it', '{ const a = 1; } a;', ['a']],
    ['let in a block is not visible outside it', 'function f() { { let a; } return a; }', ['a']],
    ['class declarations are block scoped', '{ class K {} } new K();', ['K']],
    ['simple params', 'function f(a, b) { return a + b; }', []],
    ['default params see earlier params', 'function f(a, b = a) { return b; }', []],
    ['default params do not see body vars', 'function f(a = b) { var b; }', ['b']],
    ['destructured params', 'function f({ a, b: [c, ...d], ...e }) { return a + c + d + e; }', []],
    ['rest params', 'function f(...xs) { return xs; }', []],
    ['computed keys in a param pattern are references', 'function f({ [k]: v }) { return v; }', ['k']],
    ['defaults inside a pattern are references', 'function f({ a = dflt }) { return a; }', ['dflt']],
    ['arrow params', 'const g = (a, { b }) => a + b;', []],
    ['catch param', 'try {} catch (e) { e; }', []],
    ['catch destructured param', 'try {} catch ({ message }) { message; }', []],
    ['catch param is not visible after the catch', 'try {} catch (e) {} e;', ['e']],
    ['named function expression sees its own name', 'const f = function g() { return g; };', []],
    ['named function expression name does not leak', 'const f = function g() {}; g;', ['g']],
    ['named class expression sees its own name', 'const C = class D { m() { return D; } };', []],
    ['named class expression name does not leak', 'const C = class D {}; D;', ['D']],
    ['arguments in a function', 'function f() { return arguments; }', []],
    ['arguments in a method', 'class A { m() { return arguments[0]; } }', []],
    ['arguments at top level is free', 'arguments;', ['arguments']],
    ['arguments in an arrow at top level is free', 'const f = () => arguments;', ['arguments']],
    ['arguments in an arrow inside a function', 'function f() { return () => arguments; }', []],
    ['for-let head', 'for (let i = 0; i < 3; i++) i;', []],
    ['for-let head does not leak', 'for (let i = 0; i < 3; i++) {} i;', ['i']],
    ['for-of const head', 'for (const [k, v] of m) k + v;', ['m']],
    ['for-in let head', 'for (let k in o) k;', ['o']],
    ['for-of with var hoists', 'function f() { for (var x of []) {} return x; }', []],
    ['for-of assigning to an outer name', 'for (x of []) {}', ['x']],
    ['switch block scope', 'switch (v) { case 1: let a = 1; break; default: a; }', ['v']],
    ['switch lexical does not leak', 'switch (1) { case 1: let a; } a;', ['a']],
    ['static block scope', 'class A { static { var s = 1; s; } }', []],
    ['static block var does not leak', 'class A { static { var s; } } s;', ['s']],
    ['class fields', 'class A { x = y; static z = A; }', ['y']],
    ['class self name inside body', 'class A { m() { return new A(); } }', []],
    ['class heritage', 'class A extends B {}', ['B']],
  ];
  for (const [what, source, expected] of cases) {
    it(`reports exactly the free names: ${what}`, () => {
      expect(freeIn(source)).toEqual(expected);
    });
  }
});

describe('when identifiers are not references', () => {
  const cases: [string, string, string[]][] = [
    ['labels', 'outer: for (;;) { break outer; continue outer; }', []],
    ['property keys', '({ a: 1, b() {}, get c() { return 1; }, "d": 2 });', []],
    ['non-computed members', 'const o = {}; o.process.env;', []],
    ['computed members are references', 'const o = {}; o[key];', ['key']],
    ['optional chains', 'const o = {}; o?.a?.[b]?.(c);', ['b', 'c']],
    [
      'method names',
      'class A { process() {} static require() {} #secret = 1; get #p() { return this.#secret; } }',
      [],
    ],
    ['computed class keys are references', 'class A { [k]() {} [j] = 1; }', ['k', 'j']],
    ['private in', 'class A { #x; static has(o) { return #x in o; } }', []],
    ['new.target and this', 'function F() { return new.target || this; }', []],
    ['super', 'class A extends Component { m() { return super.m(); } }', ['Component']],
  ];
  for (const [what, source, expected] of cases) {
    it(`skips them: ${what}`, () => {
      expect(freeIn(source)).toEqual(expected);
    });
  }
});

describe('when identifiers are references in less obvious places', () => {
  const cases: [string, string, string[]][] = [
    ['shorthand properties', '({ a, b });', ['a', 'b']],
    ['spread', '[...a]; ({ ...b });', ['a', 'b']],
    ['template expressions and tags', 'tag`x${y}z`;', ['tag', 'y']],
    ['destructuring assignment targets', '[a, { b, c: d }] = e;', ['a', 'b', 'd', 'e']],
    ['destructuring assignment with member targets', '[o.p, q[r]] = s;', ['o', 'q', 'r', 's']],
    ['update expressions', 'x++; --y;', ['x', 'y']],
    ['compound assignment', 'z += 1; w ??= 2;', ['z', 'w']],
    ['typeof of an undeclared name', 'typeof process;', ['process']],
    ['delete of a name', 'delete globalThis.x;', ['globalThis']],
    ['dynamic import source', 'import(spec);', ['spec']],
    ['with statements', 'with (obj) { inner; }', ['obj', 'inner']],
    ['await and yield operands', 'async function* f() { await p; yield q; }', ['p', 'q']],
    ['conditional and logical', 'a ? b : c || d && e;', ['a', 'b', 'c', 'd', 'e']],
    ['new and call', 'new Foo(bar)(baz);', ['Foo', 'bar', 'baz']],
    ['throw', 'throw err;', ['err']],
    ['var initialiser', 'var a = b;', ['b']],
    ['self-referencing initialiser', 'let a = a;', []],
  ];
  for (const [what, source, expected] of cases) {
    it(`reports them: ${what}`, () => {
      expect(freeIn(source)).toEqual(expected);
    });
  }
});

describe('when the program is a module', () => {
  it('treats import bindings as declarations', () => {
    expect(freeInModule("import a, { b as c } from 'm'; import * as ns from 'n'; a; c; ns; b;")).toEqual([
      'b',
    ]);
  });
  it('treats local export specifiers as references', () => {
    const program = parseModule('let x, y; export { x, y as z };');
    expect(findFreeVariables(program).map((r) => r.name)).toEqual([]);
    expect(findFreeVariables(program.body[1] as never).map((r) => r.name)).toEqual(['x', 'y']);
  });
  it('does not treat re-exports as references', () => {
    expect(freeInModule("export { x } from 'm'; export * from 'n';")).toEqual([]);
  });
  it('handles export declarations and default exports', () => {
    expect(freeInModule('export class A extends B {} export default function () { return A + C; }')).toEqual([
      'B',
      'C',
    ]);
  });
});

describe('when reporting positions', () => {
  it('gives 1-based lines and 0-based columns in source order', () => {
    const refs = findFreeVariables(parseScript('let a = 1;\nfoo(a,\n  bar);'));
    expect(refs.map((r) => [r.name, r.line, r.column])).toEqual([
      ['foo', 2, 0],
      ['bar', 3, 2],
    ]);
    expect(refs[0]?.node.type).toBe('Identifier');
  });
  it('reports every occurrence, not only the first', () => {
    expect(freeIn('process; process.exit();')).toEqual(['process', 'process']);
  });
});

describe('when the tree is deeply nested', () => {
  it('does not overflow the host stack in the analysis', () => {
    // Build a deep tree by hand (acorn would overflow parsing it): a chain of unary expressions.
    let node: Record<string, unknown> = { type: 'Identifier', name: 'deep', start: 0, end: 1 };
    for (let i = 0; i < 200_000; i++)
      node = { type: 'UnaryExpression', operator: '!', prefix: true, argument: node, start: 0, end: 1 };
    const refs = findFreeVariables(node as never);
    expect(refs.map((r) => r.name)).toEqual(['deep']);
  });
});

describe('when an unknown node type appears', () => {
  it('walks it generically and reports identifiers inside it as free', () => {
    const node = {
      type: 'FutureSyntax',
      start: 0,
      end: 1,
      inner: { type: 'Identifier', name: 'hidden', start: 0, end: 1 },
    };
    expect(findFreeVariables(node as never).map((r) => r.name)).toEqual(['hidden']);
  });
});

describe('SANDBOX_GLOBALS', () => {
  it('lists ECMAScript built-ins and Component', () => {
    for (const name of [
      'Object',
      'Array',
      'Map',
      'Promise',
      'JSON',
      'Math',
      'Uint8Array',
      'globalThis',
      'undefined',
      'Component',
      'AggregateError',
      'Iterator',
    ])
      expect(SANDBOX_GLOBALS.has(name)).toBe(true);
  });
  it('leaves out code generation, shared memory and host names', () => {
    for (const name of [
      'eval',
      'Function',
      'WebAssembly',
      'SharedArrayBuffer',
      'Atomics',
      'process',
      'require',
      'console',
      'setTimeout',
      'fetch',
      'structuredClone',
      'TextEncoder',
    ])
      expect(SANDBOX_GLOBALS.has(name)).toBe(false);
  });
  it('is frozen against additions', () => {
    expect(() => (SANDBOX_GLOBALS as Set<string>).add('process')).toThrow(TypeError);
    expect(() => (SANDBOX_GLOBALS as Set<string>).delete('Object')).toThrow(TypeError);
    expect(() => (SANDBOX_GLOBALS as Set<string>).clear()).toThrow(TypeError);
    expect(SANDBOX_GLOBALS.has('process')).toBe(false);
  });
});

describe('when source does not parse', () => {
  it('throws ERR_PACK_SYNTAX with the position', () => {
    try {
      parseScript('class {');
      expect.unreachable();
    } catch (error) {
      expect(error).toBeInstanceOf(PackError);
      expect((error as PackError).code).toBe('ERR_PACK_SYNTAX');
      expect((error as PackError).details['line']).toBe(1);
    }
  });
  it('refuses import declarations in a script', () => {
    expect(() => parseScript("import x from 'y';")).toThrow(PackError);
  });
  it('pins the ECMAScript edition', () => {
    expect(ECMA_VERSION).toBe(2024);
  });
});
