/**
 * AST policy check throughput: `checkSource` on a ~200 KB component source, next to acorn's parse
 * alone (same options) in the same run. Target: the whole check within 2x of the parse.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { parse } from 'acorn';
import { ECMA_VERSION } from '../src/ast/parse.ts';
import { checkSource } from '../src/policy/check.ts';
import { loadPolicy } from '../src/policy/load.ts';
import { median, timeRuns, type BenchOptions, type BenchReport } from './harness.ts';

const LEGIT = new URL('../test/fixtures/policies/legit/', import.meta.url);

/** Builds a source of about `bytes` bytes from the legit fixtures, each copy in its own block. */
export function buildSource(bytes: number): string {
  const files = readdirSync(LEGIT)
    .filter((f) => f.endsWith('.js'))
    .sort()
    .map((f) => readFileSync(new URL(f, LEGIT), 'utf8'));
  const parts: string[] = [];
  let size = 0;
  for (let i = 0; size < bytes; i++) {
    const part = `{\n${files[i % files.length]!}}\n`;
    parts.push(part);
    size += part.length;
  }
  return parts.join('');
}

/** Runs the check benchmark. */
export async function bench(options: BenchOptions): Promise<BenchReport> {
  const bytes = options.quick ? 20_000 : 200_000;
  const iterations = options.quick ? 5 : 40;
  const source = buildSource(bytes);
  const policy = loadPolicy().forTenant('bench');
  const result = checkSource(source, policy, { requires: ['log', 'kv'] });
  if (!result.ok) throw new Error(`bench source is not policy-clean: ${result.violations[0]?.rule}`);

  const parseOnly = (): unknown =>
    parse(source, {
      ecmaVersion: ECMA_VERSION,
      sourceType: 'script',
      allowHashBang: false,
      locations: false,
    });
  const check = (): unknown => checkSource(source, policy, { requires: ['log', 'kv'] });
  // Interleave rounds so drift on a shared machine hits both the same way.
  const parseTimes: number[] = [];
  const checkTimes: number[] = [];
  for (let round = 0; round < 4; round++) {
    parseTimes.push(...(await timeRuns(parseOnly, iterations / 4, 2)));
    checkTimes.push(...(await timeRuns(check, iterations / 4, 2)));
  }
  const parseMs = median(parseTimes);
  const checkMs = median(checkTimes);
  const ratio = checkMs / parseMs;
  return {
    suite: 'check',
    rows: [
      {
        name: `acorn parse (${Math.round(source.length / 1024)} KB)`,
        medianMs: parseMs,
        opsPerSec: 1000 / parseMs,
      },
      {
        name: `checkSource (${Math.round(source.length / 1024)} KB)`,
        medianMs: checkMs,
        opsPerSec: 1000 / checkMs,
      },
      { name: 'AST nodes', value: result.stats.nodes, unit: 'nodes' },
    ],
    ratios: [{ name: 'checkSource / acorn parse', value: ratio, target: '<= 2', ok: ratio <= 2 }],
  };
}

if (import.meta.url === `file://${process.argv[1]}`) {
  console.log(JSON.stringify(await bench({ quick: process.argv.includes('--quick') }), null, 2));
}
