/**
 * False positives are bugs: realistic components a data/AI platform user would write (not written
 * for sealbox's tests), each packed from its file, signed, checked against the DEFAULT policy
 * (zero violations), loaded through createLoader and called; every result must equal what the
 * same class returns when run directly in Node (after a JSON round trip, as results cross as JSON).
 */
import { rmSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ComponentContext, Host } from '../../src/component/component.ts';
import { pack, type ArtifactInput } from '../../src/component/pack.ts';
import { canonicalize } from '../../src/envelope/canonical-json.ts';
import type { JsonValue } from '../../src/envelope/types.ts';
import { ComponentError } from '../../src/errors.ts';
import { createLoader, type Loader } from '../../src/loader.ts';
import { checkSource } from '../../src/policy/check.ts';
import { loadPolicy } from '../../src/policy/load.ts';
import type { EffectivePolicy } from '../../src/policy/types.ts';
import { MemoryKvStore } from '../../src/sandbox/kv-store.ts';
import { signEnvelope } from '../../src/trust/sign.ts';
import { bigintGrantingPolicyText } from '../policy/support.ts';
import { makeWorld, type World } from './helpers.ts';

const DIR = fileURLToPath(new URL('../fixtures/realistic/', import.meta.url));

type Call = readonly [method: string, ...args: JsonValue[]];

interface Case {
  readonly file: string;
  readonly export: string;
  readonly params?: JsonValue;
  readonly artifacts?: Readonly<Record<string, Uint8Array>>;
  readonly requires?: readonly string[];
  readonly calls: readonly Call[];
  /**
   * Uses BigInt: the default policy refuses it (syntax.bigint, docs/policy.md, BigInt), so it runs
   * under default.yaml plus the BigInt grant.
   */
  readonly bigint?: true;
  /** Calls that must throw both in Node and in the sandbox (ERR_COMPONENT_THREW, same message). */
  readonly throwing?: readonly Call[];
}

const utf8 = (text: string): Uint8Array => new TextEncoder().encode(text);

function embeddings(rows: number[][]): Uint8Array {
  const dims = rows[0]!.length;
  const bytes = new Uint8Array(8 + rows.length * dims * 4);
  const view = new DataView(bytes.buffer);
  view.setUint32(0, rows.length, true);
  view.setUint32(4, dims, true);
  rows.flat().forEach((x, i) => view.setFloat32(8 + i * 4, x, true));
  return bytes;
}

const DOCS = [
  { id: 'a', body: 'The sandbox isolates tenant code in an isolate.' },
  { id: 'b', body: 'Signed envelopes carry component source and params.' },
  { id: 'c', body: 'Policy checks the source before the sandbox runs it; the sandbox is the boundary.' },
];
const LOG = [
  '10.0.0.1 - - [10/Oct/2024:13:55:36 +0000] "GET /index.html HTTP/1.1" 200 2326',
  '10.0.0.2 - - [10/Oct/2024:13:55:37 +0000] "POST /api/items HTTP/1.1" 201 512',
  '10.0.0.1 - - [10/Oct/2024:13:55:38 +0000] "GET /missing HTTP/1.1" 404 -',
  'garbage line',
  '10.0.0.3 - - [10/Oct/2024:13:55:39 +0000] "GET /api/items?id=1 HTTP/2.0" 500 19',
].join('\n');
const MARKDOWN = [
  '# Title',
  '',
  'Some **bold** and _em_ text with `code` and a [link](https://example.com/a).',
  '',
  '## Section',
  '- one',
  '* two ![alt text](img.png)',
  '> quoted',
  '',
  '```js',
  'const x = 1;',
  '```',
].join('\n');
const EVENTS = [
  { at: '2024-02-27T10:00:00Z', units: 5 },
  { at: '2024-02-27T22:30:00Z', units: 2 },
  { at: '2024-02-29T08:00:00+02:00', units: 7 },
  { at: '2024-03-01T00:00:00Z', units: 1 },
];
const HITS = [
  { id: 'd1', score: 0.4 },
  { id: 'd2', score: 0.9 },
  { id: 'd3', score: 0.7 },
  { id: 'd4', score: 0.9 },
  { id: 'd5', score: 0.1 },
];
const CHUNKS = [
  { source: 'wiki', text: 'alpha beta gamma delta', score: 0.9 },
  { source: 'wiki', text: 'epsilon zeta', score: 0.6 },
  { source: 'blog', text: 'eta theta iota kappa lambda mu nu', score: 0.85 },
  { source: 'blog', text: 'xi', score: 0.2 },
  { source: 'faq', text: 'omicron pi rho', score: 0.55 },
];

