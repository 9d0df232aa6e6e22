/**
 * Module-file input that imports npm packages: rolldown bundles the entry, its relative imports and
 * the packages into one ES module (tree-shaken, deterministic), which becomes the packed script:
 * the `sealbox` import and the export list are cut (line count kept, so the source map still
 * holds), the entry class is found, and the script goes through the same free-variable analysis
 * as every packed source. Refusals name the package and the file inside it.
 */
import { existsSync, readFileSync, statSync } from 'node:fs';
import { dirname, isAbsolute, join, relative, resolve, sep } from 'node:path';
import type { Identifier, Node, Program } from 'acorn';
import { PackError } from '../../errors.ts';
import { ENTRY_CLASS_NAME } from '../../names.ts';
import type { Dependency } from '../../envelope/types.ts';
import { findFreeVariables } from '../../ast/free-variables.ts';
import { parseModule, parseScript } from '../../ast/parse.ts';
import { SANDBOX_GLOBALS } from '../../ast/sandbox-globals.ts';
import { forEachNode } from '../../ast/walk.ts';
import type { BundlerResult, Refusal } from './bundler-protocol.ts';
import { dependenciesOf, packageOf } from './package-info.ts';
import { runBundler } from './run-bundler.ts';
import { SourceMap, type OriginalPosition } from './source-map.ts';

/** What bundling with packages produces. */
export interface PackageBundle {
  readonly source: string;
  readonly entry: string;
  /** Packages that contributed bytes (empty when none did). */
  readonly dependencies: readonly Dependency[];
}

const REASONS: Record<Refusal['reason'] | 'dynamic-import' | 'import-meta', string> = {
  'node-builtin': 'is a Node built-in; the sandbox has only ECMAScript built-ins',
  url: 'is a URL; packed components cannot load code from the network',
  'native-addon': 'is a native addon; the sandbox runs JavaScript only',
  'dynamic-import': 'is a dynamic import() with a computed specifier; only literal specifiers can be bundled',
  'import-meta': 'uses import.meta; packed components are scripts',
  'not-found': 'cannot be found: install it (npm install) in the project that holds this file',
};

/** Where `specifier` is first imported in `file` (1-based line, column of the statement's line). */
function importSite(file: string, specifier: string): { line: number; column: number } | undefined {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch {
    return undefined;
  }
  const at = Math.max(text.indexOf(`'${specifier}'`), text.indexOf(`"${specifier}"`));
  if (at < 0) return undefined;
  const before = text.slice(0, at);
  const lineStart = before.lastIndexOf('\n') + 1;
  const indent = /^\s*/.exec(text.slice(lineStart))?.[0].length ?? 0;
  return { line: before.split('\n').length, column: indent };
}

/** The project root: the nearest folder above `file` with a package.json, outside node_modules. */
export function projectRoot(file: string): string {
  let dir = dirname(file);
  for (;;) {
    if (!dir.split(sep).includes('node_modules') && existsSync(join(dir, 'package.json'))) return dir;
    const up = dirname(dir);
    if (up === dir) return dirname(file);
    dir = up;
  }
}

function display(root: string, file: string): string {
  return relative(root, file).split(sep).join('/');
}

function refuse(
  root: string,
  reason: keyof typeof REASONS,
  specifier: string,
  where: { file: string; line?: number; column?: number },
): never {
  const pkg = packageOf(isAbsolute(where.file) ? where.file : resolve(root, where.file));
  const file = isAbsolute(where.file) ? display(root, where.file) : where.file;
  const at = where.line === undefined ? file : `${file}:${where.line}:${where.column ?? 0}`;
  throw new PackError(
    reason === 'not-found' ? 'ERR_PACK_IMPORT' : 'ERR_PACK_PACKAGE',
    `${at}: ${pkg ? `package ${pkg.name} imports` : 'imports'} '${specifier.slice(0, 200)}', which ${REASONS[reason]}`,
    {
      reason,
      specifier: specifier.slice(0, 200),
      file,
      module: specifier.slice(0, 200),
      ...(pkg ? { package: pkg.name } : {}),
      ...(where.line === undefined ? {} : { line: where.line, column: where.column ?? 0 }),
    },
  );
}

type Chunk = Exclude<BundlerResult, { error: unknown }>;

function runChecked(entry: string, root: string): Chunk {
  const result = runBundler({ entry, root });
  if ('error' in result) {
    const { code, message, details } = result.error;
    const known = code.startsWith('ERR_PACK_') ? code : 'ERR_PACK_IMPORT';
    throw new PackError(known as 'ERR_PACK_IMPORT', message.slice(0, 2000), details);
  }
  const first = result.refusals[0];
  if (first) {
    const importer = first.importer || entry;
    const site = first.kind === 'load' ? undefined : importSite(importer, first.specifier);
    refuse(root, first.reason, first.specifier, { file: importer, ...site });
  }
  return result;
}

