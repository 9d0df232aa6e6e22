/**
 * Module-file input for the packer: one ES module (JS or TS) plus the relative modules it imports
 * become one script that declares the entry class at top level.
 *
 * Only top-level declarations (functions, classes, variables) that the entry class needs,
 * transitively, are kept. The entry module's declarations stay at the top level of the script;
 * every other module is wrapped in an arrow-function scope that returns the names others import,
 * so names never clash across files and no identifier has to be rewritten. Modules are emitted in
 * ES module evaluation order (dependencies first), declarations in source order.
 */
import { statSync } from 'node:fs';
import { basename, dirname, relative, resolve, sep } from 'node:path';
import type { Identifier, Node, Program } from 'acorn';
import { PackError } from '../errors.ts';
import { readFileBounded, readRefusalOf } from '../io/read-file.ts';
import { findFreeVariables, type FreeReference } from '../ast/free-variables.ts';
import { parseModule } from '../ast/parse.ts';
import { SANDBOX_GLOBALS } from '../ast/sandbox-globals.ts';
import { forEachNode, SKIP, STOP, walk } from '../ast/walk.ts';
import { ENTRY_CLASS_NAME } from '../names.ts';
import { isTypeScriptFile, stripTypes } from './typescript.ts';

/** Limits for module-file input. */
export interface BundleLimits {
  /** Largest file, and largest packed source, in UTF-8 bytes. */
  readonly maxSourceBytes: number;
  /** Most files followed through relative imports. */
  readonly maxModules: number;
}

/** The packed script and the class to instantiate. */
export interface BundleResult {
  readonly source: string;
  readonly entry: string;
}

interface Decl {
  readonly module: ModuleRecord;
  /** The statement to emit (the declaration, without any `export` wrapper). */
  readonly node: Node;
  readonly names: readonly string[];
  /** Name given to an anonymous default export, if this is one. */
  readonly syntheticName?: string;
  readonly kind: 'function' | 'class' | 'variable' | 'expression';
  /**
   * The class of `const X = class ... {}` (a variable whose only declarator is a class expression):
   * authors export classes that way too, and such a variable can be the entry or a base class.
   */
  readonly classNode?: Node;
  refs?: FreeReference[];
}

type ImportBinding =
  | { readonly kind: 'component'; readonly node: Node }
  | { readonly kind: 'module'; readonly module: ModuleRecord; readonly name: string; readonly node: Node }
  /** `import * as ns from './x.js'`, or the synthetic binding behind `export * as ns from './x.js'`. */
  | { readonly kind: 'namespace'; readonly module: ModuleRecord; readonly node: Node };

interface ModuleRecord {
  readonly file: string;
  readonly display: string;
  readonly source: string;
  readonly program: Program;
  readonly decls: Map<string, Decl[]>;
  readonly imports: Map<string, ImportBinding>;
  /** exported name → local name */
  readonly exports: Map<string, string>;
  readonly reexports: Map<string, { module: ModuleRecord; name: string }>;
  readonly starExports: ModuleRecord[];
  /** Modules this one imports from, in source order. */
  readonly dependencies: ModuleRecord[];
  /** Top-level statements that are not declarations (dropped unless they touch kept code). */
  readonly others: Node[];
}

type Target =
  | { readonly kind: 'decl'; readonly module: ModuleRecord; readonly name: string }
  /** The namespace object of a module (every export it has, frozen, keys sorted). */
  | { readonly kind: 'namespace'; readonly module: ModuleRecord }
  | { readonly kind: 'component' }
  | { readonly kind: 'global' };

const strictUtf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: false });

/**
 * The first `await` (or `for await`) under `root` that is not inside a function: top-level await,
 * which a module allows and a script (what the sandbox compiles) does not.
 */
function topLevelAwait(root: Node): Node | undefined {
  let found: Node | undefined;
  walk(root, undefined, (node) => {
    if (
      node.type === 'FunctionExpression' ||
      node.type === 'FunctionDeclaration' ||
      node.type === 'ArrowFunctionExpression'
    ) {
      return SKIP;
    }
    if (node.type === 'AwaitExpression' || (node.type === 'ForOfStatement' && node['await'] === true)) {
      found = node;
      return STOP;
    }
    return undefined;
  });
  return found;
}

