/**
 * Reach phase: the declarations the entry class needs, transitively (every unresolvable name is
 * reported at once), the imports and namespaces they use, and the refusals of what a script would
 * silently change (reassigned imported bindings, dropped statements touching kept code).
 */
import type { Identifier, Node } from 'acorn';
import { PackError } from '../../errors.ts';
import { findFreeVariables, type FreeReference } from '../../ast/free-variables.ts';
import type { Bundler } from './graph.ts';
import type { Decl, ModuleRecord, Target } from './model.ts';
import { isReassigned, posDetails, specifierName, where } from './util.ts';

/** A module namespace object the script builds, with the first import site that needs it. */
export interface NamespaceUse {
  readonly site: Node;
  readonly siteModule: ModuleRecord;
  readonly entries: { name: string; target: Target }[];
}

/** What the reach phase found. */
export interface Reached {
  readonly kept: Set<Decl>;
  readonly usedImports: Map<ModuleRecord, Set<string>>;
  readonly exported: Map<ModuleRecord, Set<string>>;
  readonly globalsUsed: Map<ModuleRecord, Map<string, FreeReference>>;
  readonly namespaces: Map<ModuleRecord, NamespaceUse>;
  readonly hasKept: (module: ModuleRecord) => boolean;
}

export /** Walks up `extends` through kept classes until Component; throws ERR_PACK_BASE_CLASS otherwise. */
function checkBaseClass(bundler: Bundler, decl: Decl, entryName: string): void {
  const seen = new Set<Decl>();
  let current = decl;
  for (;;) {
    if (seen.has(current)) {
      throw new PackError(
        'ERR_PACK_BASE_CLASS',
        `${where(current.module, current.node)}: class ${entryName} extends itself in a circle`,
        posDetails(current.module, current.node),
      );
    }
    seen.add(current);
    const superClass = ((current.classNode ?? current.node) as unknown as { superClass: Node | null })
      .superClass;
    const className = current.names[0]?.startsWith('\u0000') ? '(default export)' : current.names[0];
    if (!superClass) {
      throw new PackError(
        'ERR_PACK_BASE_CLASS',
        `${where(current.module, current.node)}: class ${className} does not extend Component; write \`class ${className} extends Component\` with Component imported from 'sealbox'`,
        posDetails(current.module, current.node),
      );
    }
    const extendsName = superClass.type === 'Identifier' ? (superClass as Identifier).name : undefined;
    let target = extendsName === undefined ? undefined : bundler.resolveLocal(current.module, extendsName);
    const member = superClass as unknown as { object?: Node; property?: Node; computed?: boolean };
    if (superClass.type === 'MemberExpression' && !member.computed && member.object?.type === 'Identifier') {
      // `class A extends ns.Base` with `import * as ns from './base.js'`: the namespace's export.
      const ns = bundler.resolveLocal(current.module, (member.object as Identifier).name);
      const exportName = specifierName(member.property);
      if (
        ns?.kind === 'namespace' &&
        bundler.namespaceEntries(ns.module, superClass, current.module).some((e) => e.name === exportName)
      ) {
        target = bundler.resolveExport(ns.module, exportName, superClass, current.module, new Set());
      }
    }
    if (target?.kind === 'component') return;
    const next = target?.kind === 'decl' ? target.module.decls.get(target.name)?.at(-1) : undefined;
    if (next && (next.kind === 'class' || next.classNode)) {
      current = next;
      continue;
    }
    const text = current.module.source.slice(
      superClass.start,
      Math.min(superClass.end, superClass.start + 60),
    );
    throw new PackError(
      'ERR_PACK_BASE_CLASS',
      `${where(current.module, superClass)}: class ${className} extends ${text}, not Component; a packed class must extend Component from 'sealbox' (directly or through classes in your own files)`,
      { ...posDetails(current.module, superClass), extends: text },
    );
  }
}

