/**
 * Policy check at bundle scale (issue 11 "checker scale", issue 13 #3):
 * - `checkSource` on ~1 MB and ~2 MB real bundles, built from script files already in
 *   node_modules (each wrapped in a function, as a bundler does), next to stock acorn's parse of
 *   the same text: the check stays within a small factor of a parse, and 2 MB costs about twice
 *   1 MB (linear);
 * - a pathological source (declarations in one scope): sealbox's parser against stock acorn on
 *   the same 256 KB, whose redeclaration check is quadratic;
 * - the host's longest event-loop block while a pathological 2 MB source is checked on the
 *   off-thread pool the loader uses, as a fraction of the same check run inline.
 * Nothing third-party is copied into the repository: the bundles are assembled at run time.
 */
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parse } from 'acorn';
import { acornOptions, parseProgram } from '../src/ast/parse.ts';
import { checkSource } from '../src/policy/check.ts';
import { CheckPool } from '../src/policy/check-pool.ts';
import { loadPolicy } from '../src/policy/load.ts';
import {
  median,
  timeRuns,
  type BenchOptions,
  type BenchReport,
  type BenchRow,
  type BenchRatio,
} from './harness.ts';

const NODE_MODULES = fileURLToPath(new URL('../node_modules/', import.meta.url));

/** Script files (UMD/CommonJS) shipped by packages sealbox already depends on, largest first. */
const CANDIDATES = [
  'prettier/plugins/typescript.js',
  'prettier/plugins/flow.js',
  'prettier/plugins/babel.js',
  'prettier/plugins/postcss.js',
  'prettier/plugins/estree.js',
  'prettier/plugins/glimmer.js',
  'prettier/plugins/html.js',
  'prettier/plugins/markdown.js',
  'prettier/plugins/angular.js',
  'prettier/plugins/graphql.js',
  'prettier/plugins/yaml.js',
  'prettier/plugins/acorn.js',
  'prettier/plugins/meriyah.js',
  'acorn/dist/acorn.js',
  'acorn-walk/dist/walk.js',
  'yaml/dist/compose/composer.js',
];

/** A bundle of about `bytes` bytes (never more): whole files, each in its own function scope. */
export function buildBundle(bytes: number): { source: string; files: string[] } {
  const parts: string[] = [];
  const files: string[] = [];
  let size = 0;
  for (const file of CANDIDATES) {
    const path = `${NODE_MODULES}${file}`;
    if (!existsSync(path)) continue;
    const part = `;(function (module, exports) {\n${readFileSync(path, 'utf8')}\n})({}, {});\n`;
    const partBytes = Buffer.byteLength(part);
    if (size + partBytes > bytes) continue;
    try {
      parseProgram(part, 'script', { locations: false });
    } catch {
      continue; // not a script (ESM or newer syntax): not part of the bundle
    }
    parts.push(part);
    files.push(file);
    size += partBytes;
  }
  return { source: parts.join(''), files };
}

/** `count` declarations in one scope: quadratic for stock acorn's redeclaration check. */
export function declarations(count: number): string {
  return `class A extends Component {}\n${Array.from({ length: count }, (_, i) => `let v${i} = [${i}];`).join('\n')}\n`;
}

/** Longest gap of a 1 ms timer chain while `work` runs, ms. */
async function longestBlock(work: () => Promise<unknown>): Promise<number> {
  let longest = 0;
  let last = performance.now();
  let timer: NodeJS.Timeout | undefined;
  const tick = (): void => {
    const now = performance.now();
    longest = Math.max(longest, now - last);
    last = now;
    timer = setTimeout(tick, 1);
  };
  timer = setTimeout(tick, 1);
  await work();
  await new Promise((resolve) => setTimeout(resolve, 1));
  clearTimeout(timer);
  return Math.max(longest, performance.now() - last);
}

