import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { pack } from '../../src/component/pack.ts';
import { parseScript } from '../../src/ast/parse.ts';
import { findFreeVariables } from '../../src/ast/free-variables.ts';
import { SANDBOX_GLOBALS } from '../../src/ast/sandbox-globals.ts';
import { canonicalize } from '../../src/envelope/canonical-json.ts';
import { parseStatement, buildStatementPayload } from '../../src/envelope/statement.ts';
import type { JsonValue, Statement } from '../../src/envelope/types.ts';
import { artifactBytesOf, callAsJson, evaluatePacked, fakeHost } from './stand-in.ts';

const FIXTURES = fileURLToPath(new URL('../fixtures/components/', import.meta.url));
const ISSUED = '2026-01-01T00:00:00.000Z';

const weights = new Uint8Array(new Float32Array([0.5, -1, 2, 0.25]).buffer);

interface Case {
  readonly file: string;
  readonly export: string;
  readonly params?: JsonValue;
  readonly artifacts?: Record<string, Uint8Array | { path: string } | { data: Uint8Array }>;
  readonly calls: readonly (readonly [string, ...unknown[]])[];
}

const CASES: readonly Case[] = [
  {
    file: 'tokenizer.js',
    export: 'Tokenizer',
    params: { lowercase: true, stopwords: ['the'] },
    calls: [
      ['tokenize', 'The Quick brown fox, the end'],
      ['count', 'Ünïcödé wörds 42'],
    ],
  },
  {
    file: 'counter-kv.js',
    export: 'Counter',
    params: { prefix: 'c:' },
    calls: [
      ['increment', 'a'],
      ['increment', 'a', 5],
      ['increment', 'b'],
      ['names'],
      ['reset', 'a'],
      ['names'],
    ],
  },
  {
    file: 'stats.js',
    export: 'Stats',
    calls: [
      ['summarize', [3, 1, 4, 1, 5, 9, 2, 6]],
      ['summarize', []],
    ],
  },
  {
    file: 'bm25.ts',
    export: 'Bm25',
    params: { k1: 1.2, b: 0.75 },
    calls: [
      [
        'index',
        [
          { id: 'a', text: 'signed components run in a sandbox' },
          { id: 'b', text: 'pickle runs code by design' },
          { id: 'c', text: 'a sandbox for components' },
        ],
      ],
      ['search', 'sandbox components'],
      ['search', 'pickle', 1],
      ['describe'],
    ],
  },
  {
    file: 'chunker.ts',
    export: 'Chunker',
    params: { size: 8, overlap: 3 },
    calls: [
      ['chunk', 'abcdefghijklmnopqrstuvwxyz'],
      ['first', ''],
      ['first', 'hello world'],
    ],
  },
  {
    file: 'scorer.ts',
    export: 'WordScorer',
    params: { max: 20 },
    calls: [['score', '  Hello   big WORLD of words '], ['scales']],
  },
  {
    file: 'binary-model.js',
    export: 'BinaryModel',
    artifacts: {
      'weights.bin': { data: weights },
      'config.json': { path: 'test/fixtures/components/binary-model.config.json' },
    },
    calls: [['predict', [1, 1, 1, 1]], ['predict', [0, 1, 0, 0]], ['info']],
  },
  {
    file: 'extractor.js',
    export: 'Extractor',
    calls: [['extract', 'mail ann@example.com on 2026-01-31 or bob.x@mail.example.org'], ['listKinds']],
  },
  {
    file: 'state-machine.js',
    export: 'Machine',
    params: { initial: 'idle' },
    calls: [
      ['run', ['start', 'pause', 'bogus', 'resume', 'halt', 'stop']],
      ['run', ['stop']],
    ],
  },
  {
    file: 'layered.js',
    export: 'Greeter',
    params: { greeting: 'hi' },
    calls: [
      ['greetAll', ['ann', 'bob']],
      ['greet', 'cy'],
    ],
  },
  { file: 'aliased.js', export: 'default', calls: [['count', 'Sealed boxes are OK']] },
  {
    file: 'transformer.js',
    export: 'Transformer',
    calls: [
      [
        'transform',
        [
          { id: 1, text: '  one two three four ' },
          { id: 2, text: 'short' },
        ],
      ],
      ['parse', '{"a":[1,2]}'],
      ['parse', 'not json'],
    ],
  },
];

function packCase(c: Case): Statement {
  return pack(`${FIXTURES}${c.file}`, {
    export: c.export,
    tenant: 'acme',
    identifier: c.file.replace(/\.[jt]s$/, ''),
    version: 1,
    ...(c.params === undefined ? {} : { params: c.params }),
    ...(c.artifacts === undefined ? {} : { artifacts: c.artifacts }),
    issuedAt: ISSUED,
    cwd: fileURLToPath(new URL('../../', import.meta.url)),
  });
}

