/**
 * Imports flow one way: version, errors, names, io → envelope → trust → ast → component → sandbox →
 * policy → loader → cli. The sandbox owns the resource limits the policy grants (policy imports
 * their types, never the reverse), and the author-side packer (component) and the node-side
 * checker (policy) share only ast/. A reversed or circular import between layers fails here (docs/architecture.md).
 */
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const SRC = resolve(dirname(fileURLToPath(import.meta.url)), '../src');
const ORDER = [
  'version',
  'errors',
  'names',
  'io',
  'envelope',
  'trust',
  'ast',
  'component',
  'store',
  'sandbox',
  'policy',
  'follow',
  'loader',
  'index',
  'serve',
  'cli',
];

/** Layer pairs that must not import each other even though the order would allow it. */
const SEPARATE: readonly (readonly [string, string])[] = [
  // The checker runs on the node and must not depend on author-side packing code.
  ['policy', 'component'],
];

function layerOf(file: string): string {
  const rel = relative(SRC, file).replaceAll('\\', '/');
  const head = rel.split('/')[0]!;
  return head.replace(/\.ts$/, '');
}

function walk(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const full = join(dir, entry.name);
    return entry.isDirectory() ? walk(full) : entry.name.endsWith('.ts') ? [full] : [];
  });
}

describe('layering', () => {
  it('every src file belongs to a known layer', () => {
    const unknown = walk(SRC).filter((f) => !ORDER.includes(layerOf(f)));
    expect(unknown.map((f) => relative(SRC, f))).toEqual([]);
  });

  it('no layer imports from a later layer', () => {
    const offences: string[] = [];
    for (const file of walk(SRC)) {
      const from = layerOf(file);
      const text = readFileSync(file, 'utf8');
      for (const match of text.matchAll(/(?:from|import)\s*\(?\s*['"](\.{1,2}\/[^'"]+)['"]/g)) {
        const target = resolve(dirname(file), match[1]!);
        const to = layerOf(target);
        if (ORDER.indexOf(to) > ORDER.indexOf(from)) {
          offences.push(`${relative(SRC, file)} imports ${match[1]} (${from} → ${to})`);
        }
        if (SEPARATE.some(([a, b]) => a === from && b === to)) {
          offences.push(`${relative(SRC, file)} imports ${match[1]} (${from} ↛ ${to})`);
        }
      }
    }
    expect(offences).toEqual([]);
  });

  it('only src/ast/ parses JavaScript and holds a child-key table', () => {
    const offences: string[] = [];
    for (const file of walk(SRC)) {
      if (layerOf(file) === 'ast') continue;
      const text = readFileSync(file, 'utf8');
      // One parser configuration (pinned edition and options) and one walker, in ast/.
      if (/import\s*\{[^}]*\bparse\b[^}]*\}\s*from\s*'acorn'/.test(text))
        offences.push(`${relative(SRC, file)} imports acorn's parse (use ast/parse.ts)`);
      if (/\bCHILD_KEYS\b/.test(text)) offences.push(`${relative(SRC, file)} has its own CHILD_KEYS`);
    }
    expect(offences).toEqual([]);
  });
});
