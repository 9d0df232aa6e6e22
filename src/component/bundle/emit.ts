/**
 * Emit phase: one holder scope per helper module, namespace objects, the entry module's
 * declarations at top level; fresh names never clash with any identifier in the bundle.
 */
import type { Identifier, Node } from 'acorn';
import { PackError } from '../../errors.ts';
import { SANDBOX_GLOBALS } from '../../ast/sandbox-globals.ts';
import { forEachNode } from '../../ast/walk.ts';
import { basename } from 'node:path';
import type { Bundler } from './graph.ts';
import type { BundleResult, Decl, ModuleRecord } from './model.ts';
import type { Reached } from './reach.ts';
import { isIdentifierName, RESERVED_TOP_LEVEL, where, posDetails } from './util.ts';

/** The packed script. */
export function emitScript(
  bundler: Bundler,
  entryModule: ModuleRecord,
  entryDecl: Decl,
  entryName: string,
  reached: Reached,
  order: readonly ModuleRecord[],
): BundleResult {
  const { kept, usedImports, exported, globalsUsed, namespaces } = reached;
  // 5. Names the script introduces: one holder per helper module, never clashing with any identifier.
  const allNames = new Set<string>();
  for (const module of bundler.modules.values()) {
    forEachNode(module.program, (node) => {
      if (node.type === 'Identifier') allNames.add((node as Identifier).name);
    });
  }
  const fresh = (wanted: string): string => {
    const base = isIdentifierName(wanted) ? wanted : '$module';
    let name = base;
    for (let i = 2; allNames.has(name) || SANDBOX_GLOBALS.has(name); i++) name = `${base}${i}`;
    allNames.add(name);
    return name;
  };
  const holders = new Map<ModuleRecord, string>();
  const localName = new Map<string, string>(); // `${file}\0${name}` → emitted name of synthetic locals
  const emittedLocal = (module: ModuleRecord, name: string): string => {
    if (!name.startsWith('\u0000')) return name;
    const key = `${module.file}\u0000${name}`;
    let value = localName.get(key);
    if (!value) {
      value = fresh('$default');
      localName.set(key, value);
    }
    return value;
  };

  // Names the packed script cannot declare at its top level: the sandbox defines them as
  // non-configurable globals, and a script that redeclares one does not compile.
  for (const decl of kept) {
    for (const name of decl.names) {
      if (!RESERVED_TOP_LEVEL.has(name)) continue;
      const atTop = decl.module === entryModule || (decl === entryDecl && name === entryName);
      // In a helper file `Component` may name a class of its own, unless that file also uses
      // sealbox's Component (its `const Base = Component;` line would read the local class).
      const usesSealbox = [...(usedImports.get(decl.module) ?? [])].some(
        (local) => bundler.resolveLocal(decl.module, local)?.kind === 'component',
      );
      if (!atTop && !(name === 'Component' && usesSealbox)) continue;
      throw new PackError(
        decl === entryDecl ? 'ERR_PACK_EXPORT' : 'ERR_PACK_IMPORT',
        `${where(decl.module, decl.node)}: '${name}' cannot be declared by a packed component: the sandbox defines ${name === 'Component' ? 'Component (the base class every component extends)' : `the global ${name}`} and the packed script would clash with it; rename the ${decl.kind === 'class' || decl.classNode ? 'class' : 'declaration'}`,
        { ...posDetails(decl.module, decl.node), name },
      );
    }
  }

  // Entry-module names sit at the script's top level: they must not shadow a global a helper uses.
  const entryTop = new Set<string>([
    ...[...kept].filter((d) => d.module === entryModule).flatMap((d) => d.names),
    ...(usedImports.get(entryModule) ?? []),
  ]);
  for (const [module, used] of globalsUsed) {
    if (module === entryModule) continue;
    for (const [name, ref] of used) {
      if (entryTop.has(name)) {
        throw new PackError(
          'ERR_PACK_IMPORT',
          `${module.display}:${ref.line}:${ref.column} uses the global '${name}', which ${entryModule.display} declares at top level; the packed script would mix them up: rename the one in ${entryModule.display}`,
          { file: module.display, line: ref.line, column: ref.column, name },
        );
      }
    }
  }

  // The namespace objects are built at the script's top level with these globals.
  if (namespaces.size > 0) {
    for (const name of ['Object', 'Symbol']) {
      if (!entryTop.has(name)) continue;
      const [module, ns] = [...namespaces][0] as [ModuleRecord, { site: Node; siteModule: ModuleRecord }];
      throw new PackError(
        'ERR_PACK_IMPORT',
        `${where(ns.siteModule, ns.site)}: the namespace of ${module.display} is built with the global '${name}', which ${entryModule.display} declares at top level; rename the one in ${entryModule.display}`,
        { ...posDetails(ns.siteModule, ns.site), name },
      );
    }
  }

  // 6. Emit.
  const declText = (decl: Decl): string => {
    const text = decl.module.source.slice(decl.node.start, decl.node.end);
    if (!decl.syntheticName) return text;
    const name = emittedLocal(decl.module, decl.syntheticName);
    if (decl.kind === 'expression') return `const ${name} = (${text});`;
    if (decl.kind === 'class') return `class ${name}${text.slice('class'.length)}`;
    // Anonymous default function: name it just before its parameter list.
    const paren = text.indexOf('(');
    return `${text.slice(0, paren)} ${name}${text.slice(paren)}`;
  };
  const importLines = (module: ModuleRecord): string[] => {
    const lines: string[] = [];
    for (const local of [...(usedImports.get(module) ?? [])].sort()) {
      const binding = module.imports.get(local);
      if (!binding) continue;
      const t = bundler.resolveLocal(module, local);
      if (!t || t.kind === 'global') continue;
      if (t.kind === 'component') {
        if (local !== 'Component') lines.push(`const ${local} = Component;`);
        continue;
      }
      if (t.kind === 'namespace') {
        lines.push(`const ${local} = ${namespaceNames.get(t.module) as string};`);
        continue;
      }
      lines.push(`const ${local} = ${holders.get(t.module) as string}.${emittedLocal(t.module, t.name)};`);
    }
    return lines;
  };
  const keptIn = (module: ModuleRecord): Decl[] =>
    [...kept].filter((d) => d.module === module).sort((a, b) => a.node.start - b.node.start);

  const namespaceNames = new Map<ModuleRecord, string>();
  // A module namespace as close as a script gets: no prototype, keys sorted, Symbol.toStringTag
  // 'Module', frozen. Values are copied once (no live bindings; reassigned exports are refused).
  const namespaceText = (module: ModuleRecord, name: string): string => {
    const entries = (namespaces.get(module)?.entries ?? []).map(({ name: key, target: t }) => {
      const value =
        t.kind === 'decl'
          ? `${holders.get(t.module) as string}.${emittedLocal(t.module, t.name)}`
          : t.kind === 'namespace'
            ? (namespaceNames.get(t.module) as string)
            : 'Component';
      // Defends against a key that sets the prototype: `__proto__: v` in a literal is not a property.
      const keyText = isIdentifierName(key) && key !== '__proto__' ? key : `[${JSON.stringify(key)}]`;
      return `  ${keyText}: ${value},`;
    });
    // Object.create's descriptor makes the tag non-enumerable, like a real namespace's.
    return `const ${name} = Object.freeze(Object.assign(Object.create(null, { [Symbol.toStringTag]: { value: 'Module' } }), {\n${entries.join('\n')}\n}));`;
  };
  const parts: string[] = ["'use strict';"];
  for (const module of order) {
    if (module === entryModule) continue;
    const decls = keptIn(module);
    const base = `$${basename(module.file)
      .replace(/\.[^.]*$/, '')
      .replace(/[^A-Za-z0-9_$]/g, '_')}`;
    const slot: string[] = [];
    if (decls.length > 0) {
      const holder = fresh(base);
      holders.set(module, holder);
      const names = [...(exported.get(module) ?? [])].sort().map((n) => emittedLocal(module, n));
      const body = [...importLines(module), ...decls.map(declText), `return { ${names.join(', ')} };`];
      slot.push(`const ${holder} = (() => {\n${body.join('\n\n')}\n})();`);
    }
    if (namespaces.has(module)) {
      const name = fresh(`${base}_namespace`);
      namespaceNames.set(module, name);
      slot.push(namespaceText(module, name));
    }
    if (slot.length > 0) parts.push(`// ${module.display}\n${slot.join('\n')}`);
  }
  const entryLines = [...importLines(entryModule), ...keptIn(entryModule).map(declText)];
  parts.push(`// ${entryModule.display}\n${entryLines.join('\n\n')}`);
  const source = `${parts.join('\n\n')}\n`;
  const entry = entryDecl.syntheticName
    ? emittedLocal(entryDecl.module, entryDecl.syntheticName)
    : (entryDecl.names[0] as string);
  if (entryDecl.module !== entryModule) {
    // The class lives in another file and is re-exported: declare it at top level under its name.
    const holder = holders.get(entryDecl.module) as string;
    return { source: `${source}\nconst ${entry} = ${holder}.${entry};\n`, entry };
  }
  return { source, entry };
}