/** Replaces `node`'s text, keeping the line count (the source map stays valid). */
function splice(
  edits: { start: number; end: number; text: string }[],
  code: string,
  node: Node,
  text: string,
): void {
  const newlines = code.slice(node.start, node.end).split('\n').length - 1;
  edits.push({ start: node.start, end: node.end, text: text + '\n'.repeat(newlines) });
}

/**
 * Bundles `file` (absolute path) and the packages it imports into one script declaring the class
 * exported as `exportName`.
 * @throws PackError ERR_PACK_PACKAGE, ERR_PACK_IMPORT, ERR_PACK_EXPORT, ERR_PACK_BASE_CLASS,
 *   ERR_PACK_FREE_VARIABLE, ERR_PACK_SYNTAX, ERR_PACK_TYPESCRIPT, ERR_PACK_TOO_LARGE
 */
export function bundleWithPackages(
  file: string,
  exportName: string,
  limits: { readonly maxSourceBytes: number },
): PackageBundle {
  if (!statSync(file, { throwIfNoEntry: false })?.isFile()) {
    throw new PackError('ERR_PACK_OPTIONS', `cannot read ${file}`, { file });
  }
  const root = projectRoot(file);
  const chunk = runChecked(file, root);
  const map = chunk.map
    ? new SourceMap(
        // Source-map paths are relative to the (virtual) output file in the root: make them root-relative.
        chunk.map.sources.map((s) => display(root, resolve(root, s))),
        chunk.map.mappings,
      )
    : undefined;
  const origin = (line: number, column: number): OriginalPosition =>
    map?.originalPosition(line, column) ?? { file: '(bundle)', line, column };

  const code = chunk.code;
  const program: Program = parseModule(code);
  const edits: { start: number; end: number; text: string }[] = [];
  let componentLocal: string | undefined;
  const exported = new Map<string, string>(); // exported name → local name
  for (const stmt of program.body as Node[]) {
    if (stmt.type === 'ImportDeclaration') {
      const s = stmt as unknown as { source: { value: string }; specifiers: Node[] };
      const lines: string[] = [];
      for (const spec of s.specifiers) {
        const sp = spec as unknown as { type: string; imported?: Identifier; local: Identifier };
        if (spec.type !== 'ImportSpecifier' || sp.imported?.name !== 'Component') {
          throw new PackError(
            'ERR_PACK_IMPORT',
            `'${s.source.value}': only { Component } can be imported from sealbox`,
            { module: s.source.value },
          );
        }
        componentLocal = sp.local.name;
        if (sp.local.name !== 'Component') lines.push(`const ${sp.local.name} = Component;`);
      }
      splice(edits, code, stmt, lines.join(' '));
    } else if (stmt.type === 'ExportNamedDeclaration' || stmt.type === 'ExportDefaultDeclaration') {
      const s = stmt as unknown as {
        declaration: Node | null;
        specifiers: { local: Identifier; exported: Identifier }[];
      };
      if (stmt.type === 'ExportDefaultDeclaration' || s.declaration) {
        throw new PackError(
          'ERR_PACK_EXPORT',
          'the bundle exports a declaration directly; expected an export list',
        );
      }
      for (const spec of s.specifiers) exported.set(spec.exported.name, spec.local.name);
      splice(edits, code, stmt, '');
    }
  }

  // Whatever is left must work in a script: no computed import(), no import.meta.
  forEachNode(program, (node) => {
    if (node.type === 'ImportExpression' || node.type === 'MetaProperty') {
      const pos = origin(node.loc?.start.line ?? 0, node.loc?.start.column ?? 0);
      const text = code.slice(node.start, Math.min(node.end, node.start + 80));
      refuse(root, node.type === 'ImportExpression' ? 'dynamic-import' : 'import-meta', text, pos);
    }
  });

  const local = exported.get(exportName);
  if (local === undefined) {
    throw new PackError(
      'ERR_PACK_EXPORT',
      `${display(root, file)} has no export named '${exportName}' (it exports: ${[...exported.keys()].join(', ') || 'nothing'})`,
      { file: display(root, file), export: exportName, exports: [...exported.keys()] },
    );
  }
  checkEntryClass(program, local, componentLocal, display(root, file), exportName);
  if (!ENTRY_CLASS_NAME.test(local)) {
    throw new PackError('ERR_PACK_EXPORT', `class name ${local.slice(0, 40)} must be an ASCII identifier`, {
      export: exportName,
    });
  }

  let script = code;
  for (const e of edits.sort((a, b) => b.start - a.start))
    script = script.slice(0, e.start) + e.text + script.slice(e.end);
  // Same line 1: 'use strict' goes in front (ES module code is strict; the script must be too).
  script = `'use strict';${script.replace(/\n\/\/# sourceMappingURL=[^\n]*\n?$/, '\n')}`;

  // The free-variable analysis every packed source gets: names neither the bundle nor the sandbox
  // define (process, require, console, …) are refused, pointing at the package file.
  const unknown = findFreeVariables(parseScript(script)).filter((r) => !SANDBOX_GLOBALS.has(r.name));
  if (unknown.length > 0) {
    const seen = new Set<string>();
    const names = unknown
      .map((r) => ({ name: r.name, ...origin(r.line, r.column) }))
      .filter((r) => !seen.has(`${r.name}@${r.file}`) && seen.add(`${r.name}@${r.file}`));
    const list = names
      .slice(0, 20)
      .map((n) => {
        const pkg = packageOf(resolve(root, n.file));
        return `${n.name} (${pkg ? `package ${pkg.name}, ` : ''}${n.file}:${n.line}:${n.column})`;
      })
      .join(', ');
    throw new PackError(
      'ERR_PACK_FREE_VARIABLE',
      `the bundle uses names the sandbox does not define: ${list}. Only ECMAScript built-ins and Component exist in the sandbox (no process, require, console, timers or fetch)`,
      { names: names.slice(0, 100) },
    );
  }

  const size = new TextEncoder().encode(script).byteLength;
  if (size > limits.maxSourceBytes) tooLarge(chunk, root, size, limits.maxSourceBytes);

  const contributing = chunk.modules
    .filter((m) => m.renderedLength > 0 && !m.id.startsWith('\u0000') && isAbsolute(m.id))
    .map((m) => m.id);
  return { source: script, entry: local, dependencies: dependenciesOf(contributing, root) };
}

