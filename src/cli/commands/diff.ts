/**
 * `sealbox diff OLD NEW`: what changed between two versions of a component, so a reviewer sees a
 * permission escalation (capabilities added to `requires`) before approving it.
 */
import { decodeEnvelope } from '../../envelope/envelope.ts';
import { parseStatement, statementDigest } from '../../envelope/statement.ts';
import type { JsonValue, Statement } from '../../envelope/types.ts';
import { flag } from '../args.ts';
import type { CliIO, Command } from '../context.ts';
import { readFileBounded } from '../files.ts';
import { printJson, terminalSafe } from '../output.ts';
import { diffPackages, packageDiffLines } from './diff-packages.ts';

const usage = `Usage: sealbox diff OLD NEW [--json]

Compares two component envelopes: identity and version, the source (unified diff), params,
artifacts (by hash), packages (added, removed, changed: from the SBOMs), and, loudly, capabilities
added to or removed from requires and packages that changed while the code started using new globals.
Signatures are NOT verified (use sealbox verify); both statements must decode.

Exit codes: 0 compared (whether or not anything changed), 2 usage, 3 malformed envelope.`;

// C0 (except tab and newline), DEL and C1 controls.
// eslint-disable-next-line no-control-regex
const CONTROL = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f]/g;

/** One line-level edit of a unified diff. */
type Edit = { readonly op: ' ' | '-' | '+'; readonly line: string };

const MAX_EDIT_DISTANCE = 4000;

/** Myers' O((N+M)D) line diff; past MAX_EDIT_DISTANCE, everything old is removed and new added. */
export function diffLines(a: readonly string[], b: readonly string[]): Edit[] {
  const n = a.length;
  const m = b.length;
  const max = Math.min(n + m, MAX_EDIT_DISTANCE);
  const offset = max + 1;
  let v = new Int32Array(2 * max + 3);
  const trace: Int32Array[] = [];
  let found = -1;
  for (let d = 0; d <= max && found < 0; d++) {
    trace.push(v.slice());
    const next = v.slice();
    for (let k = -d; k <= d; k += 2) {
      let x =
        k === -d || (k !== d && (v[offset + k - 1] as number) < (v[offset + k + 1] as number))
          ? (v[offset + k + 1] as number)
          : (v[offset + k - 1] as number) + 1;
      let y = x - k;
      while (x < n && y < m && a[x] === b[y]) {
        x++;
        y++;
      }
      next[offset + k] = x;
      if (x >= n && y >= m) {
        found = d;
        break;
      }
    }
    v = next;
  }
  if (found < 0)
    return [...a.map((line): Edit => ({ op: '-', line })), ...b.map((line): Edit => ({ op: '+', line }))];
  // Backtrack through the saved frontiers.
  const edits: Edit[] = [];
  let x = n;
  let y = m;
  for (let d = found; d > 0; d--) {
    const prev = trace[d] as Int32Array;
    const k = x - y;
    const down = k === -d || (k !== d && (prev[offset + k - 1] as number) < (prev[offset + k + 1] as number));
    const prevK = down ? k + 1 : k - 1;
    const prevX = prev[offset + prevK] as number;
    const prevY = prevX - prevK;
    while (x > prevX && y > prevY) {
      edits.push({ op: ' ', line: a[--x] as string });
      y--;
    }
    if (down) edits.push({ op: '+', line: b[--y] as string });
    else edits.push({ op: '-', line: a[--x] as string });
  }
  while (x > 0 && y > 0) {
    edits.push({ op: ' ', line: a[--x] as string });
    y--;
  }
  return edits.reverse();
}

