/**
 * The sources a new policy-check thread checks while idle, so that its parser, walker and folder
 * are compiled by V8 before real sources queue behind them (check-worker.ts): one small component
 * with the syntax components commonly use, in pieces, so one round is short. Verdicts are thrown
 * away.
 */
export const WARM_SAMPLES: readonly string[] = [
  String.raw`
const STOP = new Set(['a', 'an', 'and', 'the', 'of', 'to', 'in']);
const SPLIT = /[^\p{L}\p{N}]+/u;
function tokens(text, { lower = true, min = 2 } = {}) {
  const out = [];
  for (const raw of text.split(SPLIT)) {
    const word = lower ? raw.toLowerCase() : raw;
    if (word.length >= min && !STOP.has(word)) out.push(word);
  }
  return out;
}
const score = (tf, df, n, len, avg, k1 = 1.2, b = 0.75) =>
  Math.log(1 + (n - df + 0.5) / (df + 0.5)) * ((tf * (k1 + 1)) / (tf + k1 * (1 - b + (b * len) / avg)));
`,
  String.raw`class Index extends Component {
  constructor(params, context) {
    super();
    this.limit = params?.limit ?? 10;
    this.docs = [];
    this.df = new Map();
    this.label = ` +
    '`${context.tenant}/${context.identifier}@${context.version}`' +
    String.raw`;
  }
}
`,
  String.raw`class Index extends Component {
  add(id, text) {
    const words = tokens(String(text));
    const tf = new Map();
    for (const w of words) tf.set(w, (tf.get(w) || 0) + 1);
    for (const w of tf.keys()) this.df.set(w, (this.df.get(w) ?? 0) + 1);
    this.docs.push({ id, tf, len: words.length });
    return { id, words: words.length, unique: tf.size };
  }
}
`,
  String.raw`class Index extends Component {
  rank(query, k = this.limit) {
    const terms = [...new Set(tokens(query))];
    const avg = this.docs.reduce((sum, d) => sum + d.len, 0) / Math.max(1, this.docs.length);
    const hits = this.docs
      .map(({ id, tf, len }) => ({
        id,
        score: terms.reduce((s, t) => s + (tf.has(t) ? score(tf.get(t), this.df.get(t), this.docs.length, len, avg) : 0), 0),
      }))
      .filter((h) => h.score > 0)
      .sort((x, y) => y.score - x.score || (x.id < y.id ? -1 : 1));
    return hits.slice(0, k);
  }
}
`,
  String.raw`class Index extends Component {
  async summarize(ids) {
    const found = [];
    for (const id of ids) {
      const doc = this.docs.find((d) => d.id === id);
      if (!doc) continue;
      const [top] = [...doc.tf.entries()].sort((a, b) => b[1] - a[1]);
      found.push({ id, top: top ? top[0] : null, len: doc.len });
    }
    await Promise.resolve();
    return { label: this.label, found, total: found.length };
  }
}
`,
  String.raw`class Index extends Component {
  chunk(text, size = 80, overlap = 10) {
    const parts = [];
    let i = 0;
    while (i < text.length) {
      let end = Math.min(text.length, i + size);
      const space = text.lastIndexOf(' ', end);
      if (space > i + size / 2 && end < text.length) end = space;
      parts.push(text.slice(i, end).trim());
      if (end >= text.length) break;
      i = Math.max(end - overlap, i + 1);
    }
    return parts.filter(Boolean);
  }
}
`,
  String.raw`class Index extends Component {
  stats() {
    let max = -Infinity;
    let min = Infinity;
    for (const { len } of this.docs) {
      if (len > max) max = len;
      if (len < min) min = len;
    }
    try {
      return JSON.parse(JSON.stringify({ docs: this.docs.length, terms: this.df.size, max, min }));
    } catch (e) {
      return { error: e instanceof Error ? e.message : 'unknown' };
    } finally {
      this.checked = (this.checked | 0) + 1;
    }
  }
}
`,
  String.raw`class Index extends Component {
  describe() {
    switch (this.docs.length) {
      case 0: return 'empty';
      case 1: return 'one document';
      default: return this.docs.length + ' documents, ' + (this.df.size >>> 0) + ' terms';
    }
  }

}
`,
];
