/**
 * Hostile sources against the AST policy (layer: policy). Each one must be refused with the
 * expected rule id, at the position of the marker placed right before the offending token.
 * The sandbox stops these too; these tests pin that the filter in front of it does its part.
 */
import { describe, expect, it } from 'vitest';
import { checkSource } from '../../src/policy/check.ts';
import { defaultPolicy, expectViolation, strictPolicy } from '../policy/support.ts';

type Case = readonly [title: string, source: string, rule: string];

const wrap = (body: string): string => `class Evil extends Component {\n  run(o) {\n    ${body}\n  }\n}\n`;

const CASES: readonly Case[] = [
  // forbidden names as members
  ['constructor as a member', wrap('return o./*@*/constructor;'), 'names.forbidden'],
  ['__proto__ as a member', wrap('return o./*@*/__proto__;'), 'names.forbidden'],
  ['prototype as a member', wrap('return [].map./*@*/prototype;'), 'names.forbidden'],
  ['arguments.callee', 'function f() { return arguments./*@*/callee; }', 'names.forbidden'],
  ['fn.caller', wrap('return this.run./*@*/caller;'), 'names.forbidden'],
  ['optional chain to constructor', wrap('return o?./*@*/constructor;'), 'names.forbidden'],
  ['__lookupGetter__', wrap('return o./*@*/__lookupGetter__("x");'), 'names.forbidden'],
  // escaped identifiers
  ['unicode-escaped constructor', wrap('return o./*@*/constr\\u0075ctor;'), 'names.forbidden'],
  ['code-point-escaped __proto__', wrap('return o./*@*/\\u{5f}_proto__;'), 'names.forbidden'],
  ['escaped string key', wrap('return o[/*@*/"\\x63onstructor"];'), 'names.forbidden'],
  // computed and concatenated keys
  ['string literal key', wrap("return o[/*@*/'constructor'];"), 'names.forbidden'],
  ['concatenated key', wrap("return o[/*@*/'con' + 'struc' + 'tor'];"), 'names.forbidden'],
  ['template key', wrap('return o[/*@*/`__proto__`];'), 'names.forbidden'],
  ['template with constant parts', wrap("return o[/*@*/`proto${'type'}`];"), 'names.forbidden'],
  ['conditional key', wrap("return o[/*@*/o ? 'safe' : 'constructor'];"), 'names.forbidden'],
  ['const-bound key', wrap("const k = 'con' + 'structor';\n    return o[/*@*/k];"), 'names.forbidden'],
  [
    'chained const keys',
    wrap("const a = 'proto';\n    const b = a + 'type';\n    return o[/*@*/b];"),
    'names.forbidden',
  ],
  [
    'String.fromCharCode key',
    wrap('return o[/*@*/String.fromCharCode(99, 97, 108, 108, 101, 114)];'),
    'names.forbidden',
  ],
  ['array join key', wrap("return o[/*@*/['__pro', 'to__'].join('')];"), 'names.forbidden'],
  ['concat call key', wrap("return o[/*@*/'const'.concat('ructor')];"), 'names.forbidden'],
  ['String.raw key', wrap('return o[/*@*/String.raw`prototype`];'), 'names.forbidden'],
  ['sequence key', wrap("return o[(/*@*/0, 'constructor')];"), 'names.forbidden'],
  ['array-wrapped key', wrap("return o[/*@*/['constructor']];"), 'names.forbidden'],
  ['case-folded key', wrap("return o[/*@*/'CONSTRUCTOR'.toLowerCase()];"), 'names.forbidden'],
  ['reversed key', wrap("return o[/*@*/'rotcurtsnoc'.split('').reverse().join('')];"), 'names.forbidden'],
  ['URI-decoded key', wrap("return o[/*@*/decodeURIComponent('%63onstructor')];"), 'names.forbidden'],
  ['JSON-decoded key', wrap('return o[/*@*/JSON.parse(\'"__proto__"\')];'), 'names.forbidden'],
  ['logical fallback key', wrap("return o[/*@*/o.k || 'prototype'];"), 'names.forbidden'],
  // destructuring, object keys, class members
  ['destructuring constructor', wrap('const { /*@*/constructor: C } = o;\n    return C;'), 'names.forbidden'],
  [
    'shorthand destructuring',
    wrap('const { /*@*/constructor } = () => 1;\n    return constructor;'),
    'names.forbidden',
  ],
  ['computed destructuring', wrap("const { [/*@*/'__proto__']: p } = o;\n    return p;"), 'names.forbidden'],
  ['parameter destructuring', 'const f = ({ /*@*/caller }) => caller;', 'names.forbidden'],
  ['object literal __proto__', wrap('return { /*@*/__proto__: o };'), 'names.forbidden'],
  ['quoted object key', wrap("return { /*@*/'prototype': 1 };"), 'names.forbidden'],
  [
    'static constructor method',
    'class A extends Component {\n  static /*@*/constructor() {}\n}',
    'names.forbidden',
  ],
  [
    'class field named prototype via computed key',
    "class A extends Component {\n  [/*@*/'proto' + 'type'] = 1;\n}",
    'names.forbidden',
  ],
  // reflective calls
  ['Reflect.get string argument', wrap("return Reflect.get(o, /*@*/'constructor');"), 'names.forbidden'],
  ['Reflect.get via call', wrap("return Reflect.get.call(null, o, /*@*/'__proto__');"), 'names.forbidden'],
  [
    'Object.getOwnPropertyDescriptor argument',
    wrap("return Object.getOwnPropertyDescriptor(o, /*@*/'caller');"),
    'names.forbidden',
  ],
  ['Reflect.has template argument', wrap('return Reflect.has(o, /*@*/`prototype`);'), 'names.forbidden'],
  // code generation
  ['eval', wrap("return /*@*/eval('1 + 1');"), 'names.forbidden'],
  ['Function constructor', wrap("return /*@*/Function('return this')();"), 'names.forbidden'],
  ['tagged template Function', wrap('return /*@*/Function`return this```;'), 'names.forbidden'],
  [
    'generator function constructor',
    wrap('const G = function* () {}./*@*/constructor;\n    return G("yield 1");'),
    'names.forbidden',
  ],
  [
    'async function constructor',
    wrap('return (async () => {})./*@*/constructor("return 1");'),
    'names.forbidden',
  ],
  [
    'async generator constructor',
    wrap("return Object.getPrototypeOf(async function* () {})[/*@*/'constructor'];"),
    'names.forbidden',
  ],
  [
    'indirect eval through globalThis',
    wrap("return /*@*/globalThis['ev' + 'al']('1');"),
    'globals.not-allowed',
  ],
  // syntax
  ['with statement', '/*@*/with ({}) { x = 1; }', 'syntax.node-type'],
  ['dynamic import', wrap("return /*@*/import('node:fs');"), 'syntax.module'],
  ['static import', "/*@*/import fs from 'node:fs';\nclass A extends Component {}", 'syntax.module'],
  ['export declaration', '/*@*/export class A extends Component {}', 'syntax.module'],
  ['import.meta', wrap('return /*@*/import.meta.url;'), 'syntax.module'],
  [
    'HTML open comment',
    'class A extends Component {}\nlet x = 1;\nx = 2 /*@*/<!-- 3;\n',
    'syntax.html-comment',
  ],
  [
    'HTML close comment',
    'class A extends Component {}\n/*@*/--> this is a comment in a script\n',
    'syntax.html-comment',
  ],
  ['top-level await', 'await /*@*/1;', 'syntax.parse'],
  // ambient host globals
  ['process', wrap('return /*@*/process.env;'), 'globals.not-allowed'],
  ['require', wrap("return /*@*/require('child_process');"), 'globals.not-allowed'],
  ['fetch', wrap("return /*@*/fetch('http://x');"), 'globals.not-allowed'],
  ['setTimeout', wrap('/*@*/setTimeout(() => 1, 10);'), 'globals.not-allowed'],
  ['console', wrap('/*@*/console.log(1);'), 'globals.not-allowed'],
  ['globalThis', wrap('return /*@*/globalThis;'), 'globals.not-allowed'],
  ['WebAssembly', wrap('return /*@*/WebAssembly.Memory;'), 'names.forbidden'],
  ['SharedArrayBuffer', wrap('return new /*@*/SharedArrayBuffer(8);'), 'names.forbidden'],
  [
    'Object.defineProperty (denied member)',
    wrap("return /*@*/Object.defineProperty(o, 'x', {});"),
    'globals.not-allowed',
  ],
  [
    'Object.setPrototypeOf via computed member',
    wrap("return /*@*/Object['setPrototypeOf'](o, null);"),
    'globals.not-allowed',
  ],
  [
    'bare Object passed around',
    wrap('const O = /*@*/Object;\n    return O.defineProperty;'),
    'globals.not-allowed',
  ],
  ['Object with a dynamic member', wrap('return /*@*/Object[o](1);'), 'globals.not-allowed'],
  ['self.postMessage', '/*@*/self.postMessage(1);', 'globals.not-allowed'],
  [
    'top-level this (the global object)',
    'const g = /*@*/this;\nclass A extends Component {}',
    'globals.not-allowed',
  ],
  ['top-level this in an arrow', 'const g = () => /*@*/this;', 'globals.not-allowed'],
  ['this in a sloppy IIFE', 'const g = (function () { return /*@*/this; })();', 'globals.not-allowed'],
  [
    'this in a sloppy function via call(null)',
    'const g = function () { return /*@*/this; }.call(null);',
    'globals.not-allowed',
  ],
  ['V8 stack-trace hook', wrap('Error./*@*/prepareStackTrace = (e, frames) => frames;'), 'names.forbidden'],
  ['top-level arguments', 'const a = /*@*/arguments;', 'globals.not-allowed'],
  ['undeclared assignment', wrap('/*@*/leak = o;'), 'globals.not-allowed'],
  [
    'shadowed in another scope only',
    'function f(process) { return process; }\nclass A extends Component { run() { return /*@*/process.argv; } }',
    'globals.not-allowed',
  ],
];

