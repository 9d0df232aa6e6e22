/**
 * Graph phase: reads, strips and parses each file reached through relative imports, and indexes
 * its top-level statements (declarations, imports, exports, other statements).
 */
import { statSync } from 'node:fs';
import { basename, dirname, relative, resolve, sep } from 'node:path';
import type { Identifier, Node, Program } from 'acorn';
import { PackError } from '../../errors.ts';
import { readFileBounded, readRefusalOf } from '../../io/read-file.ts';
import { findFreeVariables, type FreeReference } from '../../ast/free-variables.ts';
import { parseModule } from '../../ast/parse.ts';
import { forEachNode } from '../../ast/walk.ts';
import { isTypeScriptFile, stripTypes } from '../typescript.ts';
import * as link from './link.ts';
import type { BundleLimits, Decl, ModuleRecord, Target } from './model.ts';
import {
  NEEDS_RELATIVE,
  patternNames,
  posDetails,
  specifierName,
  strictUtf8,
  syntaxHint,
  topLevelAwait,
  where,
} from './util.ts';

export class Bundler {
  readonly #modules = new Map<string, ModuleRecord>();
  readonly #limits: BundleLimits;
  readonly #root: string;

  constructor(entryFile: string, limits: BundleLimits) {
    this.#limits = limits;
    this.#root = dirname(entryFile);
  }

