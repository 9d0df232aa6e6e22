/**
 * A decoded source map (v3 `mappings`, base64 VLQ): bundle line/column → original file/line/column.
 * Used to name the package file behind a refusal instead of a bundle offset.
 */

/** A position in an original file. */
export interface OriginalPosition {
  /** Path relative to the project root, `/`-separated (e.g. `node_modules/x/lib/y.js`). */
  readonly file: string;
  /** 1-based line. */
  readonly line: number;
  /** 0-based column. */
  readonly column: number;
}

const BASE64 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';
const DIGIT = new Map([...BASE64].map((c, i) => [c, i]));

/** One line's segments: [generated column, source index, original line, original column]. */
type Segment = readonly [number, number, number, number];

/** Lookup from bundle positions to original positions. */
export class SourceMap {
  readonly #lines: Segment[][];
  readonly #sources: readonly string[];

  /** `sources` must already be relative to the project root. */
  constructor(sources: readonly string[], mappings: string) {
    this.#sources = sources;
    this.#lines = decodeMappings(mappings);
  }

  /**
   * The original position of bundle `line` (1-based) and `column` (0-based): the closest segment at
   * or before the column on that line, else the last mapped line before it. Undefined for code
   * rolldown generated itself (its runtime helpers).
   */
  originalPosition(line: number, column: number): OriginalPosition | undefined {
    for (let l = line - 1; l >= 0 && l >= line - 50; l--) {
      const segments = this.#lines[l];
      if (!segments || segments.length === 0) continue;
      let best: Segment | undefined;
      for (const s of segments) {
        if (l === line - 1 && s[0] > column) break;
        best = s;
      }
      if (!best) continue;
      const file = this.#sources[best[1]];
      if (file === undefined) return undefined;
      return { file, line: best[2] + 1, column: best[3] };
    }
    return undefined;
  }
}

function decodeMappings(mappings: string): Segment[][] {
  const lines: Segment[][] = [];
  let source = 0;
  let origLine = 0;
  let origColumn = 0;
  for (const lineText of mappings.split(';')) {
    const segments: Segment[] = [];
    let column = 0;
    for (const text of lineText.split(',')) {
      if (text === '') continue;
      const values = decodeVlq(text);
      if (values.length < 4) continue;
      column += values[0] as number;
      source += values[1] as number;
      origLine += values[2] as number;
      origColumn += values[3] as number;
      segments.push([column, source, origLine, origColumn]);
    }
    lines.push(segments);
  }
  return lines;
}

function decodeVlq(text: string): number[] {
  const out: number[] = [];
  let value = 0;
  let shift = 0;
  for (const char of text) {
    const digit = DIGIT.get(char);
    if (digit === undefined) return [];
    value += (digit & 31) << shift;
    if (digit & 32) {
      shift += 5;
      continue;
    }
    out.push(value & 1 ? -(value >>> 1) : value >>> 1);
    value = 0;
    shift = 0;
  }
  return out;
}
