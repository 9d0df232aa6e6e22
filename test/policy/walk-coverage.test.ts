/**
 * The checker walks known node types through a fixed child-key table (for speed). This pins that
 * the table misses no child of any node acorn produces for the corpora: a missed key would hide a
 * whole subtree from the policy.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { parse, type Node } from 'acorn';
import { describe, expect, it } from 'vitest';
import { ECMA_VERSION } from '../../src/ast/parse.ts';
import { checkSource } from '../../src/policy/check.ts';
import { defaultPolicy, FIXTURES_DIR } from './support.ts';

const EXTRA = [
  'label: for (const [a, { b = 1, ...c }] of x) { if (a) continue label; else break label; }',
  'try { throw 1 } catch { } finally { }',
  'try { } catch ({ message }) { }',
  'for (let i = 0, j; i < 1; i++) { do { } while (0); }',
  'for (var k in o) { with (o) { } }',
  'a?.b?.[c]?.(d); new A(...b); `x${y}z`; tag`q`; a, b; x ??= y; -x; !x; typeof x; void 0; delete o.x; x++;',
  'async function* g() { yield* h(); await 1; for await (const q of r) {} }',
  'class A extends B { static x = 1; #y; static { this.z = 1; } get [k]() { return super.m(); } constructor() { super(); new.target; } }',
  'const f = async ({ a } = {}, ...[b]) => a; import("x"); debugger;',
  'switch (x) { case 1: default: }',
];

function corpus(): string[] {
  const dir = `${FIXTURES_DIR}legit/`;
  return [...readdirSync(dir).map((f) => readFileSync(`${dir}${f}`, 'utf8')), ...EXTRA];
}

describe('when the walker meets every node of the corpora', () => {
  it('visits exactly as many nodes as a generic all-keys walk', () => {
    for (const source of corpus()) {
      const program = parse(source, { ecmaVersion: ECMA_VERSION, sourceType: 'script' });
      let generic = 0;
      const stack: Node[] = [program];
      while (stack.length > 0) {
        const node = stack.pop()! as Node & Record<string, unknown>;
        generic++;
        for (const value of Object.values(node)) {
          for (const child of Array.isArray(value) ? value : [value]) {
            if (child && typeof child === 'object' && typeof (child as Node).type === 'string')
              stack.push(child as Node);
          }
        }
      }
      const permissive = { ...defaultPolicy, source: { maxBytes: 1e9, maxNodes: 1e9, maxDepth: 1e9 } };
      expect(checkSource(source, permissive).stats.nodes, source.slice(0, 60)).toBe(generic);
    }
  });
});
