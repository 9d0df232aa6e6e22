import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { encodeBase64 } from '../../src/envelope/base64.ts';
import { canonicalBytes } from '../../src/envelope/canonical-json.ts';
import {
  buildStatementPayload,
  parseRfc3339,
  parseStatement,
  statementDigest,
} from '../../src/envelope/statement.ts';
import { EnvelopeError } from '../../src/errors.ts';
import { makeStatement } from '../trust/fixtures.ts';

function failure(fn: () => unknown): { code: string; field?: unknown } | undefined {
  try {
    fn();
  } catch (error) {
    if (error instanceof EnvelopeError) return { code: error.code, field: error.details['field'] };
    return { code: `untyped ${String(error)}` };
  }
  return undefined;
}

const enc = (s: string) => new TextEncoder().encode(s);
const sha = (s: string | Uint8Array) => createHash('sha256').update(s).digest('hex');

describe('when parsing a valid statement', () => {
  it('returns a deeply frozen statement equal to the input', () => {
    const s = parseStatement(canonicalBytes(makeStatement()));
    expect(s).toEqual(makeStatement());
    expect(Object.isFrozen(s)).toBe(true);
    expect(Object.isFrozen(s.params)).toBe(true);
    expect(Object.isFrozen(s.artifacts['vocab.json'])).toBe(true);
  });

  it('accepts an optional expiresAt and empty params/artifacts/requires', () => {
    const s = makeStatement({
      expiresAt: '2027-01-01T00:00:00.123+02:00',
      params: {},
      artifacts: {},
      requires: [],
    });
    expect(parseStatement(canonicalBytes(s)).expiresAt).toBe('2027-01-01T00:00:00.123+02:00');
  });

  it('digests the payload bytes', () => {
    const bytes = canonicalBytes(makeStatement());
    expect(statementDigest(bytes)).toBe(sha(bytes));
  });
});

describe('when the payload is not canonical', () => {
  const canonical = new TextDecoder().decode(canonicalBytes(makeStatement()));
  it.each([
    ['extra whitespace', canonical.replace('{', '{ ')],
    [
      'reordered keys',
      canonical
        .replace('{"_type":"sealbox/component/v1",', '{')
        .replace(/}$/, ',"_type":"sealbox/component/v1"}'),
    ],
    ['a duplicate key', canonical.replace('{"_type"', '{"tenant":"acme","_type"')],
    ['an escaped character', canonical.replace('"acme"', '"\\u0061cme"')],
    ['a trailing newline', `${canonical}\n`],
    ['not JSON', canonical.slice(0, -1)],
  ])('throws ERR_PAYLOAD_NOT_CANONICAL for %s', (_name, text) => {
    expect(failure(() => parseStatement(enc(text)))?.code).toBe('ERR_PAYLOAD_NOT_CANONICAL');
  });

  it('throws ERR_PAYLOAD_NOT_CANONICAL for invalid UTF-8 and a BOM', () => {
    expect(failure(() => parseStatement(new Uint8Array([0x7b, 0xc3, 0x7d])))?.code).toBe(
      'ERR_PAYLOAD_NOT_CANONICAL',
    );
    expect(failure(() => parseStatement(enc(`\ufeff${canonical}`)))?.code).toBe('ERR_PAYLOAD_NOT_CANONICAL');
  });
});

