/**
 * Renders the comparison as a plain SVG chart (no dependency): one panel per workload with a
 * horizontal bar per engine and its figure, then a panel of the target ratios (bar = measured
 * value against the target line). Written as text so docs/performance.svg diffs readably.
 */
import type { BenchReport, BenchRow } from './harness.ts';

const WIDTH = 900;
const LABEL = 150;
const VALUE = 130;
const BAR_HEIGHT = 18;
const GAP = 6;
const COLORS: Readonly<Record<string, string>> = {
  sealbox: '#2f6fdf',
  'ivm-raw': '#6b7280',
  'node-vm': '#b0b7c3',
  quickjs: '#e08a2c',
  ses: '#3fa66b',
};

interface Panel {
  readonly workload: string;
  readonly title: string;
  readonly pick: (row: BenchRow) => number | undefined;
  readonly unit: string;
}

function escapeXml(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

function format(value: number): string {
  if (value >= 1000) return Math.round(value).toLocaleString('en-US');
  if (value >= 10) return value.toFixed(1);
  if (value >= 0.1) return value.toFixed(2);
  return value.toFixed(4);
}

/**
 * Renders the chart from the `compare` report (other reports are ignored).
 * @returns the SVG document text
 */
export function renderSvg(reports: readonly BenchReport[], subtitle: string): string {
  const compare = reports.find((report) => report.suite === 'compare');
  const rows = compare?.rows ?? [];
  const coldName = rows
    .find((row) => row.name.startsWith('cold-') && row.name.includes('/'))
    ?.name.split('/')[0];
  const panels: Panel[] = [
    {
      workload: coldName ?? 'cold-200',
      title: 'Cold load to first result (ms, lower is better)',
      pick: (row) => row.medianMs,
      unit: 'ms',
    },
    {
      workload: 'warm-call',
      title: 'Warm call, sequential awaited (calls/s, higher is better)',
      pick: (row) => row.opsPerSec,
      unit: '/s',
    },
    {
      workload: 'pipelined',
      title: 'Warm calls, pipelined (calls/s, higher is better)',
      pick: (row) => row.opsPerSec,
      unit: '/s',
    },
    {
      workload: 'compute-bm25',
      title: 'Compute: BM25 over the corpus, one call (ms, lower is better)',
      pick: (row) => row.medianMs,
      unit: 'ms',
    },
    {
      workload: 'memory',
      title: 'Resident memory per loaded component (MB, lower is better)',
      pick: (row) => row.value,
      unit: 'MB',
    },
  ];
  const parts: string[] = [];
  let y = 72;
  for (const panel of panels) {
    const bars = rows
      .filter((row) => row.name.split('/')[0] === panel.workload)
      .map((row) => ({ engine: row.name.split('/')[1] ?? row.name, value: panel.pick(row) }))
      .filter(
        (bar): bar is { engine: string; value: number } =>
          bar.value !== undefined && Number.isFinite(bar.value),
      );
    if (bars.length === 0) continue;
    parts.push(`<text x="16" y="${y}" class="title">${escapeXml(panel.title)}</text>`);
    y += 10;
    const max = Math.max(...bars.map((bar) => Math.max(0, bar.value)), 1e-9);
    for (const bar of bars) {
      const width = Math.max(1, (Math.max(0, bar.value) / max) * (WIDTH - LABEL - VALUE - 32));
      const color = COLORS[bar.engine] ?? '#888888';
      parts.push(
        `<text x="${LABEL}" y="${y + 13}" class="label" text-anchor="end">${escapeXml(bar.engine)}</text>`,
        `<rect x="${LABEL + 8}" y="${y}" width="${width.toFixed(1)}" height="${BAR_HEIGHT}" fill="${color}" rx="2"/>`,
        `<text x="${(LABEL + 14 + width).toFixed(1)}" y="${y + 13}" class="value">${escapeXml(`${format(bar.value)} ${panel.unit}`)}</text>`,
      );
      y += BAR_HEIGHT + GAP;
    }
    y += 22;
  }
  // Every suite's targets, so the chart answers "which targets hold" at a glance.
  const ratios = reports.flatMap((report) =>
    report.ratios.map((ratio) => ({ ...ratio, name: `${report.suite}: ${ratio.name}` })),
  );
  if (ratios.length > 0) {
    parts.push(`<text x="16" y="${y}" class="title">Targets (ratios measured in the same run)</text>`);
    y += 10;
    for (const ratio of ratios) {
      const color = ratio.ok ? '#3fa66b' : '#d64545';
      parts.push(
        `<circle cx="26" cy="${y + 9}" r="6" fill="${color}"/>`,
        `<text x="40" y="${y + 13}" class="label">${escapeXml(`${ratio.name}: ${format(ratio.value)} (target ${ratio.target}) ${ratio.ok ? 'met' : 'missed'}`)}</text>`,
      );
      y += BAR_HEIGHT + GAP;
    }
    y += 10;
  }
  const height = y + 10;
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${WIDTH}" height="${height}" viewBox="0 0 ${WIDTH} ${height}" role="img" aria-label="sealbox benchmark against isolated-vm, node:vm, quickjs-emscripten and SES">`,
    '<style>text{font-family:system-ui,-apple-system,Segoe UI,Helvetica,Arial,sans-serif;font-size:13px;fill:#222}.title{font-weight:600;font-size:14px}.head{font-weight:700;font-size:18px}.sub{fill:#555;font-size:12px}.value{fill:#333}</style>',
    `<rect width="${WIDTH}" height="${height}" fill="#ffffff"/>`,
    '<text x="16" y="24" class="head">sealbox vs the alternatives</text>',
    `<text x="16" y="40" class="sub">${escapeXml(subtitle)}</text>`,
    ...parts,
    '</svg>',
    '',
  ].join('\n');
}
