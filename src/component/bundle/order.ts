/**
 * Order phase: ES module evaluation order (post-order over imports) breaks ties; the emitted
 * scopes run after the scopes their import lines read from; cycles between kept files are refused.
 */
import type { Node } from 'acorn';
import { PackError } from '../../errors.ts';
import type { Bundler } from './graph.ts';
import type { ModuleRecord } from './model.ts';
import type { Reached } from './reach.ts';
import { posDetails, where } from './util.ts';

/** The modules whose code the script emits, in the order their scopes must run. */
export function moduleOrder(bundler: Bundler, entryModule: ModuleRecord, reached: Reached): ModuleRecord[] {
  const { usedImports, namespaces, hasKept } = reached;
  // 4. Module order. First ES module evaluation order (post-order over imports), which only breaks
  // ties; then the order the emitted scopes need: a module's scope runs after the scopes its import
  // lines read from. Files that only re-export (an index.js barrel) emit nothing, so an import cycle
  // through them (widget.js imports format from the index.js that re-exports widget.js) is fine.
  const esOrder: ModuleRecord[] = [];
  const state = new Map<ModuleRecord, 'visiting' | 'done'>();
  const stack: { module: ModuleRecord; next: number }[] = [{ module: entryModule, next: 0 }];
  state.set(entryModule, 'visiting');
  while (stack.length > 0) {
    const top = stack[stack.length - 1] as { module: ModuleRecord; next: number };
    const dep = top.module.dependencies[top.next];
    if (dep) {
      top.next += 1;
      if (!state.has(dep)) {
        state.set(dep, 'visiting');
        stack.push({ module: dep, next: 0 });
      }
      continue;
    }
    state.set(top.module, 'done');
    esOrder.push(top.module);
    stack.pop();
  }
  const esIndex = new Map(esOrder.map((m, i) => [m, i]));
  // Which holder each used import reads, with the import specifier as the place to blame.
  const readsFrom = (module: ModuleRecord): { module: ModuleRecord; site: Node }[] => {
    const out: { module: ModuleRecord; site: Node }[] = [];
    for (const local of usedImports.get(module) ?? []) {
      const binding = module.imports.get(local);
      const t = bundler.resolveLocal(module, local);
      if (binding && t?.kind === 'namespace') {
        // Reading a namespace reads the slot that builds it (after that module's scope).
        out.push({ module: t.module, site: binding.node });
        continue;
      }
      if (!binding || t?.kind !== 'decl' || t.module === module) continue;
      if (t.module === entryModule) {
        // The entry file's declarations sit at the script's top level, after every other file's
        // scope has run: a helper cannot read them when its scope runs.
        throw new PackError(
          'ERR_PACK_IMPORT',
          `${where(module, binding.node)}: ${module.display} imports '${t.name}' back from ${entryModule.display}, the file being packed; sealbox bundles acyclic imports only: move the shared code into a third file`,
          { ...posDetails(module, binding.node), module: entryModule.display },
        );
      }
      out.push({ module: t.module, site: binding.node });
    }
    // A namespace built right after this module's scope reads every module its exports live in.
    const ns = namespaces.get(module);
    for (const { target: t } of ns?.entries ?? []) {
      if ((t.kind === 'decl' || t.kind === 'namespace') && t.module !== module) {
        out.push({ module: t.module, site: ns?.site as Node });
      } else if (t.kind === 'namespace') {
        throw new PackError(
          'ERR_PACK_IMPORT',
          `${where(ns?.siteModule as ModuleRecord, ns?.site as Node)}: ${module.display} exports its own namespace; a packed namespace object cannot contain itself`,
          { ...posDetails(ns?.siteModule as ModuleRecord, ns?.site as Node), module: module.display },
        );
      }
    }
    return out.sort(
      (a, b) => (esIndex.get(a.module) ?? 0) - (esIndex.get(b.module) ?? 0) || a.site.start - b.site.start,
    );
  };
  const order: ModuleRecord[] = [];
  const placed = new Map<ModuleRecord, 'visiting' | 'done'>();
  const place = (root: ModuleRecord): void => {
    const path: { module: ModuleRecord; deps: { module: ModuleRecord; site: Node }[]; next: number }[] = [
      { module: root, deps: readsFrom(root), next: 0 },
    ];
    placed.set(root, 'visiting');
    while (path.length > 0) {
      const top = path[path.length - 1] as (typeof path)[number];
      const dep = top.deps[top.next];
      if (dep) {
        top.next += 1;
        const s = placed.get(dep.module);
        if (s === 'visiting') {
          // Defends against a packed script that throws on load: each file's scope runs once, in
          // order, so two files that read each other's declarations cannot both come first.
          throw new PackError(
            'ERR_PACK_IMPORT',
            `${where(top.module, dep.site)}: ${top.module.display} and ${dep.module.display} import each other (directly or through other files); sealbox bundles acyclic imports only: move the shared code into a third file`,
            { ...posDetails(top.module, dep.site), module: dep.module.display },
          );
        }
        if (!s) {
          placed.set(dep.module, 'visiting');
          path.push({ module: dep.module, deps: readsFrom(dep.module), next: 0 });
        }
        continue;
      }
      placed.set(top.module, 'done');
      order.push(top.module);
      path.pop();
    }
  };
  for (const module of esOrder) if (hasKept(module) && !placed.has(module)) place(module);

  return order;
}
