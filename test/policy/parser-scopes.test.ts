/**
 * sealbox parses with acorn plus indexed scope lists (src/ast/parse.ts), so that N
 * declarations in one scope cost O(N) instead of acorn's O(N²). This pins that the change is only
 * about speed: on every redeclaration case below, stock acorn and sealbox's parser accept and
 * refuse exactly the same programs, with the same message at the same position.
 */
import { parse } from 'acorn';
import { describe, expect, it } from 'vitest';
import { acornOptions, parseProgram } from '../../src/ast/parse.ts';

type Goal = 'script' | 'module';

function outcome(run: () => unknown): string {
  try {
    run();
    return 'ok';
  } catch (error) {
    const e = error as SyntaxError & { pos?: number };
    return `${e.name}: ${e.message} @${e.pos ?? '?'}`;
  }
}

function both(source: string, goal: Goal): { stock: string; sealbox: string } {
  const options = acornOptions(goal, { locations: false });
  return {
    stock: outcome(() => parse(source, options)),
    sealbox: outcome(() => parseProgram(source, goal, { locations: false })),
  };
}

/** Declarations of `n` fillers plus one of `name`, in the given kinds. */
const DECLARE: Record<string, (name: string) => string> = {
  var: (name) => `var ${name};`,
  let: (name) => `let ${name};`,
  const: (name) => `const ${name} = 1;`,
  function: (name) => `function ${name}() {}`,
  class: (name) => `class ${name} {}`,
  asyncFunction: (name) => `async function ${name}() {}`,
};

const WRAP: Record<string, (body: string) => string> = {
  top: (body) => body,
  block: (body) => `{ ${body} }`,
  function: (body) => `function outer() { ${body} }`,
  arrow: (body) => `const outer = () => { ${body} };`,
  catch: (body) => `try {} catch (e) { ${body} }`,
  catchPattern: (body) => `try {} catch ({ e }) { ${body} }`,
  switch: (body) => `switch (0) { case 0: ${body} }`,
  loop: (body) => `for (let i = 0; i < 1; i++) { ${body} }`,
  nestedBlocks: (body) => `function outer() { { { ${body} } } }`,
};

function fillers(count: number): string {
  return Array.from({ length: count }, (_, i) => `let f${i};`).join(' ');
}

describe('when a name is declared twice, before and after the scope list gets its index', () => {
  const kinds = Object.keys(DECLARE);
  for (const goal of ['script', 'module'] as const) {
    for (const [where, wrap] of Object.entries(WRAP)) {
      it(`${goal}, ${where}: accepts and refuses exactly what stock acorn does`, () => {
        let refused = 0;
        for (const first of kinds) {
          for (const second of kinds) {
            // 0 fillers: plain scans; 20: the index is built before the clash; 15/16: the boundary.
            for (const count of [0, 15, 16, 20]) {
              for (const name of ['x', 'e', 'f0', `f${Math.max(0, count - 1)}`]) {
                const source = wrap(`${fillers(count)} ${DECLARE[first]!(name)} ${DECLARE[second]!(name)}`);
                const { stock, sealbox } = both(source, goal);
                expect(sealbox, source).toBe(stock);
                if (stock !== 'ok') refused++;
              }
            }
          }
        }
        // The cases exercise refusals, not only accepted programs.
        expect(refused).toBeGreaterThan(0);
      });
    }
  }

  it('treats a catch parameter redeclared by var and let the way stock acorn does', () => {
    for (const source of [
      `try {} catch (e) { ${fillers(20)} var e; }`,
      `try {} catch (e) { ${fillers(20)} let e; }`,
      `try {} catch ([e]) { ${fillers(20)} var e; }`,
      `function g(a) { ${fillers(20)} let a; }`,
      `function g(a) { ${fillers(20)} var a; }`,
      `${fillers(20)} export { f3 }; export { nope };`,
    ]) {
      for (const goal of ['script', 'module'] as const) {
        const { stock, sealbox } = both(source, goal);
        expect(sealbox, `${goal}: ${source}`).toBe(stock);
      }
    }
  });
});

describe('when one scope holds tens of thousands of declarations', () => {
  function fastest(source: string): number {
    let best = Infinity;
    for (let round = 0; round < 3; round++) {
      const start = performance.now();
      parseProgram(source, 'script', { locations: false });
      best = Math.min(best, performance.now() - start);
    }
    return best;
  }

  it('parses 16 times the declarations in far less than 16² times the time', () => {
    const small = fillers(2_000);
    const large = fillers(32_000);
    const ratio = fastest(large) / fastest(small);
    // Linear: ~16. acorn's own lists: ~100-250 (measured). 64 leaves room for a busy machine.
    expect(ratio).toBeLessThan(64);
  });
});