/** Runs the check-scale benchmark. */
export async function bench(options: BenchOptions): Promise<BenchReport> {
  const policy = loadPolicy().forTenant('bench');
  const iterations = options.quick ? 1 : 5;
  const sizes = options.quick ? [100_000] : [1_000_000, 2_000_000];
  const rows: BenchRow[] = [];
  const ratios: BenchRatio[] = [];
  const notes: string[] = [];
  const checkMs: number[] = [];

  for (const target of sizes) {
    const { source, files } = buildBundle(target);
    const kb = Math.round(Buffer.byteLength(source) / 1024);
    notes.push(`${kb} KB bundle: ${files.join(', ')}`);
    const stock = median(
      await timeRuns(() => parse(source, acornOptions('script', { locations: false })), iterations, 1),
    );
    const check = median(await timeRuns(() => checkSource(source, policy), iterations, 1));
    const result = checkSource(source, policy);
    checkMs.push(check);
    rows.push(
      { name: `acorn parse, ${kb} KB bundle`, medianMs: stock },
      { name: `checkSource, ${kb} KB bundle`, medianMs: check },
      { name: `AST nodes, ${kb} KB bundle`, value: result.stats.nodes, unit: 'nodes' },
    );
    ratios.push({
      name: `checkSource / acorn parse (${kb} KB)`,
      value: check / stock,
      target: '<= 2.5',
      ok: check / stock <= 2.5,
    });
  }
  if (checkMs.length === 2) {
    const growth = checkMs[1]! / checkMs[0]!;
    ratios.push({
      name: 'checkSource 2 MB / 1 MB (linear: ~2)',
      value: growth,
      target: '<= 3',
      ok: growth <= 3,
    });
  }

  // Pathological: declarations in one scope, stock acorn against sealbox's parser.
  const small = declarations(options.quick ? 2_000 : 12_000);
  const stockDecl = median(
    await timeRuns(() => parse(small, acornOptions('script', { locations: false })), 1, 0),
  );
  const oursDecl = median(await timeRuns(() => parseProgram(small, 'script', { locations: false }), 3, 1));
  rows.push(
    {
      name: `stock acorn, ${Math.round(small.length / 1024)} KB of declarations in one scope`,
      medianMs: stockDecl,
    },
    { name: `sealbox parser, same source`, medianMs: oursDecl },
  );
  ratios.push({
    name: 'stock acorn / sealbox parser (one-scope declarations)',
    value: stockDecl / oursDecl,
    target: '>= 5',
    ok: stockDecl / oursDecl >= 5,
  });

  // Event-loop block while a pathological 2 MB source is checked off the main thread.
  const hostile = declarations(options.quick ? 5_000 : 90_000);
  const inline = median(await timeRuns(() => checkSource(hostile, policy), 1, 0));
  const pool = new CheckPool({ size: 1 });
  try {
    await pool.check('class A extends Component {}', policy); // start the worker
    const started = performance.now();
    const block = await longestBlock(() => pool.check(hostile, policy));
    const checking = performance.now() - started;
    // Noise reference: the same timer chain over an idle wait as long as that check took (on a
    // busy machine the OS deschedules the main thread too; that is not the checker's block).
    const idle = await longestBlock(() => new Promise((resolve) => setTimeout(resolve, checking)));
    rows.push(
      {
        name: `checkSource inline, ${Math.round(hostile.length / 1024)} KB pathological source (event loop blocked throughout)`,
        medianMs: inline,
      },
      { name: 'longest event-loop block, same source checked on the pool', value: block, unit: 'ms' },
      { name: 'longest timer gap while idle as long (machine noise)', value: idle, unit: 'ms' },
    );
    ratios.push({
      name: 'event-loop block off-thread / inline check time',
      value: block / inline,
      target: '<= 0.1',
      ok: block / inline <= 0.1,
    });
  } finally {
    await pool.close();
  }
  return { suite: 'check-scale', rows, ratios, notes };
}

if (import.meta.url === `file://${process.argv[1]}`) {
  console.log(JSON.stringify(await bench({ quick: process.argv.includes('--quick') }), null, 2));
}
