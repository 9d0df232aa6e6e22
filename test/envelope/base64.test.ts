import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { decodeBase64Strict, encodeBase64 } from '../../src/envelope/base64.ts';
import { EnvelopeError } from '../../src/errors.ts';

function code(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (error) {
    return error instanceof EnvelopeError ? error.code : 'untyped';
  }
  return undefined;
}

describe('when decoding canonical base64', () => {
  it('round-trips any bytes', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 200 }), (bytes) => {
        expect(Buffer.from(decodeBase64Strict(encodeBase64(bytes), 'x')).equals(Buffer.from(bytes))).toBe(
          true,
        );
      }),
    );
  });
});

describe('when decoding non-canonical base64', () => {
  it.each([
    ['whitespace', 'QUJD\n'],
    ['inner space', 'QU JD'],
    ['missing padding', 'QQ'],
    ['too much padding', 'QQ==='],
    ['non-zero trailing bits', 'QR=='],
    ['url-safe alphabet', 'a-_b'],
    ['padding in the middle', 'QQ==QUJD'],
    ['non-ASCII', 'QUJ€'],
  ])('throws ERR_ENVELOPE_MALFORMED for %s', (_name, text) => {
    expect(code(() => decodeBase64Strict(text, 'x'))).toBe('ERR_ENVELOPE_MALFORMED');
  });

  it('throws ERR_ENVELOPE_MALFORMED for a non-string', () => {
    expect(code(() => decodeBase64Strict(42 as unknown as string, 'x'))).toBe('ERR_ENVELOPE_MALFORMED');
  });
});
