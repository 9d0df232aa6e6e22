/**
 * Third-party vectors run through the exact functions sealbox uses:
 * Wycheproof Ed25519 (all 151) → verifyEd25519; JCS (6 pairs) → canonicalize, isCanonical and
 * parseStatement (one canonical check); DSSE PAE → pae.
 */
import { readFileSync, readdirSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { decodeBase64Strict } from '../../src/envelope/base64.ts';
import { canonicalize, isCanonical } from '../../src/envelope/canonical-json.ts';
import { parseEnvelope } from '../../src/envelope/envelope.ts';
import { pae } from '../../src/envelope/pae.ts';
import { parseStatement } from '../../src/envelope/statement.ts';
import { EnvelopeError } from '../../src/errors.ts';
import { verifyEd25519 } from '../../src/trust/ed25519.ts';
import { makeStatement } from '../trust/fixtures.ts';

const dir = new URL('./', import.meta.url);
const hex = (h: string): Uint8Array => new Uint8Array(Buffer.from(h, 'hex'));

interface WycheproofTest {
  tcId: number;
  msg: string;
  sig: string;
  result: 'valid' | 'invalid' | 'acceptable';
  comment: string;
}
const wycheproof = JSON.parse(readFileSync(new URL('wycheproof/ed25519_test.json', dir), 'utf8')) as {
  numberOfTests: number;
  testGroups: { publicKey: { pk: string }; tests: WycheproofTest[] }[];
};

describe('when running the Wycheproof Ed25519 vectors through verifyEd25519', () => {
  const cases = wycheproof.testGroups.flatMap((g) => g.tests.map((t) => ({ pk: g.publicKey.pk, ...t })));

  it('has all 151 tests', () => {
    expect(cases.length).toBe(151);
    expect(wycheproof.numberOfTests).toBe(151);
  });

  it.each(cases.map((c) => [c.tcId, c] as const))('tcId %i matches its expected result', (_id, c) => {
    let outcome: boolean;
    expect(() => {
      outcome = verifyEd25519(hex(c.pk), hex(c.msg), hex(c.sig));
    }).not.toThrow();
    expect(outcome!).toBe(c.result === 'valid');
  });

  it('refuses tcId 151 (identity R with the sign bit set), which ZIP-215 accepts', () => {
    const c = cases.find((t) => t.tcId === 151)!;
    expect(verifyEd25519(hex(c.pk), hex(c.msg), hex(c.sig))).toBe(false);
  });
});

describe('when canonicalising the JCS (RFC 8785) vectors', () => {
  const names = readdirSync(new URL('jcs/input/', dir)).filter((n) => n.endsWith('.json'));

  it('has the 6 pairs', () => {
    expect(names.sort()).toEqual(['arrays.json', 'french.json', 'structures.json', 'unicode.json', 'values.json', 'weird.json']);
  });

  it.each(names)('%s canonicalises byte for byte to its output', (name) => {
    const input = JSON.parse(readFileSync(new URL(`jcs/input/${name}`, dir), 'utf8')) as unknown;
    const expected = readFileSync(new URL(`jcs/output/${name}`, dir));
    expect(Buffer.from(canonicalize(input), 'utf8').equals(expected)).toBe(true);
    const outhex = readFileSync(new URL(`jcs/outhex/${name.replace('.json', '.txt')}`, dir), 'utf8').trim();
    expect(Buffer.from(outhex.replace(/\s+/g, ''), 'hex').equals(expected)).toBe(true);
  });

  it.each(names)('%s output is a fixed point (idempotent, isCanonical)', (name) => {
    const expected = readFileSync(new URL(`jcs/output/${name}`, dir));
    expect(canonicalize(JSON.parse(expected.toString('utf8')))).toBe(expected.toString('utf8'));
    expect(isCanonical(new Uint8Array(expected))).toBe(true);
  });

  it.each(names)('%s input is not canonical', (name) => {
    expect(isCanonical(new Uint8Array(readFileSync(new URL(`jcs/input/${name}`, dir))))).toBe(false);
  });

  // The verify path's canonical check is the one these vectors test: a statement carrying the
  // vector's canonical output as params is accepted, the same statement with the input spelling
  // of those params is refused.
  it.each(names)('%s decides what parseStatement accepts as params', (name) => {
    const output = readFileSync(new URL(`jcs/output/${name}`, dir), 'utf8');
    const input = readFileSync(new URL(`jcs/input/${name}`, dir), 'utf8');
    const text = canonicalize(makeStatement({ params: JSON.parse(output) as unknown }));
    expect(text).toContain(output);
    expect(parseStatement(new TextEncoder().encode(text)).params).toEqual(JSON.parse(output));
    const respelled = new TextEncoder().encode(text.replace(output, input.trim()));
    expect(() => parseStatement(respelled)).toThrow(
      expect.objectContaining({ code: 'ERR_PAYLOAD_NOT_CANONICAL' }) as Error,
    );
  });
});

describe('when computing DSSE PAE', () => {
  const entries = JSON.parse(readFileSync(new URL('dsse/pae.json', dir), 'utf8')) as {
    payloadType: string;
    payloadBase64: string;
    paeHex: string;
  }[];

  it.each(entries.map((e, i) => [i, e] as const))('entry %i equals paeHex byte for byte', (_i, e) => {
    const payload = e.payloadBase64 === '' ? new Uint8Array(0) : decodeBase64Strict(e.payloadBase64, 'vector');
    expect(Buffer.from(pae(e.payloadType, payload)).toString('hex')).toBe(e.paeHex);
  });

  it('refuses the spec example envelope (P-256, foreign payloadType, no keyid)', () => {
    const spec = JSON.parse(readFileSync(new URL('dsse/spec_example_envelope.json', dir), 'utf8')) as {
      envelope: object;
      paeHex: string;
    };
    expect(() => parseEnvelope(spec.envelope)).toThrow(EnvelopeError);
    expect(() => parseEnvelope(JSON.stringify(spec.envelope))).toThrow(EnvelopeError);
    expect(Buffer.from(pae('http://example.com/HelloWorld', new TextEncoder().encode('hello world'))).toString('hex')).toBe(spec.paeHex);
  });
});
