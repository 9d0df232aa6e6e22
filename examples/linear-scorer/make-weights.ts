/** Writes weights.bin for the LinearScorer example: deterministic weights favouring a few words. */
import { writeFileSync } from 'node:fs';
import { DIMENSIONS, hashToken } from './features.ts';

const weights = new Float32Array(DIMENSIONS + 1).fill(-0.2);
for (const word of ['sealbox', 'signed', 'sandbox', 'policy', 'isolate', 'envelope']) {
  weights[hashToken(word) % DIMENSIONS] = 3;
}
weights[DIMENSIONS] = -0.5;
const bytes = new Uint8Array(weights.buffer);
writeFileSync(new URL('./weights.bin', import.meta.url), bytes);
console.log(`wrote weights.bin (${bytes.byteLength} bytes)`);
