/**
 * Attack: an envelope handed over as an object (a driver's row, a deserialised message) that is a
 * Proxy: its `signatures.length` answers 1 to the limit check and 6 to the loop that reads the
 * slots, or its traps answer differently on each read.
 * Layer that must stop it: envelope (decodeEnvelope reads plain data only, each value once).
 */
import { describe, expect, it } from 'vitest';
import { decodeEnvelope } from '../../src/envelope/envelope.ts';
import { EnvelopeError } from '../../src/errors.ts';
import { signEnvelope } from '../../src/trust/sign.ts';
import { KEY_A, makeStatement } from '../trust/fixtures.ts';

function codeOf(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (error) {
    return error instanceof EnvelopeError ? error.code : 'untyped';
  }
  return undefined;
}

const envelope = signEnvelope(makeStatement(), [KEY_A]);
const slots = Array.from({ length: 6 }, (_, i) => ({
  keyid: i.toString(16).padStart(64, '0'),
  sig: envelope.signatures[0]!.sig,
}));

describe('when signatures is a Proxy whose length grows after the check (layer: envelope)', () => {
  it('throws ERR_ENVELOPE_MALFORMED instead of decoding more than 4 signatures', () => {
    let reads = 0;
    const growing = new Proxy(slots, {
      get(target, key, receiver) {
        if (key === 'length') return reads++ === 0 ? 1 : target.length;
        return Reflect.get(target, key, receiver) as unknown;
      },
    });
    const hostile = { payloadType: envelope.payloadType, payload: envelope.payload, signatures: growing };
    expect(codeOf(() => decodeEnvelope(hostile))).toBe('ERR_ENVELOPE_MALFORMED');
  });
});

describe('when the envelope itself is a Proxy (layer: envelope)', () => {
  it('throws ERR_ENVELOPE_MALFORMED', () => {
    const hostile = new Proxy({ ...envelope, signatures: [...envelope.signatures] }, {});
    expect(codeOf(() => decodeEnvelope(hostile))).toBe('ERR_ENVELOPE_MALFORMED');
  });

  it('throws ERR_ENVELOPE_MALFORMED for a Proxy signature slot', () => {
    const hostile = {
      payloadType: envelope.payloadType,
      payload: envelope.payload,
      signatures: [new Proxy({ ...envelope.signatures[0]! }, {})],
    };
    expect(codeOf(() => decodeEnvelope(hostile))).toBe('ERR_ENVELOPE_MALFORMED');
  });
});
