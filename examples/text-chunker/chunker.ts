/**
 * TextChunker: splits documents into overlapping chunks for retrieval (RAG ingestion).
 * Chunks end on sentence or word boundaries where possible; params set the size and overlap.
 */
import { Component } from 'sealbox';

export interface ChunkerParams {
  /** Largest chunk, in characters. */
  maxChars: number;
  /** Characters repeated from the end of one chunk at the start of the next. */
  overlap: number;
  [key: string]: number;
}

export interface Chunk {
  index: number;
  start: number;
  end: number;
  text: string;
}

function boundaryBefore(text: string, limit: number, floor: number): number {
  for (const mark of ['\n\n', '. ', '! ', '? ', '\n', ' ']) {
    const at = text.lastIndexOf(mark, limit - mark.length);
    if (at > floor) return at + mark.length;
  }
  return limit;
}

export class TextChunker extends Component<ChunkerParams> {
  chunk(text: string): Chunk[] {
    const { maxChars = 200, overlap = 40 } = this.params;
    const chunks: Chunk[] = [];
    let start = 0;
    while (start < text.length) {
      const limit = Math.min(start + maxChars, text.length);
      const end = limit === text.length ? limit : boundaryBefore(text, limit, start + overlap);
      const piece = text.slice(start, end).trim();
      if (piece) chunks.push({ index: chunks.length, start, end, text: piece });
      if (end >= text.length) break;
      // Step back by `overlap`, then forward to the start of a word so no chunk begins mid-word.
      let next = Math.max(end - overlap, start + 1);
      while (next < end && !/\s/.test(text[next - 1]!)) next++;
      start = next;
    }
    return chunks;
  }

  stats(text: string): { chars: number; words: number; chunks: number } {
    const words = text.split(/\s+/).filter(Boolean).length;
    return { chars: text.length, words, chunks: this.chunk(text).length };
  }
}
