/**
 * DedupFilter: drops documents already seen by this tenant, remembering fingerprints in the
 * kv capability (namespaced per tenant by the node). Plain JavaScript.
 */
import { Component } from 'sealbox';

function fingerprint(text) {
  const normalized = text.toLowerCase().replace(/\s+/g, ' ').trim();
  let h1 = 0x811c9dc5;
  let h2 = 0x01000193;
  for (let i = 0; i < normalized.length; i++) {
    const c = normalized.charCodeAt(i);
    h1 = Math.imul(h1 ^ c, 0x01000193) >>> 0;
    h2 = Math.imul(h2 ^ c, 0x5bd1e995) >>> 0;
  }
  return h1.toString(16).padStart(8, '0') + h2.toString(16).padStart(8, '0');
}

export class DedupFilter extends Component {
  async filter(texts) {
    const fresh = [];
    for (const text of texts) {
      const key = `${this.params.prefix}${fingerprint(text)}`;
      if ((await this.host.kv.get(key)) === null) {
        await this.host.kv.set(key, { length: text.length });
        fresh.push(text);
      }
    }
    await this.host.log('info', 'dedup', { received: texts.length, kept: fresh.length });
    return fresh;
  }

  async seen() {
    return (await this.host.kv.list(this.params.prefix)).length;
  }
}