/** A unified diff with 3 lines of context. */
export function unifiedDiff(oldText: string, newText: string, oldName: string, newName: string): string {
  const a = oldText.split('\n');
  const b = newText.split('\n');
  const edits = diffLines(a, b);
  if (edits.every((e) => e.op === ' ')) return '';
  const out = [`--- ${oldName}`, `+++ ${newName}`];
  const context = 3;
  let i = 0;
  let oldLine = 1;
  let newLine = 1;
  const positions = edits.map((e) => {
    const p = { old: oldLine, new: newLine };
    if (e.op !== '+') oldLine++;
    if (e.op !== '-') newLine++;
    return p;
  });
  while (i < edits.length) {
    if ((edits[i] as Edit).op === ' ') {
      i++;
      continue;
    }
    const start = Math.max(0, i - context);
    let end = i;
    let lastChange = i;
    while (end < edits.length && end - lastChange <= context * 2) {
      if ((edits[end] as Edit).op !== ' ') lastChange = end;
      end++;
    }
    end = Math.min(edits.length, lastChange + context + 1);
    const hunk = edits.slice(start, end);
    const p = positions[start] as { old: number; new: number };
    const oldCount = hunk.filter((e) => e.op !== '+').length;
    const newCount = hunk.filter((e) => e.op !== '-').length;
    out.push(`@@ -${p.old},${oldCount} +${p.new},${newCount} @@`);
    for (const e of hunk) out.push(`${e.op}${e.line}`);
    i = end;
  }
  return `${out.join('\n')}\n`;
}

interface ParamChange {
  readonly path: string;
  readonly old?: string;
  readonly new?: string;
}

function short(value: JsonValue): string {
  const text = JSON.stringify(value);
  return text.length > 120 ? `${text.slice(0, 119)}…` : text;
}

/** Leaf-level differences between two JSON values (iterative). */
export function diffJson(oldValue: JsonValue, newValue: JsonValue, root = 'params'): ParamChange[] {
  const changes: ParamChange[] = [];
  const stack: { a: JsonValue | undefined; b: JsonValue | undefined; path: string }[] = [
    { a: oldValue, b: newValue, path: root },
  ];
  const isObject = (v: unknown): v is Record<string, JsonValue> =>
    typeof v === 'object' && v !== null && !Array.isArray(v);
  while (stack.length > 0 && changes.length < 1000) {
    const { a, b, path } = stack.pop() as {
      a: JsonValue | undefined;
      b: JsonValue | undefined;
      path: string;
    };
    if (isObject(a) && isObject(b)) {
      const keys = [...new Set([...Object.keys(a), ...Object.keys(b)])].sort().reverse();
      for (const key of keys) {
        const sub = /^[A-Za-z_$][\w$]*$/.test(key) ? `${path}.${key}` : `${path}[${JSON.stringify(key)}]`;
        stack.push({
          a: Object.prototype.hasOwnProperty.call(a, key) ? a[key] : undefined,
          b: Object.prototype.hasOwnProperty.call(b, key) ? b[key] : undefined,
          path: sub,
        });
      }
    } else if (Array.isArray(a) && Array.isArray(b)) {
      for (let i = Math.max(a.length, b.length) - 1; i >= 0; i--)
        stack.push({ a: a[i], b: b[i], path: `${path}[${i}]` });
    } else if (JSON.stringify(a) !== JSON.stringify(b)) {
      changes.push({
        path,
        ...(a === undefined ? {} : { old: short(a) }),
        ...(b === undefined ? {} : { new: short(b) }),
      });
    }
  }
  return changes;
}

function readStatement(io: CliIO, path: string): { statement: Statement; digest: string } {
  const decoded = decodeEnvelope(readFileBounded(io.cwd, path));
  return { statement: parseStatement(decoded.payload), digest: statementDigest(decoded.payload) };
}