const CASES: readonly Case[] = [
  {
    file: 'wordpiece.ts',
    export: 'WordPiece',
    params: { maxCharsPerWord: 20, lowercase: true },
    artifacts: {
      'vocab.json': utf8(
        JSON.stringify([
          '[PAD]',
          '[UNK]',
          '[CLS]',
          '[SEP]',
          'un',
          '##aff',
          '##able',
          'play',
          '##ing',
          '!',
          'the',
          'sand',
          '##box',
        ]),
      ),
    },
    calls: [
      ['tokenize', 'Unaffable playing! The sandbox, xyz'],
      ['encode', 'the sandbox unaffable'],
    ],
  },
  {
    file: 'bm25-index.ts',
    export: 'Bm25Index',
    params: { k1: 1.5 },
    calls: [
      ['add', DOCS],
      ['search', 'sandbox boundary', 2],
      ['search', 'signed params'],
    ],
  },
  {
    file: 'cosine.ts',
    export: 'CosineSearch',
    params: { labels: ['cat', 'dog', 'car'] },
    artifacts: {
      'embeddings.bin': embeddings([
        [1, 0, 0.5],
        [0.9, 0.1, 0.4],
        [0, 1, 0],
      ]),
    },
    calls: [['shape'], ['nearest', [1, 0, 0.45]], ['nearest', [0, 1, 0.1], 3]],
    throwing: [['nearest', [1, 2]]],
  },
  {
    file: 'schema-validator.js',
    export: 'SchemaValidator',
    params: {
      schema: {
        type: 'object',
        required: ['name', 'tags'],
        properties: {
          name: { type: 'string', minLength: 2, pattern: '^[a-z]+$' },
          age: { type: 'integer', minimum: 0, maximum: 150 },
          tags: { type: 'array', items: { enum: ['a', 'b'] } },
        },
      },
    },
    calls: [
      ['validate', { name: 'ada', tags: ['a'] }],
      ['validate', { name: 'A', age: 200.5, tags: ['a', 'c', 3] }],
      ['validate', []],
      ['firstErrorName', { name: 'x' }],
      ['firstErrorName', { name: 'ok', tags: [] }],
    ],
    throwing: [['assertValid', { tags: 1 }]],
  },
  {
    file: 'csv-parser.ts',
    export: 'CsvParser',
    params: { numbers: true },
    calls: [
      ['parse', 'name,qty,note\r\n"Smith, J",3,"said ""hi"""\nDoe,4.5,\n"multi\nline",,x'],
      ['columnSums', 'a,b\n1,2\n3,x\n5,6\n'],
      ['parse', ''],
    ],
  },
  {
    file: 'markdown-text.js',
    export: 'MarkdownText',
    calls: [
      ['toText', MARKDOWN],
      ['headings', MARKDOWN],
      ['links', '[a](x) [b](y) [a](z)'],
    ],
  },
  {
    file: 'ngram.ts',
    export: 'NgramCounter',
    params: { n: 2, top: 5 },
    calls: [
      ['chars', 'banana bandana'],
      ['words', 'the cat sat on the cat mat the cat sat'],
    ],
  },
  {
    file: 'lru-cache.js',
    export: 'CachedSquare',
    params: { capacity: 3 },
    calls: [['compute', [1, 2, 3, 1, 4, 2, 5]], ['stats']],
  },
  {
    file: 'rate-calc.ts',
    export: 'RateCalculator',
    params: { currency: 'EUR', pricePerUnit: 0.125 },
    calls: [
      ['daily', EVENTS],
      ['ratePerDay', EVENTS],
      ['invoice', EVENTS],
    ],
    throwing: [['daily', [{ at: 'not a date', units: 1 }]]],
  },
  {
    file: 'log-parser.js',
    export: 'LogParser',
    requires: ['kv', 'log'],
    calls: [
      ['parse', LOG],
      ['summarize', LOG],
      ['ingest', LOG],
      ['ingest', LOG],
      ['tryJson', '{"a":1}'],
      ['tryJson', '{'],
    ],
  },
  {
    file: 'money.ts',
    export: 'Ledger',
    bigint: true,
    params: { currency: 'USD' },
    calls: [
      ['sum', ['10.10', '0.05', '-3', '99999999999999999.99']],
      ['split', '100.00', [1, 1, 1]],
      ['asNumber', '-12.5'],
      ['power', '7', 40],
    ],
    throwing: [['sum', ['1.234']]],
  },
  {
    file: 'event-store.js',
    export: 'EventStore',
    requires: ['kv'],
    calls: [
      ['append', 'acct-1', { type: 'deposit', amount: 100 }],
      ['append', 'acct-1', { type: 'withdraw', amount: 30 }],
      ['append', 'acct-2', { type: 'deposit', amount: 5 }],
      ['replay', 'acct-1'],
      ['streams'],
      ['compact', 'acct-1'],
      ['replay', 'acct-1'],
    ],
  },
  {
    file: 'steps.js',
    export: 'Preprocessor',
    params: { steps: [{ kind: 'lower' }, { kind: 'truncate', max: 12, with: '_' }] },
    calls: [['run', ['Hello   World Of Sandboxes', 'Short']], ['describe'], ['abstractFails']],
  },
  {
    file: 'tfidf.ts',
    export: 'TfIdf',
    params: { top: 3 },
    calls: [
      ['fit', DOCS.map((d) => d.body)],
      ['keywords', 'The sandbox runs the signed sandbox code.'],
    ],
  },
  {
    file: 'config-reader.js',
    export: 'ConfigReader',
    params: { env: 'prod' },
    artifacts: {
      'config.json': utf8(
        '{"retries": 2, "timeout": "1.5s", "expires": "2030-01-02T03:04:05Z", "name": "x"}',
      ),
    },
    calls: [['read'], ['totalTimeoutMs'], ['validUntil']],
  },
  {
    file: 'matrix.ts',
    export: 'LinearAlgebra',
    calls: [
      [
        'multiply',
        [
          [1, 2],
          [3, 4],
        ],
        [
          [5, 6],
          [7, 8],
        ],
      ],
      [
        'gram',
        [
          [1, 2, 3],
          [4, 5, 6],
        ],
      ],
      ['identity', 3],
    ],
    throwing: [['multiply', [[1, 2]], [[1, 2]]]],
  },
  {
    file: 'bloom-filter.js',
    export: 'BloomFilter',
    params: { bits: 256, hashes: 3 },
    requires: ['kv'],
    calls: [
      ['add', ['apple', 'banana', 'cherry']],
      ['has', ['apple', 'durian', 'cherry']],
      ['save'],
      ['restore'],
      ['has', ['banana']],
    ],
  },
  {
    file: 'priority-queue.ts',
    export: 'TopK',
    params: { k: 3 },
    calls: [
      ['select', HITS],
      ['above', HITS, 0.5],
      ['merge', [HITS.slice(0, 2), HITS.slice(2)]],
    ],
  },
  {
    file: 'sentence-splitter.ts',
    export: 'SentenceSplitter',
    params: { locale: 'en' },
    calls: [
      ['sentences', 'Dr. Smith arrived. He said: "Hi!" Then he left? Yes.'],
      ['wordCount', "Don't split the sandbox's words, 42 times."],
      ['sortNames', ['item10', 'Item2', 'éclair', 'apple', 'Zebra']],
      ['label', 1],
      ['label', 3],
    ],
  },
  {
    file: 'histogram.js',
    export: 'Histogram',
    params: { bins: 4 },
    calls: [
      ['summary', [3, 1, 4, 1, 5, 9, 2, 6, 5, 3, 5]],
      ['bins', [3, 1, 4, 1, 5, 9, 2, 6, 5, 3, 5]],
      ['bins', [1, 2, 3], { count: 2, min: 0 }],
      ['epsilonEqual', 0.30000000000000004, 0.3],
    ],
  },
  {
    file: 'retry-policy.ts',
    export: 'RetryPolicy',
    params: { baseMs: 100, factor: 2, maxMs: 1000, attempts: 5 },
    calls: [['schedule'], ['simulate', 2], ['simulate', 9]],
    throwing: [['throwIt']],
  },
  {
    file: 'url-router.js',
    export: 'Router',
    params: { routes: { '/users/:id': 'user', '/files/*': 'files', '/a.b/:x/edit': 'edit' } },
    calls: [
      ['match', '/users/j%C3%B6rg?tab=posts&tab=likes&q=a+b'],
      ['match', '/files/x/y/z.txt'],
      ['match', '/a.b/42/edit/'],
      ['match', '/axb/42/edit'],
      ['link', '/users/:id/:tab', { id: 'a b/c', tab: 'x' }],
    ],
  },
  {
    file: 'text-stats.js',
    export: 'TextStats',
    calls: [
      ['analyze', 'The quick brown fox jumps over the lazy dog. It was beautiful! Really?'],
      ['customClassToString'],
    ],
  },
  {
    file: 'minhash.ts',
    export: 'MinHash',
    params: { permutations: 32, k: 3 },
    calls: [
      ['similarity', 'the quick brown fox', 'the quick brown fax'],
      [
        'clusters',
        ['hello world again', 'hello world agian', 'something else entirely', 'Hello  World again'],
        0.5,
      ],
    ],
  },
  {
    file: 'token-budget.ts',
    export: 'TokenBudget',
    params: { budget: 12, perSource: 1 },
    calls: [
      ['pack', CHUNKS],
      ['bucketize', CHUNKS],
      ['lastRelevant', [0.9, 0.2, 0.7, 0.1], 0.5],
    ],
  },
  {
    file: 'geo.js',
    export: 'Geo',
    params: { unit: 'mi' },
    calls: [
      [
        'nearest',
        [52.52, 13.405],
        [
          { name: 'Paris', at: [48.8566, 2.3522] },
          { name: 'Warsaw', at: [52.2297, 21.0122] },
          { name: 'Rome', at: [41.9028, 12.4964] },
        ],
      ],
      [
        'bbox',
        [
          [1, 2],
          [-3, 4],
          [5, -6],
        ],
      ],
      ['planar', [0, 0], [3, 4]],
    ],
  },
  {
    file: 'line-diff.ts',
    export: 'LineDiff',
    params: { ignoreWhitespace: true },
    calls: [
      ['diff', 'a\nb\nc\nd', 'a\nc\n d \ne'],
      ['unified', 'one\ntwo', 'one\nthree\ntwo'],
      ['firstChange', 'x\ny\nz', 'x\ny\nq'],
    ],
  },
  {
    file: 'template-render.js',
    export: 'PromptTemplate',
    params: { template: 'Answer {{ question }} using {{context}}; {{missing}}.' },
    calls: [
      ['render', { question: 'why?', context: '<docs>' }],
      ['variables'],
      ['card', 'A & B', '<script>"x"</script>'],
      ['raw'],
      ['badSet'],
    ],
  },
  {
    file: 'unicode-tools.ts',
    export: 'UnicodeTools',
    calls: [
      ['describe', 'Crème brûlée 🍮'],
      ['truncateBytes', 'añb🍮c', 6],
      ['fold', 'Ångström ÉCOLE ﬁ'],
      ['bytes', 'é€🍮a'],
      ['fromCodePoints', [0x1f600, 65, 0xe9]],
      ['wellFormed', 'ok'],
    ],
  },
  {
    file: 'default-dict.js',
    export: 'GroupCounter',
    params: { batchSize: 2 },
    calls: [
      [
        'group',
        [
          ['a', 1],
          ['b', 2],
          ['a', 3],
        ],
      ],
      ['batch', [1, 2, 3, 4, 5]],
      ['overlap', ['x', 'y', 'z'], ['y', 'z', 'w']],
    ],
  },
];

