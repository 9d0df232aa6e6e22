/**
 * Attack: tamper with a signed envelope, one byte at a time, anywhere (payloadType, payload, keyid,
 * sig, the JSON syntax around them). Layer that must stop it: envelope (parseEnvelope: strict JSON,
 * closed schema, canonical base64) and trust (verifyEnvelope: Ed25519 over PAE). Every mutation must
 * end in a typed SealboxError: never acceptance, never an untyped exception.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { encodeEnvelope } from '../../src/envelope/envelope.ts';
import { SealboxError } from '../../src/errors.ts';
import { signEnvelope } from '../../src/trust/sign.ts';
import { verifyEnvelope } from '../../src/trust/verify.ts';
import { KEY_A, KEY_B, NOW, makeStatement, ringOf } from '../trust/fixtures.ts';

const ring = ringOf(KEY_A, KEY_B);
const text = encodeEnvelope(signEnvelope(makeStatement(), KEY_A));
const bytes = new TextEncoder().encode(text);

function outcome(input: string | Uint8Array | object): string {
  try {
    verifyEnvelope(input, ring, { now: NOW, cache: false });
    return 'ACCEPTED';
  } catch (error) {
    if (error instanceof SealboxError && error.code !== 'ERR_INTERNAL') return error.code;
    return `UNTYPED ${String(error)}`;
  }
}

function regionOf(field: 'payloadType' | 'payload' | 'keyid' | 'sig'): [number, number] {
  const marker = `"${field}":"`;
  const start = text.indexOf(marker) + marker.length;
  return [start, text.indexOf('"', start)];
}

describe('when one byte of a signed envelope is changed (layer: envelope + trust)', () => {
  it('the untouched envelope verifies', () => {
    expect(outcome(text)).toBe('ACCEPTED');
  });

  it('refuses every single-byte mutation anywhere in the JSON text with a typed error', () => {
    fc.assert(
      fc.property(fc.nat({ max: bytes.length - 1 }), fc.integer({ min: 1, max: 255 }), (index, delta) => {
        const mutated = Uint8Array.from(bytes);
        mutated[index] = (mutated[index]! + delta) & 0xff;
        const result = outcome(mutated);
        expect(result).not.toBe('ACCEPTED');
        expect(result).not.toMatch(/^UNTYPED/);
      }),
      { numRuns: 2000 },
    );
  });

  it.each(['payloadType', 'payload', 'keyid', 'sig'] as const)(
    'refuses every single-character change inside %s with a typed error',
    (field) => {
      const [start, end] = regionOf(field);
      const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/=-_."\\ \u00e9\u0000';
      fc.assert(
        fc.property(fc.integer({ min: start, max: end - 1 }), fc.constantFrom(...alphabet), (index, ch) => {
          fc.pre(text[index] !== ch);
          const mutated = text.slice(0, index) + ch + text.slice(index + 1);
          const result = outcome(mutated);
          expect(result).not.toBe('ACCEPTED');
          expect(result).not.toMatch(/^UNTYPED/);
        }),
        { numRuns: 500 },
      );
    },
  );

  it('refuses inserted and deleted bytes with a typed error', () => {
    fc.assert(
      fc.property(
        fc.nat({ max: text.length }),
        fc.boolean(),
        fc.integer({ min: 0, max: 255 }),
        (index, insert, byte) => {
          fc.pre(insert || index < bytes.length);
          const mutated = insert
            ? new Uint8Array([...bytes.subarray(0, index), byte, ...bytes.subarray(index)])
            : new Uint8Array([...bytes.subarray(0, index), ...bytes.subarray(index + 1)]);
          const result = outcome(mutated);
          // The envelope's JSON wrapper is not what is signed (PAE over payloadType and payload is),
          // so an insertion that re-encodes the same values (whitespace between tokens, or the JSON
          // escape `\/` for `/` inside payloadType) is the same envelope, not tampering. Anything
          // accepted must decode to exactly the original envelope.
          if (result === 'ACCEPTED') {
            expect(insert).toBe(true);
            expect(JSON.parse(new TextDecoder().decode(mutated))).toEqual(JSON.parse(text));
          } else {
            expect(result).not.toMatch(/^UNTYPED/);
          }
        },
      ),
      { numRuns: 1000 },
    );
  });
});

describe('when the envelope JSON re-encodes the same values (layer: envelope)', () => {
  it('accepts an escaped slash in payloadType, since the signed PAE is unchanged (regression: fast-check seed -1396490865)', () => {
    const escaped = text.replace('application/vnd', 'application\\/vnd');
    expect(escaped).not.toBe(text);
    expect(outcome(escaped)).toBe('ACCEPTED');
  });
});
