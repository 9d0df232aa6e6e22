/** Shared builders for envelope and trust tests: deterministic keys, statements, keyrings. */
import { createHash } from 'node:crypto';
import { encodeBase64 } from '../../src/envelope/base64.ts';
import type { Statement } from '../../src/envelope/types.ts';
import { Keyring, type KeyringEntry } from '../../src/trust/keyring.ts';
import { keyPairFromSeed, type KeyPair } from '../../src/trust/keys.ts';

/** A deterministic key pair from a one-byte label. */
export function testKey(label: number): KeyPair {
  return keyPairFromSeed(new Uint8Array(32).fill(label));
}

export const KEY_A = testKey(1);
export const KEY_B = testKey(2);
export const KEY_C = testKey(3);

const SOURCE = 'class Tokenizer extends Component {\n  tokenize(text) { return text.split(/\\W+/); }\n}\n';

function sha(text: string | Uint8Array): string {
  return createHash('sha256').update(text).digest('hex');
}

/** A valid statement; override any field. */
export function makeStatement(overrides: Record<string, unknown> = {}): Statement {
  const source = typeof overrides.source === 'string' ? overrides.source : SOURCE;
  const data = new TextEncoder().encode('{"vocab":["a","b"]}');
  const base: Record<string, unknown> = {
    _type: 'sealbox/component/v1',
    tenant: 'acme',
    identifier: 'tokenizer',
    version: 3,
    entry: 'Tokenizer',
    source,
    sourceSha256: sha(source),
    params: { lowercase: true, n: 2 },
    artifacts: {
      'vocab.json': {
        sha256: sha(data),
        size: data.length,
        mediaType: 'application/json',
        data: encodeBase64(data),
      },
    },
    requires: ['log'],
    repr: "Tokenizer(identifier='tokenizer', version=3)",
    issuedAt: '2026-01-01T00:00:00Z',
    packer: { name: 'sealbox', version: '0.1.0' },
  };
  for (const [k, v] of Object.entries(overrides)) {
    if (v === undefined) delete base[k];
    else base[k] = v;
  }
  return base as unknown as Statement;
}

/** A keyring entry for `pair`; override any field. */
export function entryFor(
  pair: KeyPair,
  overrides: Partial<Record<keyof KeyringEntry, unknown>> = {},
): KeyringEntry {
  return {
    keyid: pair.keyid,
    publicKey: encodeBase64(pair.publicKey),
    tenants: ['acme'],
    identifiers: ['*'],
    status: 'active',
    ...overrides,
  } as KeyringEntry;
}

/** A keyring trusting the given keys for tenant acme, every identifier. */
export function ringOf(...pairs: KeyPair[]): Keyring {
  return Keyring.parse({ version: 1, keys: pairs.map((p) => entryFor(p)) });
}

/** A fixed "now" inside every default window. */
export const NOW = new Date('2026-06-01T00:00:00Z');

/** The 8 small-order points of edwards25519 (canonical encodings), identity first. */
export const SMALL_ORDER_KEYS = [
  '0100000000000000000000000000000000000000000000000000000000000000',
  'ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f',
  '0000000000000000000000000000000000000000000000000000000000000000',
  '0000000000000000000000000000000000000000000000000000000000000080',
  'c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac037a',
  'c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac03fa',
  '26e8958fc2b227b045c3f489f2ef98f0d5dfac05d3c63339b13802886d53fc05',
  '26e8958fc2b227b045c3f489f2ef98f0d5dfac05d3c63339b13802886d53fc85',
].map((h) => new Uint8Array(Buffer.from(h, 'hex')));

/** R = identity (encoded), S = 0: "verifies" for any message under a small-order key if unchecked. */
export const IDENTITY_SIG = new Uint8Array(64);
IDENTITY_SIG[0] = 1;
