import { describe, expect, it } from 'vitest';
import { canonicalBytes, canonicalize, isCanonical } from '../../src/envelope/canonical-json.ts';
import { EnvelopeError } from '../../src/errors.ts';

function failure(fn: () => unknown): { code: string; path: unknown } | undefined {
  try {
    fn();
  } catch (error) {
    if (error instanceof EnvelopeError) return { code: error.code, path: error.details['path'] };
    return { code: 'untyped', path: undefined };
  }
  return undefined;
}

describe('when canonicalising plain JSON', () => {
  it('sorts keys and drops whitespace', () => {
    expect(canonicalize({ b: [1, 2.5, 'x'], a: null, c: { z: true, y: false } })).toBe(
      '{"a":null,"b":[1,2.5,"x"],"c":{"y":false,"z":true}}',
    );
  });

  it('ignores non-enumerable properties (a packer method)', () => {
    const value = { a: 1 };
    Object.defineProperty(value, 'sign', { value: () => 0, enumerable: false });
    expect(canonicalize(value)).toBe('{"a":1}');
  });

  it('accepts null-prototype objects and shared (non-cyclic) references', () => {
    const shared = { k: 1 };
    const o = Object.assign(Object.create(null) as object, { x: shared, y: shared });
    expect(canonicalize(o)).toBe('{"x":{"k":1},"y":{"k":1}}');
    expect(new TextDecoder().decode(canonicalBytes([shared]))).toBe('[{"k":1}]');
  });
});

describe('when the value is not plain JSON', () => {
  const cyclic: Record<string, unknown> = {};
  cyclic['self'] = cyclic;
  const withSymbol = { [Symbol('s')]: 1 };
  const getter = Object.defineProperty({}, 'g', { get: () => 1, enumerable: true });
  const sparse = [1, 2, 3];
  delete sparse[1];
  const extraArrayProp = Object.assign([1], { extra: 2 });
  it.each([
    ['undefined', { a: undefined }, '$.a'],
    ['a function', { a: () => 1 }, '$.a'],
    ['NaN', { a: [NaN] }, '$.a[0]'],
    ['Infinity', { a: Infinity }, '$.a'],
    ['a BigInt', { a: 1n }, '$.a'],
    ['a cycle', cyclic, '$.self'],
    ['a Date', { d: new Date(0) }, '$.d'],
    ['a Map', { m: new Map() }, '$.m'],
    ['a Uint8Array', { b: new Uint8Array(1) }, '$.b'],
    ['a symbol key', withSymbol, '$'],
    ['an accessor', getter, '$.g'],
    ['a hole', { s: sparse }, '$.s[1]'],
    ['an array with extra props', extraArrayProp, '$'],
    ['a lone surrogate', { s: '\ud800' }, '$.s'],
    ['a class instance', new (class Foo {})(), '$'],
  ])('throws ERR_JSON_INVALID for %s, naming the path', (_name, value, path) => {
    expect(failure(() => canonicalize(value))).toEqual({ code: 'ERR_JSON_INVALID', path });
  });

  it('throws ERR_JSON_INVALID (not a stack overflow) for a 100,000-deep value', () => {
    let deep: unknown = 1;
    for (let i = 0; i < 100_000; i++) deep = [deep];
    expect(failure(() => canonicalize(deep))?.code).toBe('ERR_JSON_INVALID');
  });
});

describe('when checking canonical bytes', () => {
  const enc = (s: string) => new TextEncoder().encode(s);
  it.each([
    ['whitespace', '{"a": 1}'],
    ['reordered keys', '{"b":1,"a":2}'],
    ['duplicate keys', '{"a":1,"a":1}'],
    ['number form', '{"a":1.0}'],
    ['escaped char', '{"a":"\\u0061"}'],
    ['BOM', '\ufeff{"a":1}'],
    ['not JSON', '{'],
    ['deep nesting', '['.repeat(100_000) + ']'.repeat(100_000)],
  ])('returns false for %s', (_name, text) => {
    expect(isCanonical(enc(text))).toBe(false);
  });

  it('returns false for invalid UTF-8', () => {
    expect(isCanonical(new Uint8Array([0x22, 0xff, 0x22]))).toBe(false);
  });

  it('returns true for canonical text', () => {
    expect(isCanonical(enc('{"a":[1,"é"],"b":{}}'))).toBe(true);
  });
});
