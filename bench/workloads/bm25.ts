/**
 * Compute-heavy workload: a BM25 ranker component. One `rank(query, limit)` call tokenises the
 * whole corpus (held as a text artifact), builds term and document frequencies and scores every
 * document, so a call over the 1 MB corpus is tens of milliseconds of pure JavaScript and the
 * boundary cost of the engine is negligible next to it: this measures the engine's compute speed.
 */
import { corpusQuery, generateCorpus } from './corpus.ts';
import type { WorkloadComponent } from '../peers/engine.ts';

/** Class name of the ranker inside {@link BM25_SOURCE}. */
export const BM25_ENTRY = 'Bm25Ranker';

/**
 * Script source of the ranker (ES2022, no imports, only ECMAScript built-ins), written as a
 * sealbox component: it extends the `Component` base the sandbox provides.
 */
export const BM25_SOURCE = `
class Bm25Ranker extends Component {
  constructor(params, context) {
    super(params, context);
    this.k1 = params.k1;
    this.b = params.b;
    this.text = this.artifactText('corpus');
  }

  tokenize(text) {
    return text.toLowerCase().split(/[^a-z0-9]+/).filter((token) => token.length > 0);
  }

  rank(query, limit) {
    const docs = this.text.split('\\n');
    const documentFrequency = new Map();
    const termFrequencies = [];
    let totalLength = 0;
    for (const doc of docs) {
      const frequencies = new Map();
      const tokens = this.tokenize(doc);
      for (const token of tokens) frequencies.set(token, (frequencies.get(token) || 0) + 1);
      for (const token of frequencies.keys()) {
        documentFrequency.set(token, (documentFrequency.get(token) || 0) + 1);
      }
      termFrequencies.push(frequencies);
      totalLength += tokens.length;
    }
    const count = docs.length;
    const averageLength = totalLength / count;
    const terms = this.tokenize(query);
    const scored = [];
    for (let i = 0; i < count; i++) {
      const frequencies = termFrequencies[i];
      let length = 0;
      for (const value of frequencies.values()) length += value;
      let score = 0;
      for (const term of terms) {
        const tf = frequencies.get(term) || 0;
        if (tf === 0) continue;
        const df = documentFrequency.get(term) || 0;
        const idf = Math.log(1 + (count - df + 0.5) / (df + 0.5));
        score += (idf * tf * (this.k1 + 1)) / (tf + this.k1 * (1 - this.b + (this.b * length) / averageLength));
      }
      if (score > 0) scored.push({ doc: i, score });
    }
    scored.sort((x, y) => y.score - x.score || x.doc - y.doc);
    return scored.slice(0, limit).map((hit) => ({ doc: hit.doc, score: Math.round(hit.score * 1e6) / 1e6 }));
  }
}
`;

/**
 * The ranker workload over a generated corpus of `corpusBytes` bytes.
 * @param corpusBytes - corpus size (the figure is 1 MB)
 */
export function bm25Workload(corpusBytes: number): { component: WorkloadComponent; query: string } {
  return {
    component: {
      source: BM25_SOURCE,
      entry: BM25_ENTRY,
      params: { k1: 1.2, b: 0.75 },
      artifacts: { corpus: generateCorpus(corpusBytes) },
    },
    query: corpusQuery(),
  };
}