const writtenCache = new WeakMap<ModuleRecord, Set<string>>();

/**
 * Names assigned anywhere in a module (`x = …`, `x += …`, `x++`, destructuring and for-in/of
 * targets). Over-approximates: a shadowing local of the same name counts too.
 */
function writtenNames(module: ModuleRecord): Set<string> {
  let names = writtenCache.get(module);
  if (names) return names;
  const found = new Set<string>();
  forEachNode(module.program, (node) => {
    const n = node as unknown as Record<string, Node>;
    let target: Node | undefined;
    if (node.type === 'AssignmentExpression') target = n['left'];
    else if (node.type === 'UpdateExpression') target = n['argument'];
    else if (
      (node.type === 'ForInStatement' || node.type === 'ForOfStatement') &&
      n['left']?.type !== 'VariableDeclaration'
    ) {
      target = n['left'];
    }
    if (target) for (const name of patternNames(target)) found.add(name);
  });
  names = found;
  writtenCache.set(module, names);
  return names;
}

/**
 * Whether `name`, declared in `module`, is a mutable binding (`let`/`var`, or a function or class
 * declaration: `pick = other` rebinds it) that the module assigns somewhere. A packed script
 * copies such a value once where ES modules keep it live, so an import of it is refused.
 */
function isReassigned(module: ModuleRecord, name: string): boolean {
  const mutable = (module.decls.get(name) ?? []).some(
    (d) =>
      d.kind === 'function' ||
      d.kind === 'class' ||
      (d.kind === 'variable' && (d.node as unknown as { kind: string }).kind !== 'const'),
  );
  return mutable && writtenNames(module).has(name);
}

function where(module: ModuleRecord, node: Node): string {
  const start = node.loc?.start;
  return `${module.display}:${start?.line ?? 0}:${start?.column ?? 0}`;
}

function posDetails(module: ModuleRecord, node: Node): { file: string; line: number; column: number } {
  return { file: module.display, line: node.loc?.start.line ?? 0, column: node.loc?.start.column ?? 0 };
}

function specifierName(node: Node | null | undefined): string {
  if (!node) return 'default';
  if (node.type === 'Identifier') return (node as Identifier).name;
  return String((node as unknown as { value: unknown }).value);
}

/** Where a binding pattern holds further bindings (never defaults or computed keys). */
const PATTERN_KEYS: ReadonlyMap<string, readonly string[]> = new Map([
  ['ObjectPattern', ['properties']],
  ['Property', ['value']],
  ['ArrayPattern', ['elements']],
  ['RestElement', ['argument']],
  ['AssignmentPattern', ['left']],
]);

/** Binding identifiers declared by a pattern (iterative, through the shared walker). */
function patternNames(pattern: Node): string[] {
  const names: string[] = [];
  walk(
    pattern,
    undefined,
    (node) => {
      if (node.type === 'Identifier') names.push((node as unknown as Identifier).name);
      return undefined;
    },
    (node) => PATTERN_KEYS.get(node.type) ?? [],
  );
  return names;
}

/**
 * Names a construct that is newer than ES2024 (so acorn only says "Unexpected token") when the
 * parse error sits on one an author is likely to write: decorators, `accessor` fields, import
 * attributes. Undefined when the error is something else.
 */
