/**
 * Makes untrusted text safe to show to a person: terminal controls, bidi overrides and lone
 * surrogates become visible `\uXXXX` escapes. Used for names quoted in refusal messages and by the
 * CLI for every text line bound for a terminal.
 */

// Defends against terminal injection and display spoofing (Trojan Source): C0 controls (ESC starts
// CSI/OSC sequences that clear screens, set titles or write the clipboard), DEL, C1 controls (U+009B
// is a one-character CSI), bidi marks, embeddings, overrides and isolates, line/paragraph
// separators and lone surrogates are all rewritten; nothing else changes.
/* eslint-disable no-control-regex -- matching control characters is the point here. */
const UNSAFE =
  /[\u0000-\u001f\u007f-\u009f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069]|[\ud800-\udfff]/gu;
// As above, with tab and newline kept.
const UNSAFE_KEEP_LINES =
  /[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069]|[\ud800-\udfff]/gu;
/* eslint-enable no-control-regex */

function escape(c: string): string {
  return `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`;
}

/**
 * `text` with every control, bidi and lone-surrogate character shown as `\uXXXX`.
 * With `keepLines`, tab and newline are kept (multi-line terminal output).
 */
export function visibleText(text: string, keepLines = false): string {
  return text.replace(keepLines ? UNSAFE_KEEP_LINES : UNSAFE, escape);
}

/**
 * An untrusted name (a JSON key) for a message: plain names as they are, anything else quoted,
 * escaped and cut to `max` characters.
 */
export function visibleName(name: string, max = 64): string {
  if (/^[A-Za-z0-9_$.-]{1,64}$/.test(name) && name.length <= max) return name;
  return visibleText(JSON.stringify(name.slice(0, max)));
}
