/**
 * Imports flow one way: version, errors → envelope → trust → component → policy → sandbox → loader → cli.
 * A reversed or circular import between layers fails here (STYLE.md §1).
 */
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const SRC = resolve(dirname(fileURLToPath(import.meta.url)), '../src');
const ORDER = [
  'version',
  'errors',
  'envelope',
  'trust',
  'component',
  'policy',
  'store',
  'sandbox',
  'follow',
  'loader',
  'index',
  'serve',
  'cli',
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
      }
    }
    expect(offences).toEqual([]);
  });
});
