/** Feature extraction for LinearScorer: hashed bag of words, L2-normalised. */

export const DIMENSIONS = 64;

/** FNV-1a 32-bit hash of a token. */
export function hashToken(token: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < token.length; i++) {
    h ^= token.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h;
}

export function features(text: string): Float64Array {
  const v = new Float64Array(DIMENSIONS);
  for (const token of text.toLowerCase().split(/[^\p{L}\p{N}]+/u)) {
    if (token) v[hashToken(token) % DIMENSIONS]! += 1;
  }
  const norm = Math.hypot(...v);
  if (norm > 0) for (let i = 0; i < v.length; i++) v[i]! /= norm;
  return v;
}
