/**
 * Attack: pass a forbidden name to a reflective call inside a literal argument list, where the
 * checker looked only at direct arguments: `Reflect.get.apply(null, [o, 'constructor'])`,
 * `Reflect.apply(Reflect.get, null, [o, 'constructor'])`. Layer that must stop it: the AST policy
 * (names.forbidden at the string), before any isolate exists.
 */
import { describe, expect, it } from 'vitest';
import { checkSource } from '../../src/policy/check.ts';
import { defaultPolicy, expectViolation } from '../policy/support.ts';

const wrap = (body: string): string => `class Evil extends Component {\n  run(o) {\n    ${body}\n  }\n}\n`;

const CASES: readonly (readonly [string, string])[] = [
  ['Reflect.get.apply with a literal list', "return Reflect.get.apply(null, [o, /*@*/'constructor']);"],
  ['Reflect.apply of Reflect.get', "return Reflect.apply(Reflect.get, null, [o, /*@*/'__proto__']);"],
  ['Reflect.apply with a folded key', "return Reflect.apply(Reflect.has, null, [o, /*@*/'proto' + 'type']);"],
  ['a spread inside the list', "return Reflect.get.apply(null, [o, .../*@*/['caller']]);"],
  ['Reflect.construct arguments', "return Reflect.construct(Map, [/*@*/'constructor']);"],
];

describe('when a forbidden name hides in the argument list of a reflective call (layer: policy)', () => {
  for (const [title, body] of CASES) {
    it(`refuses ${title} with names.forbidden at the string`, () => {
      expectViolation(wrap(body), 'names.forbidden', defaultPolicy);
    });
  }
});

describe('when argument lists hold ordinary strings (no false positives)', () => {
  it('accepts apply and Reflect.apply with plain data', () => {
    const source = wrap(
      "const f = (a, b) => a + b;\n    return [Reflect.apply(f, null, [1, 'x']), Math.max.apply(null, [1, 2]), Object.keys.apply(null, [{ a: 1 }])];",
    );
    expect(checkSource(source, defaultPolicy).violations).toEqual([]);
  });
});
