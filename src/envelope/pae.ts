/** DSSE v1 Pre-Authentication Encoding: the exact bytes a signature covers. */

const encoder = new TextEncoder();

/**
 * `"DSSEv1" SP LEN(type) SP type SP LEN(body) SP body`, LEN = ASCII decimal byte count.
 * Defends against type/body confusion: both lengths are bound into the signed bytes, and LEN(type)
 * counts UTF-8 bytes (never `string.length`, which counts UTF-16 units).
 * @example pae('http://example.com/HelloWorld', new TextEncoder().encode('hello world'))
 */
export function pae(payloadType: string, payload: Uint8Array): Uint8Array {
  const type = encoder.encode(payloadType);
  const head = encoder.encode(`DSSEv1 ${type.length} `);
  const mid = encoder.encode(` ${payload.length} `);
  const out = new Uint8Array(head.length + type.length + mid.length + payload.length);
  out.set(head, 0);
  out.set(type, head.length);
  out.set(mid, head.length + type.length);
  out.set(payload, head.length + type.length + mid.length);
  return out;
}
