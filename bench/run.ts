/**
 * `npm run bench`: discovers every suite (each bench/*.ts except harness, run, svg and machine
 * helpers exporting `bench(options)`), runs them one after another in this process (the
 * comparison suite last, it spawns its own children), prints one table, writes the JSON results
 * and regenerates docs/performance.svg.
 *
 *   npm run bench                   full run: bench/results/latest.json + latest.md, a dated copy, the chart
 *   npm run bench -- --quick        tiny sizes (smoke); writes bench/results/partial-latest.json only
 *   npm run bench -- --only compare one suite (file name without .ts); partial-latest.json only
 */
import { readFileSync, readdirSync, mkdirSync, writeFileSync } from 'node:fs';
import { availableParallelism, totalmem } from 'node:os';
import { fileURLToPath } from 'node:url';
import type { BenchOptions, BenchReport, BenchRow } from './harness.ts';
import { renderSvg } from './svg.ts';
import { DEADLINE_MS as OVERLOAD_DEADLINE_MS } from './overload.ts';
import { renderOverloadSvg } from './svg-overload.ts';

const BENCH_DIR = fileURLToPath(new URL('.', import.meta.url));
const RESULTS_DIR = fileURLToPath(new URL('./results/', import.meta.url));
const SVG_PATH = fileURLToPath(new URL('../docs/performance.svg', import.meta.url));
const OVERLOAD_SVG_PATH = fileURLToPath(new URL('../docs/overload.svg', import.meta.url));
const NOT_SUITES = new Set(['harness.ts', 'run.ts', 'svg.ts', 'svg-overload.ts']);

/** The machine a run happened on (docs/performance.md quotes it). */
export interface MachineInfo {
  readonly nproc: number;
  readonly cpu: string;
  readonly memoryGb: number;
  readonly node: string;
  readonly platform: string;
}

/** Everything one `npm run bench` wrote. */
export interface BenchResults {
  readonly date: string;
  readonly quick: boolean;
  readonly only?: string;
  readonly machine: MachineInfo;
  readonly reports: readonly BenchReport[];
  /** suites that threw or were missing, with the reason */
  readonly failures: readonly { readonly suite: string; readonly error: string }[];
}

/** Reads nproc, CPU model, memory and Node version. */
export function machineInfo(): MachineInfo {
  let cpu = 'unknown';
  try {
    cpu = /^model name\s*:\s*(.+)$/m.exec(readFileSync('/proc/cpuinfo', 'utf8'))?.[1]?.trim() ?? cpu;
  } catch {
    // not Linux: the model stays unknown
  }
  return {
    nproc: availableParallelism(),
    cpu,
    memoryGb: Math.round((totalmem() / 1024 ** 3) * 10) / 10,
    node: process.version,
    platform: `${process.platform}-${process.arch}`,
  };
}

/** Suite file names in run order: alphabetical, the comparison last. */
export function discoverSuites(dir = BENCH_DIR): string[] {
  const files = readdirSync(dir).filter((file) => file.endsWith('.ts') && !NOT_SUITES.has(file));
  return files.sort((a, b) => (a === 'compare.ts' ? 1 : b === 'compare.ts' ? -1 : a.localeCompare(b)));
}

function pad(text: string, width: number): string {
  return text.length >= width ? text : text + ' '.repeat(width - text.length);
}

function num(value: number | undefined, digits = 3): string {
  if (value === undefined || !Number.isFinite(value)) return '';
  if (Math.abs(value) >= 1000) return Math.round(value).toLocaleString('en-US');
  return value.toFixed(digits);
}

/** Formats reports as the plain-text table printed on stdout. */
export function formatTable(reports: readonly BenchReport[]): string {
  const lines: string[] = [];
  for (const report of reports) {
    lines.push('', `== ${report.suite}`);
    lines.push(`${pad('name', 44)} ${pad('ops/s', 12)} ${pad('median ms', 12)} value`);
    for (const row of report.rows) {
      const value = row.value === undefined ? '' : `${num(row.value)} ${row.unit ?? ''}`;
      lines.push(
        `${pad(row.name, 44)} ${pad(num(row.opsPerSec, 1), 12)} ${pad(num(row.medianMs, 4), 12)} ${value}`,
      );
    }
    for (const ratio of report.ratios) {
      lines.push(
        `  ratio ${pad(ratio.name, 58)} ${pad(num(ratio.value), 10)} target ${pad(ratio.target, 8)} ${ratio.ok ? 'ok' : 'MISSED'}`,
      );
    }
    for (const note of report.notes ?? []) lines.push(`  note: ${note}`);
  }
  return lines.join('\n');
}