  /** Reads, strips and parses one file, and indexes its top-level statements. */
  load(file: string, importedFrom?: { module: ModuleRecord; node: Node; specifier: string }): ModuleRecord {
    const cached = this.#modules.get(file);
    if (cached) return cached;
    if (this.#modules.size >= this.#limits.maxModules) {
      throw new PackError(
        'ERR_PACK_IMPORT',
        `more than ${this.#limits.maxModules} files are imported; sealbox bundles at most that many`,
        importedFrom ? posDetails(importedFrom.module, importedFrom.node) : {},
      );
    }
    const display = relative(this.#root, file).split(sep).join('/') || basename(file);
    const read = this.#read(file, display, importedFrom);
    // A hashbang line (`#!/usr/bin/env node`) is legal at the start of a module; it becomes a `//`
    // comment of the same length, so every line and column stays the author's.
    const source = read.startsWith('#!') ? `//${read.slice(2)}` : read;
    const js = isTypeScriptFile(file) ? stripTypes(source, display) : source;
    let program: Program;
    try {
      program = parseModule(js);
    } catch (error) {
      if (error instanceof PackError) {
        const { line, column } = error.details as { line?: number; column?: number };
        const hint = syntaxHint(js, line ?? 0, column ?? 0);
        if (hint) {
          throw new PackError(
            hint.code,
            `${display}:${hint.line}:${hint.column}: ${hint.message}`,
            { file: display, line: hint.line, column: hint.column, construct: hint.construct },
            { cause: error },
          );
        }
        throw new PackError(
          'ERR_PACK_SYNTAX',
          `${display}:${line ?? 0}:${column ?? 0}: ${error.message}`,
          { file: display, line: line ?? 0, column: column ?? 0 },
          { cause: error },
        );
      }
      throw error;
    }
    const module: ModuleRecord = {
      file,
      display,
      source: js,
      program,
      decls: new Map(),
      imports: new Map(),
      exports: new Map(),
      reexports: new Map(),
      starExports: [],
      dependencies: [],
      others: [],
    };
    this.#modules.set(file, module);
    for (const stmt of program.body) this.#index(module, stmt as Node);
    return module;
  }

  #read(
    file: string,
    display: string,
    importedFrom?: { module: ModuleRecord; node: Node; specifier: string },
  ): string {
    let bytes: Uint8Array;
    try {
      // Defends against memory exhaustion and hangs (huge file, FIFO, device): the shared bounded
      // reader checks the size before reading and takes regular files only.
      bytes = readFileBounded(file, this.#limits.maxSourceBytes, display);
    } catch (error) {
      const refusal = readRefusalOf(error);
      if (refusal?.reason === 'too-large') {
        throw new PackError(
          'ERR_PACK_TOO_LARGE',
          `${display} is ${refusal.size ?? 'more than'} bytes; sealbox packs source files of at most ${this.#limits.maxSourceBytes} bytes`,
          { file: display, size: refusal.size ?? -1, limit: this.#limits.maxSourceBytes },
        );
      }
      const code = refusal?.errno ?? 'error';
      if (importedFrom) {
        throw new PackError(
          'ERR_PACK_IMPORT',
          `${where(importedFrom.module, importedFrom.node)}: cannot read '${importedFrom.specifier}' (${code})`,
          { ...posDetails(importedFrom.module, importedFrom.node), module: importedFrom.specifier },
        );
      }
      throw new PackError('ERR_PACK_OPTIONS', `cannot read ${display} (${code})`, { file: display });
    }
    if (bytes.length > this.#limits.maxSourceBytes) {
      throw new PackError(
        'ERR_PACK_TOO_LARGE',
        `${display} is larger than ${this.#limits.maxSourceBytes} bytes`,
        {
          file: display,
          limit: this.#limits.maxSourceBytes,
        },
      );
    }
    try {
      return strictUtf8.decode(bytes);
    } catch {
      throw new PackError('ERR_PACK_SYNTAX', `${display} is not UTF-8 text`, {
        file: display,
        line: 0,
        column: 0,
      });
    }
  }

  #resolveSpecifier(module: ModuleRecord, specifier: string, node: Node): ModuleRecord {
    if (!specifier.startsWith('./') && !specifier.startsWith('../')) {
      throw new PackError(
        'ERR_PACK_IMPORT',
        `${where(module, node)}: cannot bundle import of '${specifier}': ${NEEDS_RELATIVE}`,
        {
          ...posDetails(module, node),
          module: specifier,
          // pack.ts hands a graph with package imports to the rolldown path (packages/).
          bare: true,
        },
      );
    }
    const base = resolve(dirname(module.file), specifier);
    const candidates = [base];
    // TypeScript authors write `./x.js` for `./x.ts`; accept both spellings, and no extension.
    if (/\.js$/.test(base)) candidates.push(base.replace(/\.js$/, '.ts'));
    if (/\.mjs$/.test(base)) candidates.push(base.replace(/\.mjs$/, '.mts'));
    if (!/\.[cm]?[jt]s$/.test(base))
      candidates.push(`${base}.ts`, `${base}.js`, `${base}.mts`, `${base}.mjs`);
    for (const candidate of candidates) {
      let isFile = false;
      try {
        isFile = statSync(candidate).isFile();
      } catch {
        isFile = false;
      }
      if (isFile) return this.load(candidate, { module, node, specifier });
    }
    throw new PackError(
      'ERR_PACK_IMPORT',
      `${where(module, node)}: cannot find '${specifier}' (looked for ${candidates.map((c) => relative(this.#root, c)).join(', ')})`,
      { ...posDetails(module, node), module: specifier },
    );
  }

  #addDependency(module: ModuleRecord, target: ModuleRecord): void {
    if (!module.dependencies.includes(target)) module.dependencies.push(target);
  }

