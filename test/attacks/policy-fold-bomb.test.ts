/**
 * Issue 13 #3: constant folding as a CPU bomb (layer: policy, src/policy/fold.ts).
 * `s.concat(s, s, …)` with a 128 KiB constant `s` used to join full strings and cut them only
 * afterwards (10-12 s of checkSource for a 262 KB source the policy accepted), and
 * `o[s.split('').join()]` repeated cost 1-1.8 s. Folding now cuts while it builds and has a work
 * budget; past the budget the source is refused with rule `source.budget` (ERR_POLICY_VIOLATION
 * in the loader). Times are compared with a benign source of the same size checked in the same run.
 */
import { describe, expect, it } from 'vitest';
import { checkSource } from '../../src/policy/check.ts';
import type { EffectivePolicy } from '../../src/policy/types.ts';
import { defaultPolicy } from '../policy/support.ts';

// Room for the bombs whatever the shipped limit is: this file is about folding, not size.
const roomy: EffectivePolicy = { ...defaultPolicy, source: { ...defaultPolicy.source, maxBytes: 8 << 20 } };
const big = `'${'a'.repeat(128 * 1024)}'`;
/** Bombed / benign check time. Before the fix: 30-100x; 8 leaves room for a busy shared machine. */
const SLACK = 8;

function fastest(source: string): number {
  let best = Infinity;
  for (let round = 0; round < 3; round++) {
    const start = performance.now();
    checkSource(source, roomy);
    best = Math.min(best, performance.now() - start);
  }
  return best;
}

/** The same bytes with the expression called instead of used as a key: nothing is folded. */
function asCall(source: string): string {
  return source.replaceAll('o[', 'o(').replaceAll(']; ', '); ');
}

describe('when a key concatenates a 128 KiB constant with itself thousands of times', () => {
  const args = Array.from({ length: 20_000 }, () => 's').join(', ');
  const bomb = `const s = ${big}; class A extends Component { run(o) { return o[s.concat(${args})]; } }`;

  it('checks in about the time of a benign source of the same size, and refuses it as too complex', () => {
    const result = checkSource(bomb, roomy);
    expect(result.violations.map((v) => v.rule)).toEqual(['names.forbidden']);
    expect(result.violations[0]!.message).toContain('too complex');
    const ratio = fastest(bomb) / fastest(asCall(bomb));
    expect(ratio).toBeLessThan(SLACK);
  });

  it('keeps a shorter concat of long constants (a key no name can equal) without building it', () => {
    const few = Array.from({ length: 200 }, () => 's').join(', ');
    const source = `const s = ${big}; class A extends Component { run(o) { return o[s.concat(${few})]; } }`;
    expect(checkSource(source, roomy).violations).toEqual([]);
    expect(fastest(source) / fastest(asCall(source))).toBeLessThan(SLACK);
  });
});

describe("when o[s.split('').join()] is repeated thousands of times on a long constant", () => {
  const keys = Array.from({ length: 5000 }, () => "x = o[s.split('').join()]; ").join('');
  const bomb = `const s = ${big}; class A extends Component { run(o) { let x; ${keys}return x; } }`;

  it('refuses every such key without splitting the constant, in about the time of a benign source', () => {
    const result = checkSource(bomb, roomy);
    expect(new Set(result.violations.map((v) => v.rule))).toEqual(
      new Set(['names.forbidden', 'check.too-many-violations']),
    );
    const ratio = fastest(bomb) / fastest(asCall(bomb));
    expect(ratio).toBeLessThan(SLACK);
  });
});

describe('when a source needs more folding work than the budget allows', () => {
  // Each key concatenates 250 copies of a 250-character constant: ~4,000 work units, so ~450
  // keys spend the 2,000,000-unit budget; the forbidden key comes after them.
  const s = `'${'b'.repeat(250)}'`;
  const heavy = `o[s.concat(${Array.from({ length: 250 }, () => 's').join(', ')})]`;
  const keys = Array.from({ length: 500 }, () => `x = ${heavy}; `).join('');
  const source = `const s = ${s}; class A extends Component { run(o) { let x; ${keys}return o['con' + 'structor']; } }`;

  it('refuses the whole source with source.budget (fail closed), not letting the last keys through', () => {
    const result = checkSource(source, roomy);
    expect(result.violations.map((v) => v.rule)).toEqual(['source.budget']);
    expect(result.blocked).toBe(true);
  });

  it('spends about as much time as a benign source of the same size', () => {
    expect(fastest(source) / fastest(asCall(source))).toBeLessThan(SLACK);
  });
});
