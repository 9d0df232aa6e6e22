/**
 * Strict base64 (RFC 4648 section 4, standard alphabet, with padding): exactly one text for each
 * byte string, so a signature or payload cannot be re-encoded into a different but "equal" text.
 */
import { EnvelopeError } from '../errors.ts';

// Linear, anchored, no nested quantifiers: cannot backtrack.
const BASE64_SHAPE = /^[A-Za-z0-9+/]*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

/**
 * Decodes canonical base64 or throws.
 * Defends against malleable encodings (whitespace, missing padding, non-zero trailing bits, the
 * URL-safe alphabet): the text must match the strict shape and re-encode to itself.
 * @param where names the field for the error message, e.g. `signatures[0].sig`.
 * @throws EnvelopeError ERR_ENVELOPE_MALFORMED on any non-canonical or invalid input.
 */
export function decodeBase64Strict(text: string, where: string): Uint8Array {
  if (typeof text !== 'string') {
    throw new EnvelopeError(
      'ERR_ENVELOPE_MALFORMED',
      `${where}: expected a base64 string, got ${typeof text}`,
      {
        where,
      },
    );
  }
  if (text.length % 4 !== 0 || !BASE64_SHAPE.test(text)) {
    throw new EnvelopeError(
      'ERR_ENVELOPE_MALFORMED',
      `${where}: expected canonical base64 (standard alphabet, padded, no whitespace), got ${text.length} characters that are not`,
      { where },
    );
  }
  const buffer = Buffer.from(text, 'base64');
  // Defends against non-zero trailing bits ("QQ==" vs "QR=="): both decode to the same byte.
  // With the shape above (alphabet only, padding only at the end, whole groups), groups of four
  // characters decode independently and only the last one can carry trailing bits, so re-encoding
  // that group alone decides it (re-encoding all of a 16 MB payload cost a second pass).
  const last = text.slice(-4);
  if (Buffer.from(last, 'base64').toString('base64') !== last) {
    throw new EnvelopeError('ERR_ENVELOPE_MALFORMED', `${where}: base64 has non-zero trailing bits`, {
      where,
    });
  }
  return new Uint8Array(buffer.buffer, buffer.byteOffset, buffer.byteLength);
}

/** Encodes bytes as standard padded base64. */
export function encodeBase64(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('base64');
}
