/**
 * Attack: read a global past the allowlist by declaring it. In a script, `var X` at the top level
 * (also inside a block, loop, label, switch or try there) binds the global object's existing
 * property `X`, and without an initialiser that runs first it keeps the real value; scope analysis
 * calls `X` local, so `var Reflect; Reflect.getPrototypeOf(f)` read the real Reflect unchecked.
 * Layer that must stop it: the AST policy (globals.not-allowed at the declaration), before any
 * isolate exists. The flip side: let/const/class/function declarations and vars inside functions
 * are new bindings and stay allowed.
 */
import { describe, expect, it } from 'vitest';
import { checkSource } from '../../src/policy/check.ts';
import { defaultPolicy, expectViolation } from '../policy/support.ts';

type Case = readonly [title: string, source: string, rule: string];

const CASES: readonly Case[] = [
  ['a plain top-level var', 'var /*@*/Reflect;\nReflect.getPrototypeOf(1);', 'globals.not-allowed'],
  [
    'a denied member reached through var Object',
    "var /*@*/Object;\nObject.defineProperty({}, 'x', {});",
    'globals.not-allowed',
  ],
  [
    'a var that never runs, in a dead block',
    'if (0) { var /*@*/globalThis; }\nglobalThis.x;',
    'globals.not-allowed',
  ],
  ['a for-in head', 'for (var /*@*/Reflect in {});\nReflect.construct;', 'globals.not-allowed'],
  ['a finally block', 'try {} finally { var /*@*/Temporal; }\nTemporal.Now;', 'globals.not-allowed'],
  ['a labelled block', 'l: { var /*@*/Reflect; }\nReflect.construct;', 'globals.not-allowed'],
  ['a switch case', 'switch (1) { case 1: var /*@*/Object; }\nObject.setPrototypeOf;', 'globals.not-allowed'],
  ['a catch block', 'try {} catch { var /*@*/Reflect; }\nReflect.construct;', 'globals.not-allowed'],
  ['a destructuring pattern', 'var { /*@*/Object } = {};\nObject.getPrototypeOf;', 'globals.not-allowed'],
  ['an array pattern default', 'var [/*@*/Reflect = 1] = [];\nReflect.construct;', 'globals.not-allowed'],
  ['a strict script', "'use strict';\nvar /*@*/Reflect;\nReflect.getPrototypeOf;", 'globals.not-allowed'],
  ['a forbidden name (sloppy script)', "var /*@*/eval;\neval('1');", 'names.forbidden'],
  ['a V8 extra the allowlist never names', "var /*@*/escape;\nescape('x');", 'globals.not-allowed'],
];

describe('when a top-level var reuses a global the policy does not allow (layer: policy)', () => {
  for (const [title, source, rule] of CASES) {
    it(`refuses ${title} with ${rule} at the declaration`, () => {
      expectViolation(source, rule, defaultPolicy);
    });
  }
});

describe('when declarations make new bindings (no false positives)', () => {
  const legit = [
    'let Reflect;\nReflect = 1;',
    'const Object = { keys: () => [] };\nObject.keys();',
    'class Reflect {}',
    'function f() { var Object; return Object; }',
    'class A { static { var Reflect; } }',
    'var cache = new Map();\ncache.get(1);',
    'var Map2 = Map, n = Math.max(1, 2);',
    // An allowed bare global may be redeclared (reading it is allowed anyway).
    'var JSON;\nJSON.parse("1");',
  ];
  for (const source of legit) {
    it(`accepts ${JSON.stringify(source)}`, () => {
      expect(checkSource(source, defaultPolicy).violations).toEqual([]);
    });
  }
});
