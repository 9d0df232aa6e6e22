/**
 * Deterministic synthetic text corpus for the compute-heavy workload: documents of plain
 * lower-case words, one document per line, word frequencies roughly Zipf-like so BM25 has
 * frequent and rare terms to weigh. Same seed, same bytes, on every machine.
 */

const SYLLABLES = [
  'ka',
  'lo',
  'mi',
  'ne',
  'ru',
  'sa',
  'to',
  'vi',
  'ze',
  'po',
  'da',
  'fe',
  'gu',
  'hi',
  'ju',
  'bo',
];

/** A small seeded PRNG (mulberry32): deterministic, fast, good enough for test data. */
export function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** The vocabulary: `size` distinct words made of 2-4 syllables. */
export function vocabulary(size: number): string[] {
  const words: string[] = [];
  const seen = new Set<string>();
  const random = seededRandom(7);
  while (words.length < size) {
    const syllables = 2 + Math.floor(random() * 3);
    let word = '';
    for (let i = 0; i < syllables; i++) word += SYLLABLES[Math.floor(random() * SYLLABLES.length)];
    if (!seen.has(word)) {
      seen.add(word);
      words.push(word);
    }
  }
  return words;
}

/**
 * Generates a corpus of about `bytes` bytes (ASCII): documents of 60-200 words, one per line.
 * @param bytes - target size in bytes (the result is within one document of it)
 * @param seed - PRNG seed
 */
export function generateCorpus(bytes: number, seed = 1): string {
  const words = vocabulary(4000);
  const random = seededRandom(seed);
  const docs: string[] = [];
  let size = 0;
  while (size < bytes) {
    const length = 60 + Math.floor(random() * 140);
    const doc: string[] = [];
    for (let i = 0; i < length; i++) {
      // Zipf-like: cubing a uniform number favours the head of the vocabulary.
      doc.push(words[Math.floor(random() ** 3 * words.length)]!);
    }
    const line = doc.join(' ');
    docs.push(line);
    size += line.length + 1;
  }
  return docs.join('\n');
}

/** A query of `terms` words taken from the middle of the frequency range (neither stop words nor absent). */
export function corpusQuery(terms = 4): string {
  const words = vocabulary(4000);
  const picked: string[] = [];
  for (let i = 0; i < terms; i++) picked.push(words[40 + i * 37]!);
  return picked.join(' ');
}
