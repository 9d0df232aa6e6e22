/**
 * The one way sealbox parses JavaScript: acorn, pinned to the ECMAScript edition the sandbox's V8
 * runs, with locations. The packer, the policy checker and the suggester all go through here;
 * nothing else in src/ imports acorn's parser (test/architecture.test.ts pins that).
 */
import { parse, type Options, type Program } from 'acorn';
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

/**
 * Parses `source` with the pinned options and lets acorn's own errors through (a SyntaxError with
 * `pos`, or a RangeError on hostile nesting), for callers that turn them into policy violations.
 * @example parseProgram(source, 'script', { locations: false })
 */
export function parseProgram(
  source: string,
  sourceType: 'script' | 'module',
  extra: { readonly locations?: boolean; readonly onComment?: Options['onComment'] } = {},
): Program {
  return parse(source, acornOptions(sourceType, extra));
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