/** ERR_PACK_TOO_LARGE saying by how much, and which packages weigh most. */
function tooLarge(chunk: Chunk, root: string, size: number, limit: number): never {
  const byPackage = new Map<string, number>();
  for (const m of chunk.modules) {
    const name = packageOf(m.id)?.name ?? (m.id.startsWith('\u0000') ? '(bundler runtime)' : '(your files)');
    byPackage.set(name, (byPackage.get(name) ?? 0) + m.renderedLength);
  }
  const top = [...byPackage].sort((a, b) => b[1] - a[1]).slice(0, 5);
  throw new PackError(
    'ERR_PACK_TOO_LARGE',
    `the packed source is ${size} bytes, ${size - limit} bytes over the ${limit}-byte limit; largest parts: ${top.map(([n, b]) => `${n} ${b} B`).join(', ')}`,
    { size, limit, over: size - limit, parts: Object.fromEntries(top), root: display(root, root) || '.' },
  );
}

/** The export must be a class declared at the bundle's top level whose base chain reaches Component. */
function checkEntryClass(
  program: Program,
  local: string,
  componentLocal: string | undefined,
  file: string,
  exportName: string,
): void {
  const classes = new Map<string, Node>();
  for (const stmt of program.body as Node[]) {
    if (stmt.type === 'ClassDeclaration') {
      const id = (stmt as unknown as { id: Identifier | null }).id;
      if (id) classes.set(id.name, stmt);
    } else if (stmt.type === 'VariableDeclaration') {
      for (const d of (stmt as unknown as { declarations: { id: Node; init: Node | null }[] }).declarations) {
        // rolldown writes classes as `var X = class extends Base {…}`.
        if (d.id.type === 'Identifier' && d.init?.type === 'ClassExpression')
          classes.set((d.id as Identifier).name, d.init);
      }
    }
  }
  let name = local;
  const seen = new Set<string>();
  for (;;) {
    const node = classes.get(name);
    if (!node) {
      throw new PackError(
        'ERR_PACK_EXPORT',
        `${file}: export '${exportName}' is not a class; export a \`class ... extends Component\``,
        { file, export: exportName },
      );
    }
    const sup = (node as unknown as { superClass: Node | null }).superClass;
    if (sup?.type === 'Identifier' && (sup as Identifier).name === componentLocal) return;
    if (sup?.type !== 'Identifier' || seen.has(name)) {
      throw new PackError(
        'ERR_PACK_BASE_CLASS',
        `${file}: class ${exportName} does not extend Component from 'sealbox' (directly or through classes in the bundle)`,
        { file, export: exportName },
      );
    }
    seen.add(name);
    name = (sup as Identifier).name;
  }
}