describe('when packing the sample components', () => {
  for (const c of CASES) {
    it(`packs ${c.file} into a script that behaves like the original`, async () => {
      const statement = packCase(c);
      // The packed source is a script whose only free names are sandbox built-ins.
      const free = findFreeVariables(parseScript(statement.source)).filter(
        (r) => !SANDBOX_GLOBALS.has(r.name),
      );
      expect(free.map((r) => r.name)).toEqual([]);
      // It passes the loader's closed-schema decoding.
      expect(parseStatement(buildStatementPayload(statement)).sourceSha256).toBe(statement.sourceSha256);

      const module = (await import(`${FIXTURES}${c.file}`)) as Record<string, unknown>;
      const Original = module[c.export] as new (p: unknown, ctx: unknown) => Record<string, unknown>;
      const Packed = evaluatePacked(statement);
      const params = JSON.parse(JSON.stringify(c.params ?? {})) as JsonValue;
      const artifacts = artifactBytesOf(statement);
      const left = fakeHost();
      const right = fakeHost();
      const context = { identifier: statement.identifier, version: 1, tenant: 'acme', artifacts };
      const original = new Original(params, { ...context, host: left.host });
      const packed = new Packed(params, { ...context, host: right.host });
      for (const [method, ...args] of c.calls) {
        const expected = await callAsJson(original, method, structuredClone(args));
        const actual = await callAsJson(packed, method, structuredClone(args));
        expect(actual, `${c.file} ${method}`).toBe(expected);
        expect(expected.startsWith('threw')).toBe(false);
      }
      expect(right.logs).toEqual(left.logs);
    });
  }

  it('packs at least 12 components, 3 of them TypeScript', () => {
    expect(CASES.length).toBeGreaterThanOrEqual(12);
    expect(CASES.filter((c) => c.file.endsWith('.ts')).length).toBeGreaterThanOrEqual(3);
  });

  it('keeps exactly the declarations the class needs', () => {
    const statement = packCase(CASES.find((c) => c.file === 'stats.js') as Case);
    expect(statement.source).not.toContain('unusedHelper');
    expect(statement.source).not.toContain('process');
    expect(statement.source).not.toMatch(/\bimport\b|\bexport\b/);
    expect(statement.source).toContain('function variance');
  });

  it('bundles helpers from other files without mixing up clashing names', () => {
    const statement = packCase(CASES.find((c) => c.file === 'scorer.ts') as Case);
    expect(statement.source).toContain('// scorer-helpers.ts');
    expect(statement.source).toContain('// scorer-util.ts');
    expect(statement.entry).toBe('WordScorer');
  });

  it('names the entry after the default-exported class', () => {
    expect(packCase(CASES.find((c) => c.file === 'aliased.js') as Case).entry).toBe('VowelCounter');
  });

  it('hashes artifacts and guesses media types', () => {
    const statement = packCase(CASES.find((c) => c.file === 'binary-model.js') as Case);
    expect(statement.artifacts['weights.bin']?.size).toBe(16);
    expect(statement.artifacts['weights.bin']?.mediaType).toBe('application/octet-stream');
    expect(statement.artifacts['config.json']?.mediaType).toBe('application/json');
    expect(statement.artifacts['weights.bin']?.sha256).toMatch(/^[0-9a-f]{64}$/);
  });
});

describe('when packing twice', () => {
  it('gives byte-identical canonical payloads', () => {
    for (const c of CASES) {
      const a = canonicalize({ ...packCase(c) });
      const b = canonicalize({ ...packCase(c) });
      expect(a).toBe(b);
    }
  });

  it('changes the payload when issuedAt changes, and nothing but issuedAt', () => {
    const c = CASES[0] as Case;
    const a = packCase(c);
    const b = packCase(c);
    const later = pack(`${FIXTURES}${c.file}`, {
      export: c.export,
      tenant: 'acme',
      identifier: c.file.replace(/\.[jt]s$/, ''),
      version: 1,
      ...(c.params === undefined ? {} : { params: c.params }),
      ...(c.artifacts === undefined ? {} : { artifacts: c.artifacts }),
      issuedAt: '2026-01-02T00:00:00Z',
      cwd: fileURLToPath(new URL('../../', import.meta.url)),
    });
    const payload = (s: Statement): Uint8Array => buildStatementPayload(s);
    expect(payload(a)).toEqual(payload(b));
    expect(payload(later)).not.toEqual(payload(a));
    expect(later.issuedAt).toBe('2026-01-02T00:00:00.000Z');
    expect({ ...later, issuedAt: a.issuedAt }).toEqual(a);
  });
});

describe('when reading repr', () => {
  it('describes the class, identifier, version and params', () => {
    const statement = pack(`${FIXTURES}tokenizer.js`, {
      export: 'Tokenizer',
      tenant: 'acme',
      identifier: 'tok',
      version: 3,
      params: { lowercase: true },
      issuedAt: ISSUED,
    });
    expect(statement.repr).toBe("Tokenizer(identifier='tok', version=3, params={lowercase: true})");
  });

  it('truncates long params to about 200 characters', () => {
    const statement = pack(`${FIXTURES}tokenizer.js`, {
      export: 'Tokenizer',
      tenant: 'acme',
      identifier: 'tok',
      version: 3,
      params: { stopwords: Array.from({ length: 500 }, (_, i) => `word${i}`) },
      issuedAt: ISSUED,
    });
    expect(statement.repr.length).toBeLessThanOrEqual(200);
    expect(statement.repr).toMatch(/…\)$/);
  });
});
