/**
 * TypeScript support for the packer: type annotations are erased with Node's built-in
 * `stripTypeScriptTypes` (strip mode: types become whitespace, so every line and column of the
 * JavaScript that remains is the author's). Constructs that need a code transform are refused.
 */
import * as nodeModule from 'node:module';
import { PackError } from '../errors.ts';

/** Whether a file name is TypeScript by its extension. */
export function isTypeScriptFile(file: string): boolean {
  return /\.(?:ts|mts|cts)$/i.test(file) && !/\.d\.(?:ts|mts|cts)$/i.test(file);
}

const CONSTRUCTS: readonly { readonly name: string; readonly pattern: RegExp; readonly instead: string }[] = [
  {
    name: 'enum',
    pattern: /\b(?:const\s+)?enum\s+[A-Za-z_$][\w$]*\s*\{/,
    instead: 'use a frozen object of constants',
  },
  {
    name: 'namespace',
    pattern: /\b(?:namespace|module)\s+[A-Za-z_$][\w$.]*\s*\{/,
    instead: 'use top-level functions and constants',
  },
  {
    name: 'parameter property',
    pattern: /\bconstructor\s*\([^)]*?\b(?:public|private|protected|readonly|override)\s+[A-Za-z_$]/,
    instead: 'declare the field in the class body and assign it in the constructor',
  },
  {
    name: 'import equals',
    pattern: /\b(?:import\s+[A-Za-z_$][\w$]*\s*=|export\s*=)/,
    instead: 'write `import { x } from "./file.js"` or `export default`',
  },
  {
    name: 'angle-bracket',
    pattern: /(?<=(?:[=(,:?!&|]|\breturn)\s*)<[A-Za-z_$][\w$.]*(?:\[\])*>\s*[A-Za-z_$([]/,
    instead: 'write `expr as T` instead of `<T>expr`',
  },
  {
    name: 'decorator',
    pattern: /^\s*@[A-Za-z_$]/m,
    instead: 'remove the decorator (decorators are not part of ES2024)',
  },
];

function positionOf(source: string, index: number): { line: number; column: number } {
  let line = 1;
  let lineStart = 0;
  for (let i = source.indexOf('\n'); i !== -1 && i < index; i = source.indexOf('\n', i + 1)) {
    line += 1;
    lineStart = i + 1;
  }
  return { line, column: index - lineStart };
}

type Strip = (code: string, options: { mode: 'strip' }) => string;

/**
 * Where Node's stripper fails: it reports no position, so find the shortest prefix of whole lines
 * that fails with the same message (binary search; a shorter prefix either strips or fails at its
 * end with another message). The column is the line's first non-blank character.
 */
function locateFailure(source: string, strip: Strip, message: string): { line: number; column: number } {
  const lines = source.split('\n');
  const failsTheSame = (count: number): boolean => {
    try {
      strip(lines.slice(0, count).join('\n'), { mode: 'strip' });
      return false;
    } catch (error) {
      return (error instanceof Error ? error.message : String(error)) === message;
    }
  };
  let low = 1;
  let high = lines.length;
  if (!failsTheSame(high)) return { line: 0, column: 0 };
  while (low < high) {
    const mid = Math.floor((low + high) / 2);
    if (failsTheSame(mid)) high = mid;
    else low = mid + 1;
  }
  const text = lines[low - 1] ?? '';
  return { line: low, column: text.length - text.trimStart().length };
}

/**
 * Erases TypeScript types from `source`, keeping positions.
 * @throws PackError `ERR_PACK_TYPESCRIPT` naming the construct (enum, namespace, parameter
 *   property, ...) and its `file:line:column` when the file needs a transform;
 *   `ERR_PACK_SYNTAX` when the TypeScript does not parse.
 */
export function stripTypes(source: string, file: string): string {
  const strip = (nodeModule as unknown as { stripTypeScriptTypes?: Strip }).stripTypeScriptTypes;
  if (typeof strip !== 'function') {
    throw new PackError(
      'ERR_PACK_TYPESCRIPT',
      `${file}: this Node has no stripTypeScriptTypes (need Node >= 23.2)`,
    );
  }
  try {
    return strip(source, { mode: 'strip' });
  } catch (error) {
    const code = (error as { code?: unknown }).code;
    const message = error instanceof Error ? error.message : String(error);
    if (code === 'ERR_UNSUPPORTED_TYPESCRIPT_SYNTAX') {
      // Node names the construct but not where it is: find the first match to point the author at.
      for (const construct of CONSTRUCTS) {
        const match = construct.pattern.exec(source);
        if (match && message.toLowerCase().includes(construct.name.split(' ')[0] as string)) {
          const { line, column } = positionOf(source, match.index);
          throw new PackError(
            'ERR_PACK_TYPESCRIPT',
            `${file}:${line}:${column}: TypeScript ${construct.name} needs a code transform, which sealbox does not do; ${construct.instead}`,
            { file, line, column, construct: construct.name },
          );
        }
      }
      // No prefix search here: Node reports these only once the whole file parses.
      const line = 0;
      const column = 0;
      throw new PackError(
        'ERR_PACK_TYPESCRIPT',
        `${file}:${line}:${column}: ${message}; use only erasable TypeScript`,
        { file, line, column },
      );
    }
    const { line, column } = locateFailure(source, strip, message);
    throw new PackError(
      'ERR_PACK_SYNTAX',
      `${file}:${line}:${column}: TypeScript does not parse: ${message.split('\n')[0] ?? ''}`,
      { file, line, column },
    );
  }
}
