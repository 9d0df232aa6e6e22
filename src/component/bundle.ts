/**
 * Module-file input for the packer: one ES module (JS or TS) plus the relative modules it imports
 * become one script that declares the entry class at top level.
 *
 * Only top-level declarations (functions, classes, variables) that the entry class needs,
 * transitively, are kept. The entry module's declarations stay at the top level of the script;
 * every other module is wrapped in an arrow-function scope that returns the names others import,
 * so names never clash across files and no identifier has to be rewritten. Modules are emitted in
 * ES module evaluation order (dependencies first), declarations in source order.
 *
 * The phases live in bundle/: graph (read, parse, index each file), link (what names refer to),
 * reach (what the class needs), order (which scope runs first), emit (the script). A module graph
 * that imports an npm package is bundled by rolldown instead (packages/, docs/authoring.md).
 */
import { PackError } from '../errors.ts';
import { ENTRY_CLASS_NAME } from '../names.ts';
import { emitScript } from './bundle/emit.ts';
import { Bundler } from './bundle/graph.ts';
import type { BundleLimits, BundleResult, Target } from './bundle/model.ts';
import { moduleOrder } from './bundle/order.ts';
import { checkBaseClass, reach } from './bundle/reach.ts';
import { posDetails, where } from './bundle/util.ts';

export type { BundleLimits, BundleResult } from './bundle/model.ts';

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

  // 2-3. Everything the entry class needs, and what a script would silently change.
  const reached = reach(bundler, entryModule, entryDecl, target);
  // 4. The order the emitted scopes run in.
  const order = moduleOrder(bundler, entryModule, reached);
  // 5-6. The script.
  return emitScript(bundler, entryModule, entryDecl, entryName, reached, order);
}
