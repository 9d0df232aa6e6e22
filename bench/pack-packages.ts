/**
 * Pack time for a component that imports a ~500 KB npm package (rolldown path: worker start,
 * resolution, bundling, the source map, free-variable analysis, SBOM hashing), against acorn's
 * parse of the same bundled source measured in the same run. The package is generated into a
 * temporary project (pure ECMAScript, every export used, so tree-shaking keeps it all).
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse } from 'acorn';
import { pack } from '../src/component/pack.ts';
import { ECMA_VERSION } from '../src/ast/parse.ts';
import { median, timeRuns, type BenchOptions, type BenchReport } from './harness.ts';

/** ESM text of about `bytes` bytes: functions collected into one exported table. */
export function makePackage(bytes: number): string {
  const parts: string[] = [];
  let size = 0;
  let n = 0;
  while (size < bytes) {
    const fn = [
      `function step${n}(xs, k) {`,
      `  let acc = ${n};`,
      `  for (let i = 0; i < xs.length; i++) acc = (acc * 31 + xs[i] * ${(n % 7) + 1} + k) % 1000003;`,
      `  return { id: 'step${n}', acc, even: acc % 2 === 0 };`,
      `}`,
    ].join('\n');
    parts.push(fn);
    size += fn.length + 1;
    n++;
  }
  const table = `export const steps = [${Array.from({ length: n }, (_, i) => `step${i}`).join(', ')}];`;
  return `${parts.join('\n')}\n${table}\n`;
}

export async function bench(options: BenchOptions): Promise<BenchReport> {
  const iterations = options.quick ? 2 : 8;
  const dir = mkdtempSync(join(tmpdir(), 'sealbox-bench-pkg-'));
  try {
    writeFileSync(join(dir, 'package.json'), '{"name":"bench","private":true}');
    const pkg = join(dir, 'node_modules', 'bigpkg');
    mkdirSync(pkg, { recursive: true });
    writeFileSync(
      join(pkg, 'package.json'),
      '{"name":"bigpkg","version":"1.0.0","license":"MIT","type":"module","exports":"./index.js"}',
    );
    writeFileSync(join(pkg, 'index.js'), makePackage(options.quick ? 50_000 : 500_000));
    const file = join(dir, 'component.js');
    writeFileSync(
      file,
      `import { Component } from 'sealbox';\nimport { steps } from 'bigpkg';\n` +
        `export class Runner extends Component { run(xs) { return steps.map((s) => s(xs, 1).acc); } }\n`,
    );
    const base = { tenant: 'acme', identifier: 'big', version: 1, issuedAt: '2026-01-01T00:00:00Z' };
    const once = pack(file, { ...base, export: 'Runner', maxSourceBytes: 2 * 1024 * 1024 });
    const bytes = Buffer.byteLength(once.source);
    const parseMs = median(
      await timeRuns(
        () => parse(once.source, { ecmaVersion: ECMA_VERSION, sourceType: 'script', locations: true }),
        iterations,
        1,
      ),
    );
    const packMs = median(
      await timeRuns(
        () => pack(file, { ...base, export: 'Runner', maxSourceBytes: 2 * 1024 * 1024 }),
        iterations,
        1,
      ),
    );
    const ratio = packMs / parseMs;
    return {
      suite: 'pack-packages',
      rows: [
        { name: 'packed source (bytes)', value: bytes, unit: 'B' },
        { name: 'acorn parse of the bundled source', medianMs: parseMs },
        { name: 'pack file importing a generated package', medianMs: packMs },
      ],
      ratios: [
        {
          name: 'pack with package / acorn parse of the bundle',
          value: ratio,
          target: '<= 25',
          ok: ratio <= 25,
        },
      ],
      notes: ['includes starting the rolldown worker thread (pack is synchronous, rolldown is not)'],
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  console.log(JSON.stringify(await bench({ quick: process.argv.includes('--quick') }), null, 2));
}
