/**
 * Garbage in (layer: policy): binary, huge, deeply nested and ill-formed sources end as a violation
 * or a parse error, in bounded time, never a crash or an untyped exception.
 */
import { randomBytes } from 'node:crypto';
import { readFileSync, readdirSync } from 'node:fs';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { checkSource } from '../../src/policy/check.ts';
import { defaultPolicy, FIXTURES_DIR } from '../policy/support.ts';
import { costRatio } from '../support/timing.ts';

function timed<T>(fn: () => T): { value: T; ms: number } {
  const start = performance.now();
  const value = fn();
  return { value, ms: performance.now() - start };
}

const rules = (source: string): string[] => [
  ...new Set(checkSource(source, defaultPolicy).violations.map((v) => v.rule)),
];

describe('when the source is binary garbage', () => {
  it('reports syntax.parse', () => {
    const garbage = randomBytes(64 * 1024).toString('latin1');
    expect(rules(garbage)).toContain('syntax.parse');
  });

  it('reports syntax.parse for NUL bytes', () => {
    expect(rules('class A extends Component {}\u0000\u0000')).toEqual(['syntax.parse']);
  });
});

describe('when the source is 10 MB', () => {
  it('reports source.too-large before parsing, quickly', () => {
    // The tail is not JavaScript: had the checker parsed before refusing, a syntax violation would
    // be reported too. Only the size rule proves the refusal came first.
    const big = `// ${'x'.repeat(10 * 1024 * 1024)}\nclass A extends Component { (((`;
    const { value } = timed(() => checkSource(big, defaultPolicy));
    expect(value.violations.map((v) => v.rule)).toEqual(['source.too-large']);
  });
});

describe('when an expression is nested 100,000 deep', () => {
  it('reports source.too-deep (parser stack overflow caught) for parentheses', () => {
    const deep = `${'('.repeat(100_000)}1${')'.repeat(100_000)};`;
    const { value } = timed(() => checkSource(deep, defaultPolicy));
    expect(value.violations.map((v) => v.rule)).toContain('source.too-deep');
    expect(value.ok).toBe(false);
    // Bounded: no worse than a flat source of the same length (a caught overflow, not a crawl).
    const flat = `const x = [${'1,'.repeat(100_000)}];`;
    expect(
      costRatio(
        () => checkSource(deep, defaultPolicy),
        () => checkSource(flat, defaultPolicy),
        2,
      ),
    ).toBeLessThan(20);
  });

  it('reports source.too-deep for arrays nested 100,000 deep', () => {
    const deep = `const x = ${'['.repeat(100_000)}${']'.repeat(100_000)};`;
    expect(rules(deep)).toContain('source.too-deep');
  });

  it('reports source.too-deep for a long left-deep concatenation chain', () => {
    const chain = `const s = ${Array.from({ length: 100_000 }, () => "'a'").join(' + ')};`;
    const { value } = timed(() => checkSource(chain, defaultPolicy));
    expect(value.violations.map((v) => v.rule)).toContain('source.too-deep');
    const flat = `const s = [${Array.from({ length: 100_000 }, () => "'a'").join(', ')}];`;
    expect(
      costRatio(
        () => checkSource(chain, defaultPolicy),
        () => checkSource(flat, defaultPolicy),
        2,
      ),
    ).toBeLessThan(20);
  });

  it('refuses a deep but within-limit concatenated key as too complex to fold', () => {
    const key = Array.from({ length: 200 }, () => "'a'").join(' + ');
    const result = checkSource(`class A extends Component { run(o) { return o[${key}]; } }`, defaultPolicy);
    expect(result.violations.map((v) => v.rule)).toEqual(['names.forbidden']);
  });
});

describe('when the source is not well-formed UTF-16', () => {
  it('reports source.invalid-unicode for a lone surrogate in a string', () => {
    const result = checkSource("class A extends Component { run() { return '\ud800'; } }", defaultPolicy);
    expect(result.violations).toMatchObject([{ rule: 'source.invalid-unicode', line: 1, column: 44 }]);
    expect(result.violations[0]!.snippet).toContain('\\ud800');
  });

  it('reports a lone low surrogate in an identifier position as a parse error too', () => {
    expect(rules('let \udc00 = 1;')).toEqual(
      expect.arrayContaining(['source.invalid-unicode', 'syntax.parse']),
    );
  });
});

