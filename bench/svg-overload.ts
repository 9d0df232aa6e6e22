/**
 * Renders the overload suite (bench/overload.ts) as a plain SVG chart, no dependency: goodput and
 * the p99 of successful calls against offered load, one line per tenant count, offered load on a
 * log2 axis. Where goodput leaves the diagonal is where the node saturates; past it the line should
 * stay flat (goodput holds) and the p99 should stay under the deadline line.
 */
import type { BenchReport } from './harness.ts';

const PANEL_W = 420;
const PANEL_H = 260;
const MARGIN = { left: 64, right: 16, top: 40, bottom: 44 };
const COLORS = ['#2f6fdf', '#e08a2c', '#3fa66b', '#8b5cf6'];

export interface OverloadPoint {
  readonly tenants: number;
  readonly offered: number;
  readonly goodput: number;
  readonly p99: number;
}

const LABEL = /^(\d+) tenants?, offered (\d+)\/s: (goodput|p99 of successful calls)$/;

/** The points of an overload report, read back from its row names. */
export function overloadPoints(report: BenchReport): OverloadPoint[] {
  const byKey = new Map<string, { tenants: number; offered: number; goodput?: number; p99?: number }>();
  for (const row of report.rows) {
    const match = LABEL.exec(row.name);
    if (match === null) continue;
    const tenants = Number(match[1]);
    const offered = Number(match[2]);
    const key = `${tenants}/${offered}`;
    const point = byKey.get(key) ?? { tenants, offered };
    if (match[3] === 'goodput') point.goodput = row.opsPerSec ?? Number.NaN;
    else point.p99 = row.value ?? Number.NaN;
    byKey.set(key, point);
  }
  const points: OverloadPoint[] = [];
  for (const p of byKey.values()) {
    if (p.goodput !== undefined && p.p99 !== undefined) points.push(p as OverloadPoint);
  }
  return points.sort((a, b) => a.tenants - b.tenants || a.offered - b.offered);
}

function niceMax(value: number): number {
  if (!(value > 0)) return 1;
  const step = 10 ** Math.floor(Math.log10(value));
  return Math.ceil(value / step) * step;
}

interface PanelSpec {
  readonly title: string;
  readonly unit: string;
  readonly y: (p: OverloadPoint) => number;
  /** a horizontal reference line (the deadline), or the diagonal y = offered when 'diagonal' */
  readonly reference: { readonly value: number; readonly label: string } | 'diagonal';
}

function panel(points: readonly OverloadPoint[], spec: PanelSpec, x0: number): string {
  const offered = [...new Set(points.map((p) => p.offered))].sort((a, b) => a - b);
  const lo = Math.log2(offered[0] ?? 1);
  const hi = Math.log2(offered[offered.length - 1] ?? 2);
  const yMax = niceMax(
    Math.max(...points.map(spec.y), spec.reference === 'diagonal' ? 0 : spec.reference.value),
  );
  const w = PANEL_W - MARGIN.left - MARGIN.right;
  const h = PANEL_H - MARGIN.top - MARGIN.bottom;
  const sx = (v: number) => x0 + MARGIN.left + (hi === lo ? 0 : ((Math.log2(v) - lo) / (hi - lo)) * w);
  const sy = (v: number) => MARGIN.top + h - (Math.min(v, yMax) / yMax) * h;
  const out: string[] = [];
  out.push(`<text x="${x0 + MARGIN.left}" y="22" font-weight="bold">${spec.title}</text>`);
  out.push(
    `<rect x="${x0 + MARGIN.left}" y="${MARGIN.top}" width="${w}" height="${h}" fill="none" stroke="#ccc"/>`,
  );
  for (let i = 0; i <= 4; i++) {
    const v = (yMax * i) / 4;
    out.push(
      `<text x="${x0 + MARGIN.left - 6}" y="${sy(v) + 4}" text-anchor="end" font-size="11">${Math.round(v)}</text>`,
    );
  }
  for (const v of offered) {
    out.push(`<text x="${sx(v)}" y="${MARGIN.top + h + 16}" text-anchor="middle" font-size="11">${v}</text>`);
  }
  out.push(
    `<text x="${x0 + MARGIN.left + w / 2}" y="${PANEL_H - 8}" text-anchor="middle" font-size="11">offered calls/s (log scale); y: ${spec.unit}</text>`,
  );
  if (spec.reference === 'diagonal') {
    const path = offered.map((v, i) => `${i === 0 ? 'M' : 'L'}${sx(v)},${sy(v)}`).join(' ');
    out.push(`<path d="${path}" fill="none" stroke="#999" stroke-dasharray="4 3"/>`);
  } else {
    const y = sy(spec.reference.value);
    out.push(
      `<line x1="${x0 + MARGIN.left}" y1="${y}" x2="${x0 + MARGIN.left + w}" y2="${y}" stroke="#c0392b" stroke-dasharray="4 3"/>`,
    );
    out.push(
      `<text x="${x0 + MARGIN.left + w - 4}" y="${y - 4}" text-anchor="end" font-size="11" fill="#c0392b">${spec.reference.label}</text>`,
    );
  }
  const counts = [...new Set(points.map((p) => p.tenants))];
  counts.forEach((tenants, i) => {
    const line = points.filter((p) => p.tenants === tenants);
    const color = COLORS[i % COLORS.length]!;
    const path = line.map((p, k) => `${k === 0 ? 'M' : 'L'}${sx(p.offered)},${sy(spec.y(p))}`).join(' ');
    out.push(`<path d="${path}" fill="none" stroke="${color}" stroke-width="2"/>`);
    for (const p of line)
      out.push(`<circle cx="${sx(p.offered)}" cy="${sy(spec.y(p))}" r="3" fill="${color}"/>`);
    out.push(
      `<text x="${x0 + MARGIN.left + 8}" y="${MARGIN.top + 16 + 14 * i}" font-size="11" fill="${color}">${tenants} tenant${tenants === 1 ? '' : 's'}</text>`,
    );
  });
  return out.join('\n');
}

/** The chart for one overload report; `deadlineMs` draws the p99 bound. */
export function renderOverloadSvg(report: BenchReport, deadlineMs: number, caption: string): string {
  const points = overloadPoints(report);
  const width = PANEL_W * 2;
  const height = PANEL_H + 24;
  const body = [
    panel(
      points,
      { title: 'goodput (successful calls/s)', unit: 'calls/s', y: (p) => p.goodput, reference: 'diagonal' },
      0,
    ),
    panel(
      points,
      {
        title: 'p99 latency of successful calls',
        unit: 'ms',
        y: (p) => p.p99,
        reference: { value: deadlineMs, label: `deadline ${deadlineMs} ms` },
      },
      PANEL_W,
    ),
    `<text x="${MARGIN.left}" y="${PANEL_H + 16}" font-size="11" fill="#555">${caption.replace(/[<>&"]/g, '')}</text>`,
  ].join('\n');
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" font-family="sans-serif" font-size="12">\n<rect width="100%" height="100%" fill="white"/>\n${body}\n</svg>\n`;
}
