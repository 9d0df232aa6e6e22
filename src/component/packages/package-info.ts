/**
 * Which npm package a bundled file belongs to, and what the SBOM records about it: name, version
 * and license from its package.json, the integrity hash from the project's package-lock.json, and
 * the SHA-256 of each file that contributed bytes.
 */
import { readFileSync } from 'node:fs';
import { join, relative, sep } from 'node:path';
import { sha256Hex } from '../../envelope/statement.ts';
import type { Dependency } from '../../envelope/types.ts';

/** The package directory and name for a file inside node_modules, or undefined for the author's. */
export function packageOf(file: string): { dir: string; name: string } | undefined {
  const parts = file.split(sep);
  const at = parts.lastIndexOf('node_modules');
  if (at < 0 || at + 1 >= parts.length) return undefined;
  const scoped = (parts[at + 1] ?? '').startsWith('@');
  const end = at + (scoped ? 3 : 2);
  if (end > parts.length - 1) return undefined;
  return { dir: parts.slice(0, end).join(sep), name: parts.slice(at + 1, end).join('/') };
}

function readJson(file: string): Record<string, unknown> | undefined {
  try {
    const value: unknown = JSON.parse(readFileSync(file, 'utf8'));
    return value !== null && typeof value === 'object' && !Array.isArray(value)
      ? (value as Record<string, unknown>)
      : undefined;
  } catch {
    return undefined;
  }
}

function licenseOf(manifest: Record<string, unknown>): string {
  const license = manifest['license'];
  if (typeof license === 'string' && license !== '') return license.slice(0, 128);
  // Old manifests: `license: { type }` or `licenses: [{ type }]`.
  const typed = (v: unknown): string | undefined =>
    v !== null && typeof v === 'object' && typeof (v as { type?: unknown }).type === 'string'
      ? (v as { type: string }).type
      : undefined;
  const old =
    typed(license) ?? (Array.isArray(manifest['licenses']) ? typed(manifest['licenses'][0]) : undefined);
  return old?.slice(0, 128) ?? 'UNKNOWN';
}

/**
 * The SBOM entries for the bundled files under node_modules, sorted by name, version; files by path.
 * `root` is the project root whose package-lock.json gives each package's integrity.
 */
export function dependenciesOf(files: readonly string[], root: string): Dependency[] {
  const lock = readJson(join(root, 'package-lock.json'));
  const lockPackages = (lock?.['packages'] ?? {}) as Record<string, { integrity?: unknown } | undefined>;
  const byDir = new Map<string, { name: string; files: string[] }>();
  for (const file of files) {
    const pkg = packageOf(file);
    if (!pkg) continue;
    const entry = byDir.get(pkg.dir) ?? { name: pkg.name, files: [] };
    entry.files.push(file);
    byDir.set(pkg.dir, entry);
  }
  const out: Dependency[] = [];
  for (const [dir, { name, files: pkgFiles }] of byDir) {
    const manifest = readJson(join(dir, 'package.json')) ?? {};
    const version = typeof manifest['version'] === 'string' ? manifest['version'].slice(0, 64) : '0.0.0';
    const lockKey = relative(root, dir).split(sep).join('/');
    const integrity = lockPackages[lockKey]?.integrity;
    out.push({
      name: typeof manifest['name'] === 'string' ? manifest['name'].slice(0, 214) : name,
      version,
      license: licenseOf(manifest),
      ...(typeof integrity === 'string' ? { integrity } : {}),
      files: pkgFiles
        .map((f) => ({
          path: relative(dir, f).split(sep).join('/'),
          sha256: sha256Hex(readFileSync(f)),
        }))
        .sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0)),
    });
  }
  return out.sort((a, b) =>
    a.name !== b.name
      ? a.name < b.name
        ? -1
        : 1
      : a.version < b.version
        ? -1
        : a.version > b.version
          ? 1
          : 0,
  );
}
