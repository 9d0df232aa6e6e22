import { describe, expect, it } from 'vitest';
import { matchGlob } from '../../src/trust/glob.ts';
import { costRatio } from '../support/timing.ts';

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

  it('stays polynomial on a pathological pattern (no exponential backtracking)', () => {
    // Backtracking over 13 stars is O(n^13): doubling the text would cost ~8000x. A linear or
    // quadratic matcher costs 2-4x; the bound is a ratio measured in this run, not a time.
    const pattern = '*a*a*a*a*a*a*a*a*a*a*a*a*a*b';
    const times = (n: number) => () => {
      for (let i = 0; i < 50; i++) expect(matchGlob(pattern, 'a'.repeat(n))).toBe(false);
    };
    expect(costRatio(times(128), times(64), 5)).toBeLessThan(16);
  });
});
