import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { DEFAULT_ENVELOPE_LIMITS, resolveLimits, scanJson } from '../../src/envelope/limits.ts';

function depthOf(value: unknown): number {
  if (value === null || typeof value !== 'object') return 0;
  const children = Object.values(value as object);
  return 1 + (children.length === 0 ? 0 : Math.max(...children.map(depthOf)));
}

describe('when pre-scanning JSON text', () => {
  it('finds no problem in any JSON.stringify output within the depth limit', () => {
    fc.assert(
      fc.property(fc.jsonValue({ maxDepth: 6 }), fc.boolean(), (value, pretty) => {
        const text = JSON.stringify(value, null, pretty ? 2 : undefined);
        expect(scanJson(text, 64, true)).toBeUndefined();
      }),
      { numRuns: 500 },
    );
  });

  it('refuses exactly the texts nested deeper than the limit', () => {
    fc.assert(
      fc.property(fc.jsonValue({ maxDepth: 8 }), fc.integer({ min: 1, max: 8 }), (value, limit) => {
        const problem = scanJson(JSON.stringify(value), limit, false);
        expect(problem?.kind === 'depth').toBe(depthOf(value) > limit);
      }),
      { numRuns: 500 },
    );
  });

  it.each([
    ['a plain duplicate', '{"a":1,"a":2}'],
    ['an escaped duplicate', '{"a":1,"\\u0061":2}'],
    ['a nested duplicate', '{"x":[{"k":1,"k":1}]}'],
    ['a duplicate after a string value with escaped quotes', '{"a":"x\\"y","a":1}'],
  ])('reports %s', (_name, text) => {
    expect(scanJson(text, 64, true)?.kind).toBe('duplicate');
  });

  it.each([
    ['same key in sibling objects', '[{"a":1},{"a":2}]'],
    ['a key-like string value', '{"a":"a","b":"a"}'],
    ['a string ending in a backslash', '{"a":"x\\\\","b":1}'],
  ])('does not report %s', (_name, text) => {
    expect(scanJson(text, 64, true)).toBeUndefined();
  });

  it('scans 100,000-deep nesting without recursion', () => {
    expect(scanJson('['.repeat(100_000), 64, false)).toEqual({ kind: 'depth', depth: 65 });
  });
});

describe('when resolving limits', () => {
  it('merges over the defaults and refuses unknown or invalid limits', () => {
    expect(resolveLimits(undefined)).toBe(DEFAULT_ENVELOPE_LIMITS);
    expect(resolveLimits({ maxSourceBytes: 10 })).toMatchObject({ maxSourceBytes: 10, maxSignatures: 4 });
    expect(typeof resolveLimits({ maxSignatures: 5 })).toBe('string');
    expect(typeof resolveLimits({ maxSorceBytes: 10 })).toBe('string');
    expect(typeof resolveLimits({ maxSourceBytes: -1 })).toBe('string');
    expect(typeof resolveLimits({ maxSourceBytes: NaN })).toBe('string');
    expect(typeof resolveLimits(null)).toBe('string');
  });
});
