import { describe, expect, it } from 'vitest';
import { encodeBase64 } from '../../src/envelope/base64.ts';
import { encodeEnvelope, parseEnvelope } from '../../src/envelope/envelope.ts';
import { PAYLOAD_TYPE } from '../../src/envelope/types.ts';
import { EnvelopeError } from '../../src/errors.ts';
import { signEnvelope } from '../../src/trust/sign.ts';
import { KEY_A, KEY_B, makeStatement } from '../trust/fixtures.ts';

const good = signEnvelope(makeStatement(), [KEY_A, KEY_B]);
const sig = good.signatures[0]!;

function codeOf(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (error) {
    return error instanceof EnvelopeError ? error.code : `untyped ${String(error)}`;
  }
  return undefined;
}

describe('when parsing a well-formed envelope', () => {
  it('accepts text, bytes and objects alike, frozen', () => {
    const text = encodeEnvelope(good);
    for (const input of [text, new TextEncoder().encode(text), JSON.parse(text) as object]) {
      const env = parseEnvelope(input);
      expect(env).toEqual(good);
      expect(Object.isFrozen(env)).toBe(true);
      expect(Object.isFrozen(env.signatures[0])).toBe(true);
    }
  });

  it('encodes fields in a fixed order', () => {
    expect(Object.keys(JSON.parse(encodeEnvelope(good)) as object)).toEqual([
      'payloadType',
      'payload',
      'signatures',
    ]);
  });
});

describe('when the envelope is malformed', () => {
  const base = { payloadType: PAYLOAD_TYPE, payload: good.payload, signatures: [{ ...sig }] };
  it.each([
    ['an extra field', { ...base, alg: 'none' }],
    ['a missing payload', { payloadType: PAYLOAD_TYPE, signatures: base.signatures }],
    ['payload not a string', { ...base, payload: 5 }],
    ['payload with whitespace', { ...base, payload: ` ${good.payload}` }],
    ['signatures not an array', { ...base, signatures: {} }],
    ['no signatures', { ...base, signatures: [] }],
    ['a signature with an extra field', { ...base, signatures: [{ ...sig, alg: 'ed25519' }] }],
    ['a signature without keyid', { ...base, signatures: [{ sig: sig.sig }] }],
    ['an upper-case keyid', { ...base, signatures: [{ ...sig, keyid: sig.keyid.toUpperCase() }] }],
    ['a short keyid', { ...base, signatures: [{ ...sig, keyid: sig.keyid.slice(2) }] }],
    ['a 63-byte sig', { ...base, signatures: [{ ...sig, sig: encodeBase64(new Uint8Array(63)) }] }],
    ['a 65-byte sig', { ...base, signatures: [{ ...sig, sig: encodeBase64(new Uint8Array(65)) }] }],
    ['a duplicate keyid', { ...base, signatures: [{ ...sig }, { ...sig }] }],
    ['a null signature', { ...base, signatures: [null] }],
    ['an array top level', [base]],
    ['null', null],
    ['a class instance', new (class {})()],
  ])('throws ERR_ENVELOPE_MALFORMED for %s', (_name, value) => {
    expect(codeOf(() => parseEnvelope(value as object))).toBe('ERR_ENVELOPE_MALFORMED');
    if (value !== null)
      expect(codeOf(() => parseEnvelope(JSON.stringify(value)))).toBe('ERR_ENVELOPE_MALFORMED');
  });

  it('throws ERR_ENVELOPE_MALFORMED for a duplicate key in the JSON text', () => {
    const text = encodeEnvelope(good).replace('{"payloadType"', '{"payload":"AAAA","payloadType"');
    expect(codeOf(() => parseEnvelope(text))).toBe('ERR_ENVELOPE_MALFORMED');
    const escaped = encodeEnvelope(good).replace('{"payloadType"', '{"p\\u0061yload":"AAAA","payloadType"');
    expect(codeOf(() => parseEnvelope(escaped))).toBe('ERR_ENVELOPE_MALFORMED');
  });

  it('throws ERR_ENVELOPE_MALFORMED for an accessor field', () => {
    const value = { ...base };
    Object.defineProperty(value, 'payload', { get: () => good.payload, enumerable: true });
    expect(codeOf(() => parseEnvelope(value))).toBe('ERR_ENVELOPE_MALFORMED');
  });

  it('throws ERR_ENVELOPE_MALFORMED for a symbol key', () => {
    expect(codeOf(() => parseEnvelope({ ...base, [Symbol('x')]: 1 }))).toBe('ERR_ENVELOPE_MALFORMED');
  });

  it('throws ERR_PAYLOAD_TYPE for another payloadType', () => {
    expect(codeOf(() => parseEnvelope({ ...base, payloadType: 'application/vnd.in-toto+json' }))).toBe(
      'ERR_PAYLOAD_TYPE',
    );
  });

  it('throws ERR_TOO_MANY_SIGNATURES for 5 signatures', () => {
    const sigs = [1, 2, 3, 4, 5].map((i) => ({ keyid: i.toString(16).padStart(64, '0'), sig: sig.sig }));
    expect(codeOf(() => parseEnvelope({ ...base, signatures: sigs }))).toBe('ERR_TOO_MANY_SIGNATURES');
  });

  it('throws ERR_INPUT_TOO_LARGE above the byte limit, before parsing', () => {
    const text = encodeEnvelope(good);
    expect(codeOf(() => parseEnvelope(text, { maxEnvelopeBytes: 100 }))).toBe('ERR_INPUT_TOO_LARGE');
    expect(codeOf(() => parseEnvelope(new TextEncoder().encode(text), { maxEnvelopeBytes: 100 }))).toBe(
      'ERR_INPUT_TOO_LARGE',
    );
  });

  it('throws ERR_ENVELOPE_MALFORMED for invalid limits', () => {
    expect(codeOf(() => parseEnvelope(good, { maxSignatures: 9 }))).toBe('ERR_ENVELOPE_MALFORMED');
  });
});