describe('when the statement breaks the closed schema', () => {
  it.each([
    ['an unknown field', { cachedData: 'x' }, 'cachedData'],
    ['a missing field', { repr: undefined }, 'repr'],
    ['a wrong _type', { _type: 'sealbox/widget/v1' }, '_type'],
    ['an upper-case tenant', { tenant: 'Acme' }, 'tenant'],
    ['a path-like identifier', { identifier: '../etc' }, 'identifier'],
    ['a too-long identifier', { identifier: 'a'.repeat(65) }, 'identifier'],
    ['version 0', { version: 0 }, 'version'],
    ['a fractional version', { version: 1.5 }, 'version'],
    ['a version above 2^53-1', { version: 2 ** 53 }, 'version'],
    ['a string version', { version: '3' }, 'version'],
    ['an entry that is not an identifier', { entry: 'a-b' }, 'entry'],
    ['a source that is not a string', { source: 5 }, 'source'],
    ['an upper-case sourceSha256', { sourceSha256: 'A'.repeat(64) }, 'sourceSha256'],
    ['artifacts as an array', { artifacts: [] }, 'artifacts'],
    ['requires not an array', { requires: 'log' }, 'requires'],
    ['a duplicate requirement', { requires: ['log', 'log'] }, 'requires[1]'],
    ['a bad capability name', { requires: ['Log!'] }, 'requires[0]'],
    ['a control character in repr', { repr: 'x\u001b[2Jy' }, 'repr'],
    ['an empty repr', { repr: '' }, 'repr'],
    ['a date-only issuedAt', { issuedAt: '2026-01-01' }, 'issuedAt'],
    ['an impossible issuedAt', { issuedAt: '2026-02-30T00:00:00Z' }, 'issuedAt'],
    ['a lower-case z', { issuedAt: '2026-01-01T00:00:00z' }, 'issuedAt'],
    ['expiresAt before issuedAt', { expiresAt: '2025-01-01T00:00:00Z' }, 'expiresAt'],
    ['an extra packer field', { packer: { name: 'x', version: '1', url: 'u' } }, 'packer.url'],
    ['packer not an object', { packer: 'sealbox' }, 'packer'],
  ])('throws ERR_STATEMENT_INVALID for %s, naming %s', (_name, overrides, field) => {
    expect(failure(() => parseStatement(canonicalBytes(makeStatement(overrides))))).toEqual({
      code: 'ERR_STATEMENT_INVALID',
      field,
    });
  });

  it.each([
    ['a traversal name', '../x'],
    ['__proto__', '__proto__'],
    ['an empty name', ''],
  ])('throws ERR_STATEMENT_INVALID for artifact named %s', (_name, name) => {
    const data = enc('x');
    const artifacts = {
      [name]: { sha256: sha(data), size: 1, mediaType: 'text/plain', data: encodeBase64(data) },
    };
    // JSON.parse makes `__proto__` an own key, as a hostile payload would.
    const value = JSON.parse(
      JSON.stringify({ ...makeStatement(), artifacts: JSON.parse(JSON.stringify(artifacts)) as object }),
    ) as object;
    expect(failure(() => parseStatement(canonicalBytes(value)))?.code).toBe('ERR_STATEMENT_INVALID');
  });

  it('throws ERR_STATEMENT_INVALID for params nested 100,000 deep, without a stack overflow', () => {
    const head = new TextDecoder().decode(canonicalBytes(makeStatement({ params: 0 })));
    const deep = head.replace('"params":0', `"params":${'['.repeat(100_000)}${']'.repeat(100_000)}`);
    expect(failure(() => parseStatement(enc(deep)))?.code).toBe('ERR_STATEMENT_INVALID');
  });
});

describe('when hashes do not match', () => {
  it('throws ERR_DIGEST_MISMATCH for a stale sourceSha256', () => {
    expect(
      failure(() => parseStatement(canonicalBytes(makeStatement({ sourceSha256: sha('other') }))))?.code,
    ).toBe('ERR_DIGEST_MISMATCH');
  });

  it('throws ERR_DIGEST_MISMATCH for a wrong artifact size or sha256', () => {
    const data = enc('abc');
    const art = (o: object) => ({
      a: { sha256: sha(data), size: 3, mediaType: 'text/plain', data: encodeBase64(data), ...o },
    });
    expect(
      failure(() => parseStatement(canonicalBytes(makeStatement({ artifacts: art({ size: 4 }) }))))?.code,
    ).toBe('ERR_DIGEST_MISMATCH');
    expect(
      failure(() => parseStatement(canonicalBytes(makeStatement({ artifacts: art({ sha256: sha('x') }) }))))
        ?.code,
    ).toBe('ERR_DIGEST_MISMATCH');
    expect(parseStatement(canonicalBytes(makeStatement({ artifacts: art({}) }))).artifacts['a']?.size).toBe(
      3,
    );
  });

  it('throws ERR_INPUT_TOO_LARGE for a source over the limit', () => {
    const source = 'x'.repeat(2048);
    const s = makeStatement({ source, sourceSha256: sha(source) });
    expect(failure(() => parseStatement(canonicalBytes(s), { maxSourceBytes: 1024 }))?.code).toBe(
      'ERR_INPUT_TOO_LARGE',
    );
  });
});

describe('when building a payload to sign', () => {
  it('ignores non-enumerable helpers and refuses invalid statements', () => {
    const s = makeStatement();
    Object.defineProperty(s, 'sign', { value: () => 1, enumerable: false });
    expect(buildStatementPayload(s)).toEqual(canonicalBytes(makeStatement()));
    expect(failure(() => buildStatementPayload(makeStatement({ version: -1 })))?.code).toBe(
      'ERR_STATEMENT_INVALID',
    );
    expect(failure(() => buildStatementPayload(makeStatement({ params: { f: () => 1 } })))?.code).toBe(
      'ERR_JSON_INVALID',
    );
  });
});

describe('when parsing RFC 3339 times', () => {
  it('accepts offsets and fractions, refuses leap seconds and bad offsets', () => {
    expect(parseRfc3339('2026-01-01T00:00:00+01:00')).toBe(Date.parse('2025-12-31T23:00:00Z'));
    expect(parseRfc3339('2026-12-31T23:59:60Z')).toBeUndefined();
    expect(parseRfc3339('2026-01-01T00:00:00+24:00')).toBeUndefined();
    expect(parseRfc3339(5)).toBeUndefined();
  });
});
