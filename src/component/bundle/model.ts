/** The bundler's data model: modules, their top-level declarations, bindings and targets. */
import type { Node, Program } from 'acorn';
import type { FreeReference } from '../../ast/free-variables.ts';

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

export interface Decl {
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

export type ImportBinding =
  | { readonly kind: 'component'; readonly node: Node }
  | { readonly kind: 'module'; readonly module: ModuleRecord; readonly name: string; readonly node: Node }
  /** `import * as ns from './x.js'`, or the synthetic binding behind `export * as ns from './x.js'`. */
  | { readonly kind: 'namespace'; readonly module: ModuleRecord; readonly node: Node };

export interface ModuleRecord {
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

export type Target =
  | { readonly kind: 'decl'; readonly module: ModuleRecord; readonly name: string }
  /** The namespace object of a module (every export it has, frozen, keys sorted). */
  | { readonly kind: 'namespace'; readonly module: ModuleRecord }
  | { readonly kind: 'component' }
  | { readonly kind: 'global' };
