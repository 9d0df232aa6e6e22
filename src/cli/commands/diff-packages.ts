/**
 * The package part of `sealbox diff`: packages added, removed and changed between two statements
 * (from their `dependencies` SBOMs), and what the bundled code may reach that it did not before
 * (global names it references), so a reviewer sees when an updated package starts using more.
 */
import { findFreeVariables } from '../../ast/free-variables.ts';
import { parseScript } from '../../ast/parse.ts';
import type { Dependency, Statement } from '../../envelope/types.ts';

/** One changed package: what differs. */
export interface PackageChange {
  readonly name: string;
  readonly old: string;
  readonly new: string;
  readonly licenseChanged: boolean;
  readonly filesChanged: readonly string[];
}

/** The package diff of two statements. */
export interface PackageDiff {
  readonly added: readonly string[];
  readonly removed: readonly string[];
  readonly changed: readonly PackageChange[];
  /** Global names the new source references and the old one did not (e.g. `fetch`). */
  readonly newGlobals: readonly string[];
  /** True when packages changed and the code now reaches more: the reviewer must look. */
  readonly escalation: boolean;
}

function byName(deps: readonly Dependency[] | undefined): Map<string, Dependency> {
  return new Map((deps ?? []).map((d) => [d.name, d]));
}

/** Global names a source references; empty when it does not parse (diff shows the text anyway). */
function globalsOf(source: string): Set<string> {
  try {
    return new Set(findFreeVariables(parseScript(source)).map((r) => r.name));
  } catch {
    return new Set();
  }
}

/** Compares the packages and reach of two statements. */
export function diffPackages(a: Statement, b: Statement): PackageDiff {
  const before = byName(a.dependencies);
  const after = byName(b.dependencies);
  const added = [...after.keys()].filter((n) => !before.has(n)).sort();
  const removed = [...before.keys()].filter((n) => !after.has(n)).sort();
  const changed: PackageChange[] = [];
  for (const [name, d] of after) {
    const old = before.get(name);
    if (!old) continue;
    const oldFiles = new Map(old.files.map((f) => [f.path, f.sha256]));
    const filesChanged = d.files.filter((f) => oldFiles.get(f.path) !== f.sha256).map((f) => f.path);
    for (const f of old.files) if (!d.files.some((g) => g.path === f.path)) filesChanged.push(f.path);
    if (old.version !== d.version || old.license !== d.license || filesChanged.length > 0) {
      changed.push({
        name,
        old: old.version,
        new: d.version,
        licenseChanged: old.license !== d.license,
        filesChanged: filesChanged.sort(),
      });
    }
  }
  const oldGlobals = globalsOf(a.source);
  const newGlobals = [...globalsOf(b.source)].filter((g) => !oldGlobals.has(g)).sort();
  const packagesMoved = added.length > 0 || changed.length > 0;
  return { added, removed, changed, newGlobals, escalation: packagesMoved && newGlobals.length > 0 };
}

/** Text lines for the human diff. */
export function packageDiffLines(d: PackageDiff): string[] {
  const parts = [
    ...d.added.map((n) => `+${n}`),
    ...d.removed.map((n) => `-${n}`),
    ...d.changed.map((c) => `~${c.name} ${c.old} -> ${c.new}${c.licenseChanged ? ' (LICENSE CHANGED)' : ''}`),
  ];
  const lines = [`packages: ${parts.length === 0 ? 'unchanged' : parts.join(' ')}`];
  for (const c of d.changed) {
    if (c.filesChanged.length > 0) lines.push(`  ${c.name}: files changed: ${c.filesChanged.join(', ')}`);
  }
  if (d.newGlobals.length > 0) lines.push(`globals newly used: ${d.newGlobals.join(', ')}`);
  return lines;
}
