/**
 * Attack: a tenant hand-writes and signs sources that reach for Function, prototypes or the global
 * object with spellings the policy's unit tests do not use (prototype walks through
 * getPrototypeOf/Reflect, method-value constructors, `super`, ASI line breaks, unicode escapes,
 * sloppy-mode `this` through a function declaration or an alias, an HTML close comment after a
 * block comment). Layer that must stop each: the AST policy (rule id pinned), before any isolate
 * exists; the host is never touched.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PolicyError } from '../../src/errors.ts';
import { evil, expectNoCanary, harness, type Harness } from './pipeline-support.ts';

type Case = readonly [title: string, source: string, rules: readonly string[]];

const CASES: readonly Case[] = [
  [
    'walking Object.getPrototypeOf from an async arrow to AsyncFunction',
    evil('const p = Object.getPrototypeOf(async () => {});\n    return Object.getPrototypeOf(p);'),
    ['globals.not-allowed', 'globals.not-allowed'],
  ],
  [
    'Reflect.getPrototypeOf on an async arrow',
    evil('return Reflect.getPrototypeOf(async () => {});'),
    ['globals.not-allowed'],
  ],
  [
    '[].map.constructor (a built-in method value)',
    evil("return [].map.constructor('return 1')();"),
    ['names.forbidden'],
  ],
  ['super.constructor from a method', evil('return super.constructor;'), ['names.forbidden']],
  [
    'a computed constructor key hidden behind an ASI line break',
    evil("const C = (() => 1)\n    ['constructor'];\n    return C;"),
    ['names.forbidden'],
  ],
  [
    'a unicode-escaped eval call',
    evil("return ev\\u0061l('1');"),
    ['globals.not-allowed', 'names.forbidden'],
  ],
  [
    'a unicode-escaped denied Object member',
    evil('return Object.getProto\\u0074ypeOf(a);'),
    ['globals.not-allowed'],
  ],
  [
    'an HTML close comment after a multi-line block comment (a script reads the rest of the line as a comment)',
    evil('return 1;', '/*\n*/ --> globalThis.x = 1'),
    ['syntax.html-comment'],
  ],
  [
    'this in a sloppy function declaration called by name (the global object)',
    evil('const g = leak();\n    return Object.keys(g);', 'function leak() { return this; }'),
    ['globals.not-allowed'],
  ],
  [
    'this in a sloppy function expression called through an alias',
    evil('const g = (0, leak)();\n    return typeof g[a];', 'var leak = function () { return this; };'),
    ['globals.not-allowed'],
  ],
  [
    'this in a sloppy object-literal method detached from its receiver',
    evil('const m = o.m;\n    return Object.keys(m());', 'var o = { m() { return this; } };'),
    ['globals.not-allowed'],
  ],
  [
    'arguments.callee in a sloppy function',
    evil('return (function () { return arguments.callee; })();'),
    ['names.forbidden'],
  ],
  [
    'Reflect.apply on Function.prototype.call',
    evil('return Reflect.apply(Function.prototype.call, a, []);'),
    ['globals.not-allowed', 'names.forbidden', 'names.forbidden'],
  ],
  [
    'the V8 stack hook by a folded key',
    evil("Error['prepare' + 'Stack' + 'Trace'] = (e, f) => f;\n    return new Error('x').stack;"),
    ['names.forbidden'],
  ],
  [
    'the iterator prototype through getPrototypeOf',
    evil('const it = [][Symbol.iterator]();\n    return Object.getPrototypeOf(it);'),
    ['globals.not-allowed'],
  ],
];

let h: Harness;
let before: string;

beforeAll(() => {
  h = harness();
  before = h.snapshot();
});

afterAll(async () => {
  await h.close();
});

describe('when a signed hostile source smuggles a reach for Function, prototypes or the global object (layer: policy)', () => {
  it('has at least 15 distinct sources', () => {
    expect(new Set(CASES.map((c) => c[1])).size).toBe(CASES.length);
    expect(CASES.length).toBeGreaterThanOrEqual(15);
  });

  for (const [title, source, rules] of CASES) {
    it(`throws ERR_POLICY_VIOLATION (${rules.join(', ')}) for ${title}`, async () => {
      const error = await h.loader.load(h.envelope(source), { tenant: 'acme' }).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(PolicyError);
      expect(error).toMatchObject({ code: 'ERR_POLICY_VIOLATION' });
      expect((error as PolicyError).violations.map((v) => v.rule).sort()).toEqual([...rules].sort());
      expect(h.snapshot()).toBe(before);
      expectNoCanary(error);
    });
  }
});