export const diffCommand: Command = {
  name: 'diff',
  summary: 'show what changed between two component envelopes (source, params, artifacts, requires)',
  usage,
  options: {},
  positionals: { min: 2, max: 2 },
  async run(args, io) {
    const [oldPath, newPath] = args.positionals as [string, string];
    const before = readStatement(io, oldPath);
    const after = readStatement(io, newPath);
    const a = before.statement;
    const b = after.statement;
    const added = b.requires.filter((c) => !a.requires.includes(c));
    const removed = a.requires.filter((c) => !b.requires.includes(c));
    const artifactNames = [...new Set([...Object.keys(a.artifacts), ...Object.keys(b.artifacts)])].sort();
    const artifacts = {
      added: artifactNames.filter((n) => !(n in a.artifacts)),
      removed: artifactNames.filter((n) => !(n in b.artifacts)),
      changed: artifactNames.filter(
        (n) => n in a.artifacts && n in b.artifacts && a.artifacts[n]?.sha256 !== b.artifacts[n]?.sha256,
      ),
    };
    const sourceDiff = unifiedDiff(
      a.source,
      b.source,
      `${oldPath} (v${a.version})`,
      `${newPath} (v${b.version})`,
    );
    const params = diffJson(a.params, b.params);
    const packages = diffPackages(a, b);
    const identity = (s: Statement, digest: string) => ({
      tenant: s.tenant,
      identifier: s.identifier,
      version: s.version,
      entry: s.entry,
      digest,
      issuedAt: s.issuedAt,
      expiresAt: s.expiresAt ?? null,
    });
    const warnings: string[] = [];
    if (a.tenant !== b.tenant || a.identifier !== b.identifier)
      warnings.push('the two envelopes are different components (tenant or identifier differ)');
    if (b.version <= a.version)
      warnings.push(
        `the new version (${b.version}) is not higher than the old one (${a.version}); nodes that saw the old one refuse it`,
      );
    if (a.entry !== b.entry) warnings.push(`the entry class changed: ${a.entry} -> ${b.entry}`);
    const result = {
      old: identity(a, before.digest),
      new: identity(b, after.digest),
      identical: before.digest === after.digest,
      escalation: added.length > 0,
      requires: { added, removed, old: a.requires, new: b.requires },
      source: { changed: a.sourceSha256 !== b.sourceSha256, diff: sourceDiff },
      params: { changed: params.length > 0, changes: params },
      artifacts,
      packages,
      warnings,
    };
    if (flag(args, 'json')) {
      printJson(io, result);
      return 0;
    }
    const lines: string[] = [];
    const banner = `!!! PERMISSION ESCALATION: version ${b.version} requires capabilities that version ${a.version} did not: ${added.join(', ')}`;
    if (added.length > 0) lines.push(banner, '');
    lines.push(
      `component ${b.tenant}/${b.identifier}: v${a.version} (${before.digest.slice(0, 12)}) -> v${b.version} (${after.digest.slice(0, 12)})`,
    );
    for (const w of warnings) lines.push(`warning: ${w}`);
    lines.push(
      `requires: [${a.requires.join(', ')}] -> [${b.requires.join(', ')}]${added.length ? `  (ADDED: ${added.join(', ')})` : ''}${removed.length ? `  (removed: ${removed.join(', ')})` : ''}`,
    );
    lines.push(`params: ${params.length === 0 ? 'unchanged' : `${params.length} change(s)`}`);
    for (const c of params) lines.push(`  ${c.path}: ${c.old ?? '(absent)'} -> ${c.new ?? '(absent)'}`);
    const artifactLine = [
      ...artifacts.added.map((n) => `+${n}`),
      ...artifacts.removed.map((n) => `-${n}`),
      ...artifacts.changed.map((n) => `~${n}`),
    ];
    lines.push(`artifacts: ${artifactLine.length === 0 ? 'unchanged' : artifactLine.join(' ')}`);
    lines.push(...packageDiffLines(packages));
    const packageBanner = `!!! PACKAGE REACH: packages changed (${[...packages.added, ...packages.changed.map((c) => c.name)].join(', ')}) and the code now uses globals it did not: ${packages.newGlobals.join(', ')}`;
    if (packages.escalation) lines.unshift(packageBanner, '');
    lines.push(`source: ${sourceDiff === '' ? 'unchanged' : 'changed'}`);
    // Tenant-authored text goes to a terminal: control characters are made visible.
    if (sourceDiff !== '')
      lines.push(sourceDiff.replace(CONTROL, (c) => `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}`));
    if (added.length > 0) lines.push('', banner);
    // Defends against terminal injection: params, names and source of both envelopes are
    // unverified tenant text (C1 controls and bidi overrides survive JSON.stringify).
    io.stdout(`${terminalSafe(lines.join('\n'))}\n`);
    return 0;
  },
};
