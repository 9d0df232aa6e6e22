/** Positions and snippets: offsets to acorn-style line/column, and the capped offending line. */

const SNIPPET_MAX = 120;

/** Maps UTF-16 offsets to 1-based lines and 0-based columns, with acorn's line terminators. */
export class SourceText {
  readonly #text: string;
  #starts: number[] | undefined;

  constructor(text: string) {
    this.#text = text;
  }

  #lineStarts(): number[] {
    if (this.#starts) return this.#starts;
    const starts = [0];
    const text = this.#text;
    for (let i = 0; i < text.length; i++) {
      const c = text.charCodeAt(i);
      if (c === 10 || c === 0x2028 || c === 0x2029) starts.push(i + 1);
      else if (c === 13) {
        if (text.charCodeAt(i + 1) === 10) i++;
        starts.push(i + 1);
      }
    }
    this.#starts = starts;
    return starts;
  }

  /** 1-based line and 0-based column of `offset`. */
  position(offset: number): { line: number; column: number } {
    const starts = this.#lineStarts();
    let lo = 0;
    let hi = starts.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (starts[mid]! <= offset) lo = mid;
      else hi = mid - 1;
    }
    return { line: lo + 1, column: offset - starts[lo]! };
  }

  /** The line holding `offset`, trimmed and capped around the column. */
  snippet(offset: number): string {
    const starts = this.#lineStarts();
    const { line, column } = this.position(offset);
    const start = starts[line - 1]!;
    let end = line < starts.length ? starts[line]! : this.#text.length;
    while (end > start && /[\r\n\u2028\u2029]/.test(this.#text[end - 1]!)) end--;
    const full = this.#text.slice(start, end);
    if (full.length <= SNIPPET_MAX) return sanitize(full.trim());
    const from = Math.max(0, Math.min(column - SNIPPET_MAX / 3, full.length - SNIPPET_MAX));
    const piece = full.slice(from, from + SNIPPET_MAX).trim();
    return sanitize(`${from > 0 ? '…' : ''}${piece}${from + SNIPPET_MAX < full.length ? '…' : ''}`);
  }
}

/** Control characters and lone surrogates become visible escapes (snippets go to terminals and logs). */
// Defends against terminal escape and Trojan Source tricks in snippets: controls, bidi overrides and
// lone surrogates are shown as \uXXXX.
// eslint-disable-next-line no-control-regex -- matching control characters is the point here.
const UNSAFE = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069]|[\ud800-\udfff]/gu;

function sanitize(text: string): string {
  return text.replace(UNSAFE, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}