describe('when a hostile source is checked against the default policy', () => {
  it('has at least 40 distinct hostile sources', () => {
    if (CASES.length < 40 || new Set(CASES.map((c) => c[1])).size !== CASES.length) {
      throw new Error(`expected >= 40 distinct cases, got ${CASES.length}`);
    }
  });

  for (const [title, source, rule] of CASES) {
    it(`refuses ${title} with ${rule} at the offending token`, () => {
      expectViolation(source, rule, defaultPolicy);
    });
  }
});

describe('when the source starts with a hashbang', () => {
  it('refuses it with syntax.parse at 1:1 (sandbox and parser must read the same script)', () => {
    const result = checkSource('#!/usr/bin/env node\nclass A extends Component {}', defaultPolicy);
    expect(result.violations).toMatchObject([{ rule: 'syntax.parse', line: 1, column: 1 }]);
  });
});

describe('when a hostile source is checked against the strict policy', () => {
  it('refuses a forbidden name kept in a plain string constant', () => {
    expectViolation(wrap("const k = /*@*/'constructor';\n    return k;"), 'names.forbidden', strictPolicy);
  });

  it('refuses tagged templates', () => {
    expectViolation(wrap('return /*@*/String.raw`x`;'), 'syntax.node-type', strictPolicy);
  });

  it('refuses Proxy', () => {
    expectViolation(wrap('return new /*@*/Proxy({}, {});'), 'globals.not-allowed', strictPolicy);
  });

  it('refuses a capability the base does not grant (kv)', () => {
    expectViolation('class A extends Component {}', 'capability.not-granted', strictPolicy, ['kv']);
  });
});

describe('when requires names capabilities the policy does not grant', () => {
  it('throws nothing and reports capability.not-granted', () => {
    expectViolation('class A extends Component {}', 'capability.not-granted', defaultPolicy, ['net']);
  });

  it('treats a prototype-named capability as not granted', () => {
    expectViolation('class A extends Component {}', 'capability.not-granted', defaultPolicy, ['__proto__']);
  });
});
