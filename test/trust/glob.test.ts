import { describe, expect, it } from 'vitest';
import { matchGlob } from '../../src/trust/glob.ts';

describe('when matching identifier globs', () => {
  it.each([
    ['*', 'anything', true],
    ['tok*', 'tokenizer', true],
    ['tok*', 'xtokenizer', false],
    ['*izer', 'tokenizer', true],
    ['*izer', 'tokenizers', false],
    ['t?k', 'tok', true],
    ['t?k', 'tk', false],
    ['a*b*c', 'axxbyyc', true],
    ['a*b*c', 'axxbyy', false],
    ['exact', 'exact', true],
    ['exact', 'exactly', false],
    ['', '', true],
    ['a.b', 'axb', false],
  ])('%s vs %s is %s (anchored, . is literal)', (glob, text, expected) => {
    expect(matchGlob(glob, text)).toBe(expected);
  });

  it('stays fast on a pathological pattern (no exponential backtracking)', () => {
    const start = performance.now();
    expect(matchGlob('*a*a*a*a*a*a*a*a*a*a*a*a*a*b', 'a'.repeat(64))).toBe(false);
    expect(performance.now() - start).toBeLessThan(50);
  });
});
