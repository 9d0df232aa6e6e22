/**
 * Pack time vs acorn's parse of the same source: a 1,000-line module with 10 helper functions, and
 * a class object of similar size. Target: packing stays within 3x of parsing.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import vm from 'node:vm';
import { parse } from 'acorn';
import { Component } from '../src/component/component.ts';
import { pack } from '../src/component/pack.ts';
import { ECMA_VERSION } from '../src/ast/parse.ts';
import { median, timeRuns, type BenchOptions, type BenchReport } from './harness.ts';

/** A module of about `lines` lines: 10 helpers, and a class whose methods call them. */
export function makeModule(lines: number): { module: string; classBody: string } {
  const helpers: string[] = [];
  for (let h = 0; h < 10; h++) {
    helpers.push(
      `function helper${h}(xs, k) {`,
      `  const out = [];`,
      `  for (let i = 0; i < xs.length; i++) {`,
      `    const v = xs[i] * ${h + 1} + k;`,
      `    if (v % 2 === 0) out.push({ i, v, tag: 'even${h}' });`,
      `    else out.push({ i, v: Math.sqrt(Math.abs(v)), tag: 'odd${h}' });`,
      `  }`,
      `  return out;`,
      `}`,
      `const LIMIT${h} = ${h * 10 + 5};`,
      '',
    );
  }
  const methods: string[] = [];
  let m = 0;
  while (helpers.length + methods.length < lines - 4) {
    const h = m % 10;
    methods.push(
      `  method${m}(xs, k = ${m}) {`,
      `    const r = helper${h}(xs, k).filter((e) => e.i < LIMIT${h});`,
      `    const total = r.reduce((acc, { v }) => acc + v, 0);`,
      `    return { name: 'method${m}', total, count: r.length, first: r[0] ?? null };`,
      `  }`,
    );
    m++;
  }
  const classBody = `class Big extends Component {\n${methods.join('\n')}\n}`;
  const module = `import { Component } from 'sealbox';\n\n${helpers.join('\n')}\nexport ${classBody}\n`;
  return { module, classBody };
}

function classMethodsOnly(lines: number): string {
  const methods: string[] = [];
  for (let m = 0; methods.length < lines - 2; m++) {
    methods.push(
      `  method${m}(xs, k = ${m}) {`,
      `    const out = [];`,
      `    for (let i = 0; i < xs.length; i++) out.push({ i, v: xs[i] * ${m} + k });`,
      `    return out.filter((e) => e.v % 2 === 0).map(({ v }) => Math.sqrt(v));`,
      `  }`,
    );
  }
  return `class Big extends Component {\n${methods.join('\n')}\n}`;
}

export async function bench(options: BenchOptions): Promise<BenchReport> {
  const iterations = options.quick ? 5 : 40;
  const dir = mkdtempSync(join(tmpdir(), 'sealbox-bench-pack-'));
  try {
    const { module } = makeModule(1000);
    const file = join(dir, 'big.js');
    writeFileSync(file, module);
    const base = { tenant: 'acme', identifier: 'big', version: 1, issuedAt: '2026-01-01T00:00:00Z' };
    const parseModuleMs = median(
      await timeRuns(
        () => parse(module, { ecmaVersion: ECMA_VERSION, sourceType: 'module', locations: true }),
        iterations,
      ),
    );
    const packFileMs = median(await timeRuns(() => pack(file, { ...base, export: 'Big' }), iterations));

    const classText = classMethodsOnly(1000);
    const cls = vm.runInThisContext(`(Component) => (${classText})`)(Component) as typeof Component;
    const parseClassMs = median(
      await timeRuns(
        () =>
          parse(`(${cls.toString()})`, { ecmaVersion: ECMA_VERSION, sourceType: 'script', locations: true }),
        iterations,
      ),
    );
    const packClassMs = median(await timeRuns(() => pack(cls as never, base), iterations));
    const fileRatio = packFileMs / parseModuleMs;
    const classRatio = packClassMs / parseClassMs;
    return {
      suite: 'pack',
      rows: [
        { name: 'acorn parse, 1,000-line module', medianMs: parseModuleMs },
        { name: 'pack file, 1,000-line module, 10 helpers', medianMs: packFileMs },
        { name: 'acorn parse, 1,000-line class', medianMs: parseClassMs },
        { name: 'pack class object, 1,000 lines', medianMs: packClassMs },
      ],
      ratios: [
        { name: 'pack file / acorn parse', value: fileRatio, target: '<= 3', ok: fileRatio <= 3 },
        { name: 'pack class / acorn parse', value: classRatio, target: '<= 3', ok: classRatio <= 3 },
      ],
      notes: [
        'pack includes reading the file, scope analysis, bundling, hashing and the closed-schema check',
      ],
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  console.log(JSON.stringify(await bench({ quick: process.argv.includes('--quick') }), null, 2));
}