let world: World;
let loader: Loader;
let bigintLoader: Loader;
const policy = loadPolicy().forTenant('acme');
let bigintPolicy: EffectivePolicy;

beforeAll(() => {
  world = makeWorld();
  loader = createLoader({ keyring: world.keyring, kv: new MemoryKvStore(), workers: 1 });
  const granting = world.write('bigint.yaml', bigintGrantingPolicyText());
  bigintPolicy = loadPolicy(granting).forTenant('acme');
  bigintLoader = createLoader({
    keyring: world.keyring,
    policy: granting,
    kv: new MemoryKvStore(),
    workers: 1,
  });
});

afterAll(async () => {
  await loader.close();
  await bigintLoader.close();
  rmSync(world.dir, { recursive: true, force: true });
});

/** A Node-side host with the same contract as the sandbox's kv and log capabilities. */
function fakeHost(): Host {
  const store = new Map<string, string>();
  return {
    log: async () => {},
    kv: {
      get: async (key) => (store.has(key) ? (JSON.parse(store.get(key)!) as JsonValue) : null),
      set: async (key, value) => void store.set(key, JSON.stringify(value)),
      delete: async (key) => void store.delete(key),
      list: async (prefix = '') => [...store.keys()].filter((k) => k.startsWith(prefix)).sort(),
    },
  };
}

