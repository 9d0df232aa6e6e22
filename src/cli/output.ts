/** How the CLI prints results and errors, in text or as one JSON object (`--json`). */
import { SealboxError, exitCodeFor } from '../errors.ts';
import { visibleText } from '../envelope/visible.ts';
import type { CliIO } from './context.ts';

/**
 * Text bound for a terminal, with every control character (but tab and newline), bidi mark and
 * lone surrogate shown as a visible `\uXXXX` escape.
 * Defends against terminal injection from untrusted envelopes: an ESC or C1 CSI in a repr, a
 * field name or a message could clear the screen, retitle the window or write the clipboard, and
 * a bidi override could make a line read differently from what it says.
 */
export function terminalSafe(text: string): string {
  return visibleText(text, true);
}

/**
 * JSON text of `value` that is safe for a terminal and still the same JSON: JSON.stringify escapes
 * C0 controls but not C1 (U+009B is a one-character CSI), DEL, bidi overrides (U+202E) or line
 * separators; {@link terminalSafe} rewrites those as `\uXXXX`, which inside a JSON string is an
 * escape of the same character (outside strings JSON text has none of them).
 * Defends against terminal injection through component results, log lines and decision events.
 */
export function jsonText(value: unknown, indent?: number): string {
  return terminalSafe(JSON.stringify(value, null, indent) ?? 'null');
}

/** Prints one JSON object on stdout (terminal-safe, see {@link jsonText}), followed by a newline. */
export function printJson(io: CliIO, value: unknown): void {
  io.stdout(`${jsonText(value, 2)}\n`);
}

/**
 * Reports an error and returns the exit code for it.
 * With `json`, the error goes to stdout as `{ error: { code, message, ... } }`; otherwise a
 * one-line `sealbox: CODE: message` to stderr. Untyped errors are bugs (exit 1).
 */
export function reportError(io: CliIO, error: unknown, json: boolean): number {
  const code = exitCodeFor(error);
  if (error instanceof SealboxError) {
    if (json) printJson(io, { error: error.toJSON() });
    else io.stderr(`sealbox: ${error.code}: ${terminalSafe(error.message)}\n`);
    return code;
  }
  const message = error instanceof Error ? (error.stack ?? error.message) : String(error);
  if (json) printJson(io, { error: { code: 'ERR_INTERNAL', message: 'internal error (a bug in sealbox)' } });
  io.stderr(`sealbox: internal error (a bug in sealbox, please report it):\n${terminalSafe(message)}\n`);
  return code;
}