const ENGINES = ['sealbox', 'ivm-raw', 'node-vm', 'quickjs', 'ses'];

function cell(row: BenchRow | undefined, pick: (row: BenchRow) => number | undefined, scale = 1): string {
  const value = row === undefined ? undefined : pick(row);
  return value === undefined || !Number.isFinite(value)
    ? '–'
    : num(value * scale, value * scale >= 10 ? 1 : 3);
}

/**
 * Formats a run as Markdown: the comparison as one table (workloads × engines), its ratios, then
 * every other suite's rows and ratios. Full runs write it to bench/results/latest.md for the docs.
 */
export function formatMarkdown(results: BenchResults): string {
  const out: string[] = [];
  const m = results.machine;
  out.push(
    `Run ${results.date} on ${m.cpu} × ${m.nproc}, ${m.memoryGb} GB, Node ${m.node} (${m.platform}).`,
    '',
  );
  const compare = results.reports.find((report) => report.suite === 'compare');
  if (compare) {
    const rows = new Map(compare.rows.map((row) => [row.name, row]));
    const workloads = [
      ...new Set(compare.rows.filter((row) => row.name.includes('/')).map((row) => row.name.split('/')[0]!)),
    ];
    const engines = ENGINES.filter((engine) => compare.rows.some((row) => row.name.endsWith(`/${engine}`)));
    const lines: [string, string, (row: BenchRow) => number | undefined, number][] = [];
    for (const workload of workloads) {
      if (!engines.some((engine) => rows.has(`${workload}/${engine}`))) continue;
      if (workload === 'warm-call') {
        lines.push(['warm-call', 'calls/s', (row) => row.opsPerSec, 1]);
        lines.push(['warm-call', 'median µs', (row) => row.medianMs, 1000]);
      } else if (workload === 'pipelined') lines.push([workload, 'calls/s', (row) => row.opsPerSec, 1]);
      else if (workload === 'memory' || workload.startsWith('memory-'))
        lines.push([workload, 'MB/component', (row) => row.value, 1]);
      else lines.push([workload, 'median ms', (row) => row.medianMs, 1]);
    }
    out.push(
      `| workload | unit | ${engines.join(' | ')} |`,
      `|---|---|${engines.map(() => '---:').join('|')}|`,
    );
    for (const [workload, unit, pick, scale] of lines) {
      out.push(
        `| ${workload} | ${unit} | ${engines.map((engine) => cell(rows.get(`${workload}/${engine}`), pick, scale)).join(' | ')} |`,
      );
    }
    const single = compare.rows.filter((row) => !engines.some((engine) => row.name.endsWith(`/${engine}`)));
    for (const row of single) {
      const unit = row.medianMs !== undefined ? 'median ms' : (row.unit ?? '');
      const rest = engines
        .slice(1)
        .map(() => ' |')
        .join('');
      out.push(`| ${row.name} | ${unit} | ${cell(row, (r) => r.medianMs ?? r.value)} |${rest}`);
    }
    out.push('');
  }
  const ratios = results.reports.flatMap((report) =>
    report.ratios.map((ratio) => ({ suite: report.suite, ...ratio })),
  );
  if (ratios.length > 0) {
    out.push('| suite | ratio | measured | target | |', '|---|---|---:|---|---|');
    for (const ratio of ratios)
      out.push(
        `| ${ratio.suite} | ${ratio.name} | ${num(ratio.value)} | ${ratio.target} | ${ratio.ok ? 'met' : '**missed**'} |`,
      );
    out.push('');
  }
  for (const report of results.reports.filter((r) => r.suite !== 'compare')) {
    out.push(`**${report.suite}**`, '', '| row | ops/s | median ms | value |', '|---|---:|---:|---|');
    for (const row of report.rows) {
      out.push(
        `| ${row.name} | ${num(row.opsPerSec, 1)} | ${num(row.medianMs, 4)} | ${row.value === undefined ? '' : `${num(row.value)} ${row.unit ?? ''}`} |`,
      );
    }
    out.push('');
  }
  for (const failure of results.failures) out.push(`Suite ${failure.suite} failed: ${failure.error}`, '');
  return out.join('\n');
}