function deepFreeze<T>(value: T): T {
  if (typeof value === 'object' && value !== null) {
    for (const v of Object.values(value)) deepFreeze(v);
    Object.freeze(value);
  }
  return value;
}

type Instance = Record<string, (...args: JsonValue[]) => unknown>;

async function direct(c: Case, identifier: string): Promise<Instance> {
  const mod = (await import(DIR + c.file)) as Record<
    string,
    new (p: JsonValue, ctx: ComponentContext) => Instance
  >;
  const Cls = mod[c.export]!;
  // The statement carries params as canonical JSON (RFC 8785 sorts object keys): the sandbox sees
  // that order, so the Node run gets the same (docs/authoring.md).
  const params = deepFreeze(JSON.parse(canonicalize(c.params ?? {})) as JsonValue);
  return new Cls(params, {
    identifier,
    version: 1,
    tenant: 'acme',
    artifacts: c.artifacts ?? {},
    host: fakeHost(),
  });
}

const roundTrip = (value: unknown): unknown =>
  value === undefined ? null : JSON.parse(JSON.stringify(value));

describe('when realistic components are packed, signed and loaded under the default policy', () => {
  it('has at least 25 distinct components', () => {
    expect(new Set(CASES.map((c) => c.file)).size).toBe(CASES.length);
    expect(CASES.length).toBeGreaterThanOrEqual(25);
  });

  for (const c of CASES) {
    it(`${c.file} packs, passes policy, loads and behaves as in Node`, async () => {
      const identifier = `real-${c.file.replace(/\.[jt]s$/, '')}`;
      const artifacts: Record<string, ArtifactInput> = {};
      for (const [name, data] of Object.entries(c.artifacts ?? {})) artifacts[name] = { data };
      const statement = pack(DIR + c.file, {
        export: c.export,
        tenant: 'acme',
        identifier,
        version: 1,
        params: c.params ?? {},
        artifacts,
        requires: c.requires ?? [],
      });
      if (c.bigint === true) {
        const refused = checkSource(statement.source, policy, { requires: statement.requires });
        expect(new Set(refused.violations.map((v) => v.rule))).toEqual(
          new Set(['syntax.bigint', 'globals.not-allowed']),
        );
      }
      const check = checkSource(statement.source, c.bigint ? bigintPolicy : policy, {
        requires: statement.requires,
      });
      expect(check.violations).toEqual([]);

      const loaded = await (c.bigint ? bigintLoader : loader).load(signEnvelope(statement, world.key), {
        tenant: 'acme',
      });
      const local = await direct(c, identifier);
      for (const [method, ...args] of c.calls) {
        const expected = roundTrip(await local[method]!(...structuredClone(args)));
        const actual = await loaded.call(method, ...args);
        expect({ method, result: actual }).toEqual({ method, result: expected });
      }
      for (const [method, ...args] of c.throwing ?? []) {
        const localError = await Promise.resolve()
          .then(() => local[method]!(...structuredClone(args)))
          .then(
            () => null,
            (e: unknown) => e as Error,
          );
        expect(localError).toBeInstanceOf(Error);
        const error = await loaded.call(method, ...args).catch((e: unknown) => e);
        expect(error).toBeInstanceOf(ComponentError);
        expect(error).toMatchObject({ code: 'ERR_COMPONENT_THREW' });
        expect((error as Error).message).toContain(localError!.message);
      }
      await loaded.dispose();
    });
  }
});