  #addDecl(module: ModuleRecord, decl: Decl): void {
    for (const name of decl.names) {
      const list = module.decls.get(name) ?? [];
      list.push(decl);
      module.decls.set(name, list);
    }
  }

  #declOf(module: ModuleRecord, node: Node, syntheticName?: string): Decl {
    const n = node as unknown as Record<string, unknown>;
    if (node.type === 'FunctionDeclaration' || node.type === 'ClassDeclaration') {
      const id = n['id'] as Identifier | null;
      const name = id ? id.name : (syntheticName as string);
      return {
        module,
        node,
        names: [name],
        kind: node.type === 'ClassDeclaration' ? 'class' : 'function',
        ...(id ? {} : { syntheticName: name }),
      };
    }
    if (node.type === 'VariableDeclaration') {
      const declarations = n['declarations'] as Node[];
      const names = declarations.flatMap((d) =>
        patternNames((d as unknown as Record<string, unknown>)['id'] as Node),
      );
      const only = declarations.length === 1 ? (declarations[0] as unknown as Record<string, unknown>) : {};
      const init = only['init'] as Node | null | undefined;
      // `const X = class ... {}`: a class under another spelling (only `const`: a `let` could be
      // reassigned after the class was checked).
      const classNode =
        n['kind'] === 'const' &&
        (only['id'] as Node | undefined)?.type === 'Identifier' &&
        init?.type === 'ClassExpression'
          ? init
          : undefined;
      return { module, node, names, kind: 'variable', ...(classNode ? { classNode } : {}) };
    }
    return {
      module,
      node,
      names: [syntheticName as string],
      kind: 'expression',
      syntheticName: syntheticName as string,
    };
  }

  #index(module: ModuleRecord, stmt: Node): void {
    const s = stmt as unknown as Record<string, unknown>;
    switch (stmt.type) {
      case 'ImportDeclaration': {
        const specifier = String((s['source'] as { value: unknown }).value);
        const specifiers = s['specifiers'] as Node[];
        if (Array.isArray(s['attributes']) && (s['attributes'] as unknown[]).length > 0) {
          throw new PackError(
            'ERR_PACK_IMPORT',
            `${where(module, stmt)}: import attributes ('${specifier}' with {...}) are not bundled; put data in an artifact`,
            {
              ...posDetails(module, stmt),
              module: specifier,
            },
          );
        }
        if (specifier === 'sealbox') {
          for (const spec of specifiers) {
            const imported =
              spec.type === 'ImportSpecifier'
                ? specifierName((spec as unknown as { imported: Node }).imported)
                : '';
            if (imported !== 'Component') {
              throw new PackError(
                'ERR_PACK_IMPORT',
                `${where(module, spec)}: only { Component } can be imported from 'sealbox' (the sandbox provides nothing else); import types with \`import type\``,
                { ...posDetails(module, spec), module: specifier },
              );
            }
            module.imports.set((spec as unknown as { local: Identifier }).local.name, {
              kind: 'component',
              node: spec,
            });
          }
          return;
        }
        const target = this.#resolveSpecifier(module, specifier, stmt);
        this.#addDependency(module, target);
        if (specifiers.length === 0) {
          throw new PackError(
            'ERR_PACK_IMPORT',
            `${where(module, stmt)}: side-effect import of '${specifier}' is not bundled (only declarations are); import the names you use`,
            { ...posDetails(module, stmt), module: specifier },
          );
        }
        for (const spec of specifiers) {
          if (spec.type === 'ImportNamespaceSpecifier') {
            module.imports.set((spec as unknown as { local: Identifier }).local.name, {
              kind: 'namespace',
              module: target,
              node: spec,
            });
            continue;
          }
          const name =
            spec.type === 'ImportDefaultSpecifier'
              ? 'default'
              : specifierName((spec as unknown as { imported: Node }).imported);
          module.imports.set((spec as unknown as { local: Identifier }).local.name, {
            kind: 'module',
            module: target,
            name,
            node: spec,
          });
        }
        return;
      }
      case 'ExportNamedDeclaration': {
        const declaration = s['declaration'] as Node | null;
        if (declaration) {
          const decl = this.#declOf(module, declaration);
          this.#addDecl(module, decl);
          for (const name of decl.names) module.exports.set(name, name);
          return;
        }
        const source = s['source'] as { value: unknown } | null;
        const specifiers = s['specifiers'] as Node[];
        if (source) {
          const specifier = String(source.value);
          if (specifier === 'sealbox') {
            for (const spec of specifiers) {
              const local = specifierName((spec as unknown as { local: Node }).local);
              if (local !== 'Component') {
                throw new PackError(
                  'ERR_PACK_IMPORT',
                  `${where(module, spec)}: only Component comes from 'sealbox'`,
                  {
                    ...posDetails(module, spec),
                    module: specifier,
                  },
                );
              }
              const alias = `\u0000sealbox:${specifierName((spec as unknown as { exported: Node }).exported)}`;
              module.imports.set(alias, { kind: 'component', node: spec });
              module.exports.set(specifierName((spec as unknown as { exported: Node }).exported), alias);
            }
            return;
          }
          const target = this.#resolveSpecifier(module, specifier, stmt);
          this.#addDependency(module, target);
          for (const spec of specifiers) {
            module.reexports.set(specifierName((spec as unknown as { exported: Node }).exported), {
              module: target,
              name: specifierName((spec as unknown as { local: Node }).local),
            });
          }
          return;
        }
        for (const spec of specifiers) {
          module.exports.set(
            specifierName((spec as unknown as { exported: Node }).exported),
            specifierName((spec as unknown as { local: Node }).local),
          );
        }
        return;
      }
      case 'ExportDefaultDeclaration': {
        const declaration = s['declaration'] as Node;
        if (declaration.type === 'Identifier') {
          // `export default Foo;` exports the local binding Foo.
          module.exports.set('default', (declaration as Identifier).name);
          return;
        }
        const synthetic = '\u0000default';
        const decl = this.#declOf(module, declaration, synthetic);
        this.#addDecl(module, decl);
        module.exports.set('default', decl.names[0] as string);
        return;
      }
      case 'ExportAllDeclaration': {
        const specifier = String((s['source'] as { value: unknown }).value);
        const target = this.#resolveSpecifier(module, specifier, stmt);
        this.#addDependency(module, target);
        if (s['exported']) {
          // `export * as ns from './x.js'` exports x's namespace object under one name: a synthetic
          // local (never an identifier, so it cannot clash) bound like `import * as`.
          const exported = specifierName(s['exported'] as Node);
          const alias = `\u0000namespace:${exported}`;
          module.imports.set(alias, { kind: 'namespace', module: target, node: stmt });
          module.exports.set(exported, alias);
          return;
        }
        module.starExports.push(target);
        return;
      }
      case 'FunctionDeclaration':
      case 'ClassDeclaration':
      case 'VariableDeclaration':
        this.#addDecl(module, this.#declOf(module, stmt));
        return;
      default:
        module.others.push(stmt);
    }
  }

  /** What a local name of `module` refers to (link phase). */
  resolveLocal(module: ModuleRecord, name: string, seen = new Set<string>()): Target | undefined {
    return link.resolveLocal(module, name, seen);
  }

  /** What `module` exports as `name` (link phase). */
  resolveExport(
    module: ModuleRecord,
    name: string,
    site: Node,
    siteModule: ModuleRecord,
    seen: Set<string>,
  ): Target {
    return link.resolveExport(module, name, site, siteModule, seen);
  }

  /** The entries of `module`'s namespace object (link phase). */
  namespaceEntries(
    module: ModuleRecord,
    site: Node,
    siteModule: ModuleRecord,
  ): { name: string; target: Target }[] {
    return link.namespaceEntries(module, site, siteModule);
  }

  /** Free references of a declaration, computed once. */
  refsOf(decl: Decl): FreeReference[] {
    if (!decl.refs) {
      const refs = findFreeVariables(decl.node);
      // Defends against code loading in the packed script: dynamic import() and import.meta have no
      // meaning in a sandboxed script, and import() would be the one way to reach a module.
      forEachNode(decl.node, (node) => {
        const isImportMeta =
          node.type === 'MetaProperty' && (node as unknown as { meta: Identifier }).meta.name === 'import';
        if (node.type === 'ImportExpression' || isImportMeta) {
          throw new PackError(
            'ERR_PACK_IMPORT',
            `${where(decl.module, node)}: ${isImportMeta ? 'import.meta' : 'dynamic import()'} cannot be packed: ${NEEDS_RELATIVE}`,
            posDetails(decl.module, node),
          );
        }
      });
      // Defends against a statement the loader cannot compile: top-level await is module-only
      // syntax; in the packed script it would be a syntax error on every node.
      const awaited = topLevelAwait(decl.node);
      if (awaited) {
        throw new PackError(
          'ERR_PACK_SYNTAX',
          `${where(decl.module, awaited)}: top-level await cannot be packed (the sandbox compiles a script, where await is only valid inside async functions); compute the value in an async method, or pass it in params`,
          { ...posDetails(decl.module, awaited), construct: 'top-level await' },
        );
      }
      decl.refs = refs;
    }
    return decl.refs;
  }

  get modules(): ReadonlyMap<string, ModuleRecord> {
    return this.#modules;
  }
}
