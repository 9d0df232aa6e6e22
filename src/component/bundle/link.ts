/**
 * Link phase: what a module's local names and exports refer to (declarations, namespaces,
 * Component, globals), through imports, re-exports and `export *`.
 */
import type { Node } from 'acorn';
import { PackError } from '../../errors.ts';
import { SANDBOX_GLOBALS } from '../../ast/sandbox-globals.ts';
import type { ModuleRecord, Target } from './model.ts';
import { posDetails, sameTarget, where } from './util.ts';

/** What a local name of `module` refers to, or undefined when nothing declares it. */
export function resolveLocal(
  module: ModuleRecord,
  name: string,
  seen = new Set<string>(),
): Target | undefined {
  if (module.decls.has(name)) return { kind: 'decl', module, name };
  const binding = module.imports.get(name);
  if (binding?.kind === 'component') return { kind: 'component' };
  if (binding?.kind === 'namespace') return { kind: 'namespace', module: binding.module };
  if (binding) return resolveExport(binding.module, binding.name, binding.node, module, seen);
  if (name === 'Component') return { kind: 'component' };
  if (SANDBOX_GLOBALS.has(name)) return { kind: 'global' };
  return undefined;
}

/** What `module` exports as `name`; throws ERR_PACK_IMPORT naming the import site when nothing. */
export function resolveExport(
  module: ModuleRecord,
  name: string,
  site: Node,
  siteModule: ModuleRecord,
  seen: Set<string>,
): Target {
  const key = `${module.file}\u0000${name}`;
  if (seen.has(key)) {
    throw new PackError(
      'ERR_PACK_IMPORT',
      `${where(siteModule, site)}: '${name}' is re-exported in a circle`,
      {
        ...posDetails(siteModule, site),
        module: module.display,
      },
    );
  }
  seen.add(key);
  const local = module.exports.get(name);
  if (local !== undefined) {
    const target = resolveLocal(module, local, seen);
    if (target && target.kind !== 'global') return target;
  }
  const re = module.reexports.get(name);
  if (re) return resolveExport(re.module, re.name, site, siteModule, seen);
  if (name !== 'default') {
    let found: { star: ModuleRecord; target: Target } | undefined;
    for (const star of module.starExports) {
      if (!hasExport(star, name, new Set())) continue;
      const target = resolveExport(star, name, site, siteModule, new Set(seen));
      if (!found) {
        found = { star, target };
      } else if (!sameTarget(found.target, target)) {
        // ES modules refuse this import too (SyntaxError: ambiguous star export).
        throw new PackError(
          'ERR_PACK_IMPORT',
          `${where(siteModule, site)}: '${name}' is ambiguous: ${module.display} re-exports it with \`export *\` from both ${found.star.display} and ${star.display}, as different bindings; import it from one of them`,
          { ...posDetails(siteModule, site), module: module.display, name },
        );
      }
    }
    if (found) return found.target;
  }
  const available = [...module.exports.keys(), ...module.reexports.keys()].filter(
    (n) => !n.startsWith('\u0000'),
  );
  throw new PackError(
    'ERR_PACK_IMPORT',
    `${where(siteModule, site)}: ${module.display} has no export named '${name}' (it exports: ${available.join(', ') || 'nothing'})`,
    { ...posDetails(siteModule, site), module: module.display, name },
  );
}

/**
 * The names `module`'s namespace object has, as ES modules define them: its own exports and
 * re-exports, plus every name its `export *` modules export except `default`, the names it
 * exports itself, and names two `export *` modules export as different bindings (ambiguous: a
 * real namespace leaves them out too). Sorted by UTF-16 code units, each with what it resolves to.
 */
export function namespaceEntries(
  module: ModuleRecord,
  site: Node,
  siteModule: ModuleRecord,
): { readonly name: string; readonly target: Target }[] {
  const entries = new Map<string, Target>();
  for (const name of [...module.exports.keys(), ...module.reexports.keys()]) {
    if (name.startsWith('\u0000') || entries.has(name)) continue;
    entries.set(name, resolveExport(module, name, site, siteModule, new Set()));
  }
  const ambiguous = new Set<string>();
  for (const name of starNames(module, new Set())) {
    if (name === 'default' || module.exports.has(name) || module.reexports.has(name)) continue;
    for (const star of module.starExports) {
      if (!hasExport(star, name, new Set())) continue;
      const target = resolveExport(star, name, site, siteModule, new Set());
      const previous = entries.get(name);
      if (!previous) entries.set(name, target);
      else if (!sameTarget(previous, target)) ambiguous.add(name);
    }
  }
  for (const name of ambiguous) entries.delete(name);
  return [...entries.keys()]
    .sort((a, b) => (a < b ? -1 : a > b ? 1 : 0))
    .map((name) => ({ name, target: entries.get(name) as Target }));
}

/** Every name the `export *` modules of `module` export, transitively (unordered, deduplicated). */
function starNames(module: ModuleRecord, seen: Set<ModuleRecord>): Set<string> {
  const names = new Set<string>();
  for (const star of module.starExports) {
    if (seen.has(star)) continue;
    seen.add(star);
    for (const name of [...star.exports.keys(), ...star.reexports.keys()]) {
      if (!name.startsWith('\u0000') && name !== 'default') names.add(name);
    }
    for (const name of starNames(star, seen)) if (name !== 'default') names.add(name);
  }
  return names;
}

function hasExport(module: ModuleRecord, name: string, seen: Set<ModuleRecord>): boolean {
  if (seen.has(module)) return false;
  seen.add(module);
  if (module.exports.has(name) || module.reexports.has(name)) return true;
  return module.starExports.some((m) => hasExport(m, name, seen));
}
