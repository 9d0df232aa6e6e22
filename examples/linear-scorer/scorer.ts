/**
 * LinearScorer: a logistic-regression relevance scorer whose weights ship as a binary artifact
 * (little-endian float32: DIMENSIONS weights, then the bias).
 */
import { Component } from 'sealbox';
import { DIMENSIONS, features } from './features.ts';

export class LinearScorer extends Component<{ threshold: number }> {
  #weights: Float32Array | undefined;

  #model(): Float32Array {
    if (!this.#weights) {
      const bytes = this.artifacts['weights.bin'];
      if (!bytes || bytes.byteLength !== (DIMENSIONS + 1) * 4)
        throw new Error('weights.bin has the wrong size');
      const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
      this.#weights = Float32Array.from({ length: DIMENSIONS + 1 }, (_, i) => view.getFloat32(i * 4, true));
    }
    return this.#weights;
  }

  score(text: string): number {
    const w = this.#model();
    const x = features(text);
    let z = w[DIMENSIONS]!;
    for (let i = 0; i < DIMENSIONS; i++) z += w[i]! * x[i]!;
    return Math.round((1 / (1 + Math.exp(-z))) * 1e6) / 1e6;
  }

  rank(texts: string[]): { text: string; score: number; relevant: boolean }[] {
    return texts
      .map((text) => {
        const score = this.score(text);
        return { text, score, relevant: score >= this.params.threshold };
      })
      .sort((a, b) => b.score - a.score);
  }
}
