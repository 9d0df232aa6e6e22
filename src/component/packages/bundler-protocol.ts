/**
 * What the pack thread sends the rolldown worker and what comes back (plain structured-clone data).
 */

/** One bundling job. */
export interface BundlerRequest {
  /** Absolute path of the entry module. */
  readonly entry: string;
  /** Project root: module ids and source-map paths are reported relative to it. */
  readonly root: string;
}

/** An import the sandbox cannot have, recorded instead of resolved. */
export interface Refusal {
  readonly reason: 'node-builtin' | 'url' | 'native-addon' | 'not-found';
  readonly specifier: string;
  /** Absolute path of the importing module ('' for the entry). */
  readonly importer: string;
  /** rolldown's import kind: import-statement, dynamic-import, require-call, … */
  readonly kind: string;
}

/** The bundle, or a failure. */
export type BundlerResult =
  | {
      readonly code: string;
      readonly map: { readonly sources: readonly string[]; readonly mappings: string } | null;
      /** Every module in the chunk, with the bytes it contributed. */
      readonly modules: readonly { readonly id: string; readonly renderedLength: number }[];
      readonly refusals: readonly Refusal[];
    }
  | {
      readonly error: {
        readonly code: string;
        readonly message: string;
        readonly details: Readonly<Record<string, unknown>>;
      };
    };