function syntaxHint(
  js: string,
  line: number,
  column: number,
):
  | {
      code: 'ERR_PACK_SYNTAX' | 'ERR_PACK_IMPORT';
      construct: string;
      message: string;
      line: number;
      column: number;
    }
  | undefined {
  const lineText = js.split(/\r\n|\r|\n|\u2028|\u2029/)[line - 1];
  if (lineText === undefined) return undefined;
  const before = lineText.slice(0, column);
  const at = lineText.slice(column);
  if (at.startsWith('@')) {
    return {
      code: 'ERR_PACK_SYNTAX',
      construct: 'decorator',
      message: `decorators are not part of ES2024 and need a code transform, which sealbox does not do; remove the decorator and call the wrapper yourself`,
      line,
      column,
    };
  }
  const accessor = /\baccessor\s+$/.exec(before);
  if (accessor) {
    return {
      code: 'ERR_PACK_SYNTAX',
      construct: 'accessor',
      message: `auto-accessor fields (\`accessor x = ...\`) are not part of ES2024; declare a plain field, or a #private field with a get/set pair`,
      line,
      column: accessor.index,
    };
  }
  if (/^(?:with|assert)\s*\{/.test(at) && /^\s*(?:import|export)\b.*['"]\s*$/.test(before)) {
    return {
      code: 'ERR_PACK_IMPORT',
      construct: 'import attributes',
      message: `import attributes (\`with { type: 'json' }\`) are not bundled: the sandbox has no modules; put the data in an artifact (this.artifactJson(name)) or in params`,
      line,
      column,
    };
  }
  return undefined;
}

/** Non-configurable globals of the sandbox: a script that declares one of them does not compile. */
const RESERVED_TOP_LEVEL: ReadonlySet<string> = new Set([
  'Component',
  'Function',
  'undefined',
  'NaN',
  'Infinity',
]);

const NEEDS_RELATIVE =
  'the sandbox has no modules, packages or Node APIs: only relative imports of your own files (./x.js) are ' +
  'bundled. Copy the code you need into a relative file, pass data in params or artifacts, or ask the node for ' +
  'a capability (this.host)';

class Bundler {
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

  /** What a local name of `module` refers to, or undefined when nothing declares it. */
  resolveLocal(module: ModuleRecord, name: string, seen = new Set<string>()): Target | undefined {
    if (module.decls.has(name)) return { kind: 'decl', module, name };
    const binding = module.imports.get(name);
    if (binding?.kind === 'component') return { kind: 'component' };
    if (binding?.kind === 'namespace') return { kind: 'namespace', module: binding.module };
    if (binding) return this.resolveExport(binding.module, binding.name, binding.node, module, seen);
    if (name === 'Component') return { kind: 'component' };
    if (SANDBOX_GLOBALS.has(name)) return { kind: 'global' };
    return undefined;
  }

  /** What `module` exports as `name`; throws ERR_PACK_IMPORT naming the import site when nothing. */
  resolveExport(
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
      const target = this.resolveLocal(module, local, seen);
      if (target && target.kind !== 'global') return target;
    }
    const re = module.reexports.get(name);
    if (re) return this.resolveExport(re.module, re.name, site, siteModule, seen);
    if (name !== 'default') {
      let found: { star: ModuleRecord; target: Target } | undefined;
      for (const star of module.starExports) {
        if (!this.#hasExport(star, name, new Set())) continue;
        const target = this.resolveExport(star, name, site, siteModule, new Set(seen));
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
  namespaceEntries(
    module: ModuleRecord,
    site: Node,
    siteModule: ModuleRecord,
  ): { readonly name: string; readonly target: Target }[] {
    const entries = new Map<string, Target>();
    for (const name of [...module.exports.keys(), ...module.reexports.keys()]) {
      if (name.startsWith('\u0000') || entries.has(name)) continue;
      entries.set(name, this.resolveExport(module, name, site, siteModule, new Set()));
    }
    const ambiguous = new Set<string>();
    for (const name of this.#starNames(module, new Set())) {
      if (name === 'default' || module.exports.has(name) || module.reexports.has(name)) continue;
      for (const star of module.starExports) {
        if (!this.#hasExport(star, name, new Set())) continue;
        const target = this.resolveExport(star, name, site, siteModule, new Set());
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
  #starNames(module: ModuleRecord, seen: Set<ModuleRecord>): Set<string> {
    const names = new Set<string>();
    for (const star of module.starExports) {
      if (seen.has(star)) continue;
      seen.add(star);
      for (const name of [...star.exports.keys(), ...star.reexports.keys()]) {
        if (!name.startsWith('\u0000') && name !== 'default') names.add(name);
      }
      for (const name of this.#starNames(star, seen)) if (name !== 'default') names.add(name);
    }
    return names;
  }

  #hasExport(module: ModuleRecord, name: string, seen: Set<ModuleRecord>): boolean {
    if (seen.has(module)) return false;
    seen.add(module);
    if (module.exports.has(name) || module.reexports.has(name)) return true;
    return module.starExports.some((m) => this.#hasExport(m, name, seen));
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

/** Walks up `extends` through kept classes until Component; throws ERR_PACK_BASE_CLASS otherwise. */
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

function sameTarget(a: Target, b: Target): boolean {
  if (a.kind === 'decl' && b.kind === 'decl') return a.module === b.module && a.name === b.name;
  if (a.kind === 'namespace' && b.kind === 'namespace') return a.module === b.module;
  return a.kind === b.kind;
}

function isIdentifierName(name: string): boolean {
  return /^[A-Za-z_$][A-Za-z0-9_$]*$/.test(name);
}

/**
 * Bundles `file` (absolute path) into one script declaring the class exported as `exportName`.
 * @throws PackError ERR_PACK_SYNTAX, ERR_PACK_TYPESCRIPT, ERR_PACK_IMPORT, ERR_PACK_EXPORT,
 *   ERR_PACK_BASE_CLASS, ERR_PACK_FREE_VARIABLE, ERR_PACK_STATEMENT, ERR_PACK_TOO_LARGE, ERR_PACK_OPTIONS
 */
export function bundleModule(file: string, exportName: string, limits: BundleLimits): BundleResult {
  const bundler = new Bundler(file, limits);
  const entryModule = bundler.load(file);

  // 1. The export: a class declaration.
  const exportsList = [...entryModule.exports.keys(), ...entryModule.reexports.keys()].filter(
    (n) => !n.startsWith('\u0000'),
  );
  const hasExport =
    entryModule.exports.has(exportName) ||
    entryModule.reexports.has(exportName) ||
    entryModule.starExports.length > 0;
  if (!hasExport) {
    throw new PackError(
      'ERR_PACK_EXPORT',
      `${entryModule.display} has no export named '${exportName}' (it exports: ${exportsList.join(', ') || 'nothing'})`,
      { file: entryModule.display, export: exportName, exports: exportsList },
    );
  }
  let target: Target;
  try {
    target = bundler.resolveExport(entryModule, exportName, entryModule.program, entryModule, new Set());
  } catch (error) {
    if (
      error instanceof PackError &&
      error.code === 'ERR_PACK_IMPORT' &&
      entryModule.starExports.length > 0
    ) {
      throw new PackError('ERR_PACK_EXPORT', `${entryModule.display} has no export named '${exportName}'`, {
        file: entryModule.display,
        export: exportName,
      });
    }
    throw error;
  }
  const entryDecl = target.kind === 'decl' ? target.module.decls.get(target.name)?.at(-1) : undefined;
  if (!entryDecl || (entryDecl.kind !== 'class' && !entryDecl.classNode) || target.kind !== 'decl') {
    const what = entryDecl
      ? entryDecl.kind === 'variable'
        ? 'a variable'
        : entryDecl.kind === 'function'
          ? 'a function'
          : 'an expression'
      : target.kind === 'namespace'
        ? 'a module namespace'
        : 'Component itself';
    throw new PackError(
      'ERR_PACK_EXPORT',
      `${entryDecl ? where(entryDecl.module, entryDecl.node) : entryModule.display}: export '${exportName}' is ${what}, not a class; export a \`class ... extends Component\` declaration`,
      {
        file: entryModule.display,
        export: exportName,
        ...(entryDecl ? posDetails(entryDecl.module, entryDecl.node) : {}),
      },
    );
  }
  checkBaseClass(bundler, entryDecl, exportName);
  const entryName = entryDecl.names[0] as string;
  if (!entryDecl.syntheticName && !ENTRY_CLASS_NAME.test(entryName)) {
    // The statement's `entry` is an ASCII identifier; say where the class is, not just its name.
    throw new PackError(
      'ERR_PACK_EXPORT',
      `${where(entryDecl.module, entryDecl.node)}: class name ${entryName.slice(0, 40)} must be an ASCII identifier of at most 128 characters (the statement's entry); rename the class (the export name may stay)`,
      { ...posDetails(entryDecl.module, entryDecl.node), export: exportName },
    );
  }

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
