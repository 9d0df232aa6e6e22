/**
 * Smoke run of every comparison workload with tiny sizes (part of `npm test`): each engine loads,
 * calls, computes and reports sane numbers, the engines agree on the results, and the runner's
 * table, discovery and chart work. The real figures come from `npm run bench`, never from here.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { runComparison, toReport } from '../../bench/compare.ts';
import type { Comparison } from '../../bench/compare.ts';
import { discoverSuites, formatMarkdown, formatTable, machineInfo } from '../../bench/run.ts';
import { renderSvg } from '../../bench/svg.ts';
import { ECHO_ARGUMENT } from '../../bench/workloads/echo.ts';
import { coldComponentSource } from '../../bench/workloads/cold-component.ts';
import { generateCorpus } from '../../bench/workloads/corpus.ts';

const PEERS = ['ivm-raw', 'node-vm', 'quickjs', 'ses'] as const;
const EXPECTED = ['sealbox', ...PEERS] as const;

let comparison: Comparison;

beforeAll(async () => {
  comparison = await runComparison({ quick: true, engines: EXPECTED });
}, 60_000);

function positive(value: number): boolean {
  return Number.isFinite(value) && value > 0;
}

describe('when the workloads are generated', () => {
  it('produces a corpus of the requested size, the same bytes every time', () => {
    const corpus = generateCorpus(50_000);
    expect(corpus.length).toBeGreaterThanOrEqual(50_000);
    expect(corpus.length).toBeLessThan(52_000);
    expect(generateCorpus(50_000)).toBe(corpus);
  });

  it('produces a cold-load component of about the requested line count', () => {
    const lines = coldComponentSource(200).split('\n').length;
    expect(lines).toBeGreaterThan(180);
    expect(lines).toBeLessThanOrEqual(201);
  });
});

describe('when the comparison runs with tiny sizes', () => {
  it('measures the timing workloads on every engine', () => {
    expect(comparison.notes).toEqual([]);
    expect(comparison.timing.map((f) => f.engine).sort()).toEqual([...EXPECTED].sort());
    for (const f of comparison.timing) {
      for (const figure of [
        f.coldMs,
        f.coldLargeMs,
        f.warmSeqOps,
        f.warmSeqMedianMs,
        f.pipelinedOps,
        f.computeMs,
      ]) {
        expect(positive(figure), `${f.engine}: ${figure}`).toBe(true);
      }
    }
  });

  it('gets the same BM25 ranking from every engine', () => {
    const first = comparison.timing[0]!.computeResult;
    expect(Array.isArray(first) && first.length > 0).toBe(true);
    for (const f of comparison.timing) expect(f.computeResult, f.engine).toEqual(first);
  });

  it('echoes the argument unchanged through every engine', () => {
    for (const f of comparison.timing) expect(f.echoResult, f.engine).toEqual(ECHO_ARGUMENT);
  });

  it('measures resident memory of every engine in its own child process', () => {
    expect(comparison.memory.map((m) => m.engine).sort()).toEqual([...EXPECTED].sort());
    for (const m of comparison.memory) {
      expect(m.count).toBe(4);
      expect(positive(m.baselineMb) && positive(m.loadedMb), m.engine).toBe(true);
      expect(Number.isFinite(m.perComponentMb)).toBe(true);
    }
  });

  it('reports the floor: a raw Ed25519 verify time', () => {
    expect(positive(comparison.rawVerifyMs)).toBe(true);
  });

  it('reports sealbox warm load and the time of each cold-load stage', () => {
    const extras = comparison.sealbox!;
    expect(positive(extras.warmLoadMs)).toBe(true);
    for (const stage of [extras.stages.verify, extras.stages.policy, extras.stages.sandbox]) {
      expect(Number.isFinite(stage) && stage >= 0).toBe(true);
    }
  });
});

describe('when the comparison is turned into a report and a chart', () => {
  it('names rows workload/engine and computes finite ratios', () => {
    const report = toReport(comparison);
    expect(report.suite).toBe('compare');
    for (const engine of EXPECTED)
      expect(report.rows.some((row) => row.name === `compute-bm25/${engine}`)).toBe(true);
    for (const ratio of report.ratios) expect(Number.isFinite(ratio.value), ratio.name).toBe(true);
    const table = formatTable([report]);
    expect(table).toContain('warm-call/ivm-raw');
  });

  it('writes a Markdown table with one column per engine', () => {
    const markdown = formatMarkdown({
      date: '2026-01-01T00:00:00Z',
      quick: true,
      machine: machineInfo(),
      reports: [toReport(comparison)],
      failures: [],
    });
    expect(markdown).toContain(`| workload | unit | ${EXPECTED.join(' | ')} |`);
    expect(markdown).toMatch(/\| compute-bm25 \| median ms \|/);
  });

  it('draws one bar per engine and escapes text', () => {
    const svg = renderSvg([toReport(comparison)], 'a <b> & c');
    expect(svg.startsWith('<svg')).toBe(true);
    expect(svg).toContain('a &lt;b&gt; &amp; c');
    expect(svg.match(/<rect x=/g)?.length).toBe(EXPECTED.length * 5);
  });
});

describe('when the runner discovers suites', () => {
  it('finds every bench module except the helpers, the comparison last', () => {
    const suites = discoverSuites();
    expect(suites).not.toContain('harness.ts');
    expect(suites).not.toContain('run.ts');
    expect(suites).not.toContain('svg.ts');
    expect(suites.at(-1)).toBe('compare.ts');
  });
});