/** Everything `entryDecl` (exported from `entryModule` as `target`) needs. */
export function reach(
  bundler: Bundler,
  entryModule: ModuleRecord,
  entryDecl: Decl,
  target: { readonly name: string },
): Reached {
  // 2. Everything the entry class needs, transitively; collect every unresolvable name at once.
  const kept = new Set<Decl>();
  const usedImports = new Map<ModuleRecord, Set<string>>();
  const exported = new Map<ModuleRecord, Set<string>>();
  const globalsUsed = new Map<ModuleRecord, Map<string, FreeReference>>();
  const unknown: { name: string; file: string; line: number; column: number }[] = [];
  const work: Decl[] = [entryDecl];
  // Modules whose namespace object the script builds (`import * as`, `export * as`), with the first
  // import site that needs it and its entries in sorted order.
  const namespaces = new Map<
    ModuleRecord,
    { site: Node; siteModule: ModuleRecord; entries: { name: string; target: Target }[] }
  >();
  const markExported = (module: ModuleRecord, name: string): void => {
    const set = exported.get(module) ?? new Set<string>();
    set.add(name);
    exported.set(module, set);
  };
  const needNamespace = (module: ModuleRecord, site: Node, siteModule: ModuleRecord): void => {
    if (namespaces.has(module)) return;
    if (module === entryModule) {
      throw new PackError(
        'ERR_PACK_IMPORT',
        `${where(siteModule, site)}: ${siteModule.display} imports the namespace of ${entryModule.display}, the file being packed; sealbox bundles acyclic imports only: move the shared code into a third file`,
        { ...posDetails(siteModule, site), module: entryModule.display },
      );
    }
    const entries = bundler.namespaceEntries(module, site, siteModule);
    namespaces.set(module, { site, siteModule, entries });
    // A namespace holds every export: each one, and what it needs, is kept.
    for (const { target: t } of entries) {
      if (t.kind === 'namespace') {
        needNamespace(t.module, site, siteModule);
      } else if (t.kind === 'decl') {
        if (t.module === entryModule) {
          throw new PackError(
            'ERR_PACK_IMPORT',
            `${where(siteModule, site)}: the namespace of ${module.display} includes '${t.name}' from ${entryModule.display}, the file being packed; sealbox bundles acyclic imports only: move the shared code into a third file`,
            { ...posDetails(siteModule, site), module: entryModule.display },
          );
        }
        markExported(t.module, t.name);
        for (const d of t.module.decls.get(t.name) ?? []) if (!kept.has(d)) work.push(d);
      }
    }
  };
  const keep = (t: Target, from: ModuleRecord, site: Node): void => {
    if (t.kind === 'namespace') needNamespace(t.module, site, from);
    if (t.kind !== 'decl') return;
    if (t.module !== from) markExported(t.module, t.name);
    for (const d of t.module.decls.get(t.name) ?? []) if (!kept.has(d)) work.push(d);
  };
  while (work.length > 0) {
    const decl = work.pop() as Decl;
    if (kept.has(decl)) continue;
    kept.add(decl);
    const module = decl.module;
    for (const ref of bundler.refsOf(decl)) {
      const t = bundler.resolveLocal(module, ref.name);
      if (!t) {
        unknown.push({ name: ref.name, file: module.display, line: ref.line, column: ref.column });
        continue;
      }
      if (module.imports.has(ref.name) && !module.decls.has(ref.name)) {
        const set = usedImports.get(module) ?? new Set<string>();
        set.add(ref.name);
        usedImports.set(module, set);
      } else if (t.kind !== 'decl') {
        const map = globalsUsed.get(module) ?? new Map<string, FreeReference>();
        if (!map.has(ref.name)) map.set(ref.name, ref);
        globalsUsed.set(module, map);
      }
      keep(t, module, module.imports.get(ref.name)?.node ?? decl.node);
    }
  }
  if (unknown.length > 0) {
    const list = unknown.map((u) => `${u.name} (${u.file}:${u.line}:${u.column})`).join(', ');
    throw new PackError(
      'ERR_PACK_FREE_VARIABLE',
      `the class uses names that neither your files nor the sandbox define: ${list}. Only ECMAScript built-ins and Component exist in the sandbox (no process, require, console, timers or fetch); declare these names in your files, pass values in params, or use this.host`,
      { names: unknown },
    );
  }

  // 3a. An imported `let`/`var` that its file reassigns would be copied once into the importer (ES
  // modules keep such a binding live): refuse rather than pack a script that silently differs.
  for (const [module, locals] of usedImports) {
    for (const local of [...locals].sort()) {
      const binding = module.imports.get(local);
      const t = bundler.resolveLocal(module, local);
      if (!binding || t?.kind !== 'decl' || t.module === module) continue;
      if (isReassigned(t.module, t.name)) {
        throw new PackError(
          'ERR_PACK_IMPORT',
          `${where(module, binding.node)}: '${local}' is a \`let\`/\`var\`/function/class binding that ${t.module.display} reassigns; a packed script copies imported values once, so the change would not be seen here (ES modules keep it live). Export a function that returns the current value instead`,
          { ...posDetails(module, binding.node), module: t.module.display, name: t.name },
        );
      }
    }
  }

  // 3b. The same for a namespace: it copies every export once, so none of them may be reassigned.
  for (const [module, ns] of namespaces) {
    for (const { name, target: t } of ns.entries) {
      if (t.kind !== 'decl') continue;
      if (isReassigned(t.module, t.name)) {
        throw new PackError(
          'ERR_PACK_IMPORT',
          `${where(ns.siteModule, ns.site)}: the namespace of ${module.display} includes '${name}', a \`let\`/\`var\`/function/class binding that ${t.module.display} reassigns; a packed namespace copies every export once, so the change would not be seen (ES modules keep it live). Export a function that returns the current value instead`,
          { ...posDetails(ns.siteModule, ns.site), module: t.module.display, name },
        );
      }
    }
  }

  // 3. Dropped top-level statements must not touch kept code (it would behave differently packed).
  for (const module of bundler.modules.values()) {
    for (const stmt of module.others) {
      for (const ref of findFreeVariables(stmt)) {
        const t = module.decls.has(ref.name) ? module.decls.get(ref.name) : undefined;
        const binding = module.imports.get(ref.name);
        const usesNamespace =
          !t &&
          binding !== undefined &&
          (() => {
            const r = bundler.resolveLocal(module, ref.name);
            return r?.kind === 'namespace' && namespaces.has(r.module);
          })();
        if ((t && t.some((d) => kept.has(d))) || usesNamespace) {
          throw new PackError(
            'ERR_PACK_STATEMENT',
            `${module.display}:${ref.line}:${ref.column}: a top-level statement uses '${ref.name}', which the class needs; sealbox packs declarations only, so this statement would be lost. Move it into a function, a static block, or the constructor`,
            { file: module.display, line: ref.line, column: ref.column, identifier: ref.name },
          );
        }
      }
    }
  }

  if (entryDecl.module !== entryModule) {
    const set = exported.get(entryDecl.module) ?? new Set<string>();
    set.add(target.name);
    exported.set(entryDecl.module, set);
  }
  const hasKept = (module: ModuleRecord): boolean =>
    namespaces.has(module) || [...kept].some((d) => d.module === module);
  return { kept, usedImports, exported, globalsUsed, namespaces, hasKept };
}