describe('when the source is empty or whitespace', () => {
  it('passes (nothing to refuse; the loader refuses a missing entry class)', () => {
    expect(checkSource('', defaultPolicy).ok).toBe(true);
    expect(checkSource(' \n\t ', defaultPolicy).ok).toBe(true);
  });
});

describe('when a violation sits on a very long line', () => {
  it('caps the snippet near 120 characters and keeps the offending token in it', () => {
    const line = `let a = 0; ${'a = 1; '.repeat(5000)}process.exit();`;
    const result = checkSource(line, defaultPolicy);
    const v = result.violations.find((x) => x.rule === 'globals.not-allowed')!;
    expect(v.snippet.length).toBeLessThanOrEqual(124);
    expect(v.snippet).toContain('process');
  });
});

describe('when a source has thousands of violations', () => {
  it('caps them and says so with check.too-many-violations', () => {
    const source = Array.from({ length: 1000 }, (_, i) => `leak${i}.x;`).join('\n');
    const result = checkSource(source, defaultPolicy);
    expect(result.violations.length).toBeLessThanOrEqual(200);
    expect(result.violations.map((v) => v.rule)).toContain('check.too-many-violations');
  });
});

describe('when the arguments are not what checkSource expects', () => {
  const hostile: unknown[] = [undefined, null, 42, 5n, {}, [], Symbol('x'), new Uint8Array(3)];
  for (const value of hostile) {
    it(`throws ERR_USAGE for source ${typeof value}`, () => {
      expect(() => checkSource(value as string, defaultPolicy)).toThrow(
        expect.objectContaining({ code: 'ERR_USAGE' }),
      );
    });
  }

  it('throws ERR_USAGE for a fake policy object', () => {
    expect(() => checkSource('1', { mode: 'audit' } as never)).toThrow(
      expect.objectContaining({ code: 'ERR_USAGE' }),
    );
  });

  it('throws ERR_USAGE for requires that is not a list of strings', () => {
    expect(() => checkSource('1', defaultPolicy, { requires: 'kv' as never })).toThrow(
      expect.objectContaining({ code: 'ERR_USAGE' }),
    );
  });
});

describe('when the AST exceeds the policy limits', () => {
  const tight = { ...defaultPolicy, source: { maxBytes: 1_000_000, maxNodes: 1000, maxDepth: 20 } };

  it('reports source.too-many-nodes at the first node past the limit', () => {
    const result = checkSource('x;\n'.repeat(2000), tight);
    expect(result.violations).toMatchObject([{ rule: 'source.too-many-nodes', line: 500, column: 0 }]);
  });

  it('reports source.too-deep at the first node past maxDepth', () => {
    const result = checkSource(`x = ${'['.repeat(30)}${']'.repeat(30)};`, tight);
    expect(result.violations).toMatchObject([{ rule: 'source.too-deep', line: 1 }]);
    expect(result.stats.depth).toBe(21);
  });

  it('caps a parser message that quotes a huge identifier', () => {
    const name = 'a'.repeat(100_000);
    const result = checkSource(`let ${name}; let ${name};`, defaultPolicy);
    expect(result.violations[0]!.rule).toBe('syntax.parse');
    expect(result.violations[0]!.message.length).toBeLessThan(400);
  });
});

describe('when arbitrary or mutated sources are checked (property)', () => {
  const legit = readdirSync(`${FIXTURES_DIR}legit/`).map((f) =>
    readFileSync(`${FIXTURES_DIR}legit/${f}`, 'utf8'),
  );

  it('never throws on any string, and every violation has a known shape', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary', maxLength: 400 }), (source) => {
        const result = checkSource(source, defaultPolicy);
        for (const v of result.violations) {
          expect(typeof v.rule).toBe('string');
          expect(v.line).toBeGreaterThanOrEqual(0);
        }
        expect(result.ok).toBe(result.violations.length === 0);
      }),
      { numRuns: 300 },
    );
  });

  it('never throws on legit components with random splices', () => {
    fc.assert(
      fc.property(
        fc.nat({ max: legit.length - 1 }),
        fc.nat(),
        fc.string({ maxLength: 12 }),
        (which, at, insert) => {
          const source = legit[which]!;
          const cut = at % (source.length + 1);
          checkSource(source.slice(0, cut) + insert + source.slice(cut), defaultPolicy);
        },
      ),
      { numRuns: 300 },
    );
  });
});
