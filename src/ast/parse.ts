/**
 * The one way sealbox parses JavaScript: acorn, pinned to the ECMAScript edition the sandbox's V8
 * runs, with locations. The packer, the policy checker and the suggester all go through here;
 * nothing else in src/ imports acorn's parser (test/architecture.test.ts pins that).
 */
import { Parser, type Options, type Program } from 'acorn';
import { PackError } from '../errors.ts';

/**
 * The ECMAScript edition every parse uses.
 * Defends against a parser differential: the policy must see the same syntax tree the isolate's V8
 * will compile, so the edition is pinned here once instead of `'latest'` drifting with acorn.
 */
export const ECMA_VERSION = 2024;

/**
 * The acorn options of every sealbox parse (packer, policy checker, suggester, loader).
 * Defends against a parser differential: one source of truth, so the policy cannot accept a
 * syntax the packer or the sandbox goal rejects (or the reverse). Only `locations` and
 * `onComment` vary; neither changes which programs parse.
 * @example parse(source, acornOptions('script', { locations: false }))
 */
export function acornOptions(
  sourceType: 'script' | 'module',
  extra: { readonly locations?: boolean; readonly onComment?: Options['onComment'] } = {},
): Options {
  // Options are spelled out in full: nothing is left to acorn defaults that could loosen parsing.
  return {
    ecmaVersion: ECMA_VERSION,
    sourceType,
    locations: extra.locations ?? true,
    ranges: false,
    allowHashBang: false,
    allowReturnOutsideFunction: false,
    allowImportExportEverywhere: false,
    allowAwaitOutsideFunction: false,
    allowSuperOutsideMethod: false,
    preserveParens: false,
    ...(extra.onComment ? { onComment: extra.onComment } : {}),
  };
}

/** A scope list gets a name index once it holds this many names (short lists stay plain scans). */
const INDEX_AT = 16;

/**
 * A list of declared names whose `indexOf` is a hash lookup once the list is long.
 * Defends against a parser CPU stall: acorn checks every new declaration with `indexOf` on the
 * names already declared in its scope, so N declarations in one scope (`let a0, a1, …`) cost N²
 * (~25 s for 1 MiB). With this list the same checks, in the same order, cost O(1) each.
 * It answers `indexOf` exactly like an array of strings (the first index, or -1); acorn reads
 * the lists only through `push`, `indexOf` and `[0]`.
 */
class NameList extends Array<string> {
  #first: Map<string, number> | undefined;

  // `map`/`filter` on a NameList (acorn never calls them) give plain arrays.
  static override get [Symbol.species](): ArrayConstructor {
    return Array;
  }

  override push(...names: string[]): number {
    for (const name of names) {
      const at = this.length;
      this[at] = name;
      if (this.#first !== undefined) {
        if (!this.#first.has(name)) this.#first.set(name, at);
      } else if (at + 1 >= INDEX_AT) {
        this.#first = new Map();
        for (let i = at; i >= 0; i--) this.#first.set(this[i]!, i);
      }
    }
    return this.length;
  }

  override indexOf(name: string, fromIndex?: number): number {
    if (this.#first === undefined || fromIndex !== undefined) return super.indexOf(name, fromIndex);
    return this.#first.get(name) ?? -1;
  }
}

/** The parts of acorn's (untyped) parser internals the scope lists live in. */
interface ScopedParser {
  enterScope(flags: number): void;
  currentScope(): { var: string[]; lexical: string[]; functions: string[] };
}

/**
 * acorn with linear-time redeclaration checks: every scope's `var`/`lexical`/`functions` lists
 * are {@link NameList}s. acorn's own rules (which redeclarations are errors) are untouched: only
 * the lists' lookup changes. acorn is pinned (package.json), and test/policy/parser-scopes.test.ts
 * compares this parser with stock acorn on redeclaration cases.
 */
const SealboxParser = Parser.extend(
  (Base) =>
    class extends (Base as unknown as new (...args: never[]) => ScopedParser) {
      override enterScope(flags: number): void {
        super.enterScope(flags);
        const scope = this.currentScope();
        scope.var = new NameList();
        scope.lexical = new NameList();
        scope.functions = new NameList();
      }
    } as unknown as typeof Parser,
);

/**
 * Parses `source` with the pinned options and sealbox's parser (acorn + linear scope lists), and
 * lets acorn's own errors through (a SyntaxError with `pos`, or a RangeError on hostile nesting),
 * for callers that turn them into policy violations.
 * @example parseProgram(source, 'script', { locations: false })
 */
export function parseProgram(
  source: string,
  sourceType: 'script' | 'module',
  extra: { readonly locations?: boolean; readonly onComment?: Options['onComment'] } = {},
): Program {
  return SealboxParser.parse(source, acornOptions(sourceType, extra));
}

function parseAs(source: string, sourceType: 'script' | 'module'): Program {
  if (typeof source !== 'string') {
    throw new PackError('ERR_PACK_SYNTAX', `expected source text (a string), got ${typeof source}`);
  }
  try {
    return parseProgram(source, sourceType);
  } catch (error) {
    if (error instanceof SyntaxError) {
      const loc = (error as SyntaxError & { loc?: { line: number; column: number } }).loc;
      const line = loc?.line ?? 0;
      const column = loc?.column ?? 0;
      // acorn's message already ends with "(line:column)"; keep it, it names the position.
      throw new PackError(
        'ERR_PACK_SYNTAX',
        `source does not parse as an ES${ECMA_VERSION} ${sourceType}: ${error.message}`,
        { line, column, sourceType },
        { cause: error },
      );
    }
    // Defends against a parser crash escaping as an untyped error: a stack overflow on deeply
    // nested input (RangeError) becomes a typed, positionless refusal.
    throw new PackError(
      'ERR_PACK_SYNTAX',
      `source cannot be parsed as an ES${ECMA_VERSION} ${sourceType}: ${error instanceof Error ? error.name : 'error'} (too deeply nested?)`,
      { line: 0, column: 0, sourceType },
      { cause: error },
    );
  }
}

/**
 * Parses `source` with the script goal (what the sandbox compiles: no import/export).
 * @throws PackError `ERR_PACK_SYNTAX` (details `{ line, column }`) when the source does not parse.
 * @example parseScript('class A extends Component {}').body.length // 1
 */
export function parseScript(source: string): Program {
  return parseAs(source, 'script');
}

/**
 * Parses `source` with the module goal (author files given to `pack`).
 * @throws PackError `ERR_PACK_SYNTAX` (details `{ line, column }`) when the source does not parse.
 */
export function parseModule(source: string): Program {
  return parseAs(source, 'module');
}