function parseArgs(argv: readonly string[]): { quick: boolean; only?: string } {
  const quick = argv.includes('--quick');
  const index = argv.indexOf('--only');
  if (index === -1) return { quick };
  const only = argv[index + 1];
  if (only === undefined || only.startsWith('--'))
    throw new Error('--only needs a suite name (e.g. --only compare)');
  return { quick, only: only.replace(/\.ts$/, '') };
}

/** Runs the suites and returns what it measured; writes nothing. */
export async function runSuites(
  suites: readonly string[],
  options: BenchOptions,
  log: (line: string) => void = () => {},
): Promise<{ reports: BenchReport[]; failures: { suite: string; error: string }[] }> {
  const reports: BenchReport[] = [];
  const failures: { suite: string; error: string }[] = [];
  for (const file of suites) {
    const suite = file.replace(/\.ts$/, '');
    const started = performance.now();
    try {
      const module = (await import(new URL(`./${file}`, import.meta.url).href)) as {
        bench?: (options: BenchOptions) => Promise<BenchReport>;
      };
      if (typeof module.bench !== 'function') throw new Error(`${file} does not export bench(options)`);
      reports.push(await module.bench(options));
      log(`ran ${suite} in ${((performance.now() - started) / 1000).toFixed(1)} s`);
    } catch (error) {
      const message = error instanceof Error ? error.message.split('\n')[0]! : String(error);
      failures.push({ suite, error: message.slice(0, 500) });
      log(`suite ${suite} failed: ${message}`);
    }
  }
  return { reports, failures };
}

async function main(argv: readonly string[]): Promise<number> {
  const { quick, only } = parseArgs(argv);
  const all = discoverSuites();
  const suites = only === undefined ? all : all.filter((file) => file === `${only}.ts`);
  if (suites.length === 0) throw new Error(`no suite named ${only}; suites: ${all.join(', ')}`);
  const machine = machineInfo();
  const log = (line: string) => process.stderr.write(`${line}\n`);
  log(
    `sealbox bench: ${suites.join(', ')} on ${machine.cpu} x${machine.nproc}, Node ${machine.node}${quick ? ' (quick)' : ''}`,
  );
  const { reports, failures } = await runSuites(suites, { quick }, log);
  const date = new Date().toISOString();
  const results: BenchResults = {
    date,
    quick,
    ...(only !== undefined ? { only } : {}),
    machine,
    reports,
    failures,
  };
  process.stdout.write(`${formatTable(reports)}\n`);
  for (const failure of failures) process.stdout.write(`\nFAILED ${failure.suite}: ${failure.error}\n`);

  mkdirSync(RESULTS_DIR, { recursive: true });
  const overload = reports.find((r) => r.suite === 'overload');
  if (overload !== undefined && !quick) {
    // Its own chart, also from `--only overload`: it is the figure docs/performance.md shows for it.
    writeFileSync(
      OVERLOAD_SVG_PATH,
      renderOverloadSvg(
        overload,
        OVERLOAD_DEADLINE_MS,
        `${date.slice(0, 16)} · ${machine.cpu} x${machine.nproc} · Node ${machine.node}`,
      ),
    );
    log('wrote docs/overload.svg');
  }
  const json = `${JSON.stringify(results, null, 2)}\n`;
  if (quick || only !== undefined) {
    writeFileSync(`${RESULTS_DIR}partial-latest.json`, json);
    log('partial run: wrote bench/results/partial-latest.json (latest.json and the chart are left alone)');
  } else {
    writeFileSync(`${RESULTS_DIR}latest.json`, json);
    writeFileSync(`${RESULTS_DIR}latest.md`, `${formatMarkdown(results)}\n`);
    writeFileSync(`${RESULTS_DIR}${date.replace(/[:.]/g, '-')}.json`, json);
    writeFileSync(
      SVG_PATH,
      renderSvg(reports, `${date.slice(0, 10)} · ${machine.cpu} x${machine.nproc} · Node ${machine.node}`),
    );
    log('wrote bench/results/latest.json (+ latest.md, a dated copy) and docs/performance.svg');
  }
  return failures.length === 0 ? 0 : 1;
}

if (import.meta.url === `file://${process.argv[1]}` || process.argv[1]?.endsWith('bench/run.ts')) {
  main(process.argv.slice(2)).then(
    (code) => process.exit(code),
    (error: unknown) => {
      process.stderr.write(`bench failed: ${error instanceof Error ? error.message : String(error)}\n`);
      process.exit(2);
    },
  );
}
