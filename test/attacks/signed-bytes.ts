/**
 * Test helpers for attacks that need envelopes around arbitrary payload bytes: signed for real by
 * a test key (what a tenant's own trusted key can do), or carrying forged signatures under trusted
 * keyids (what anyone can do: keyids are public).
 */
import { createHash } from 'node:crypto';
import { encodeBase64 } from '../../src/envelope/base64.ts';
import { canonicalize } from '../../src/envelope/canonical-json.ts';
import { pae } from '../../src/envelope/pae.ts';
import { PAYLOAD_TYPE } from '../../src/envelope/types.ts';
import { signEd25519 } from '../../src/trust/ed25519.ts';
import type { KeyPair } from '../../src/trust/keys.ts';
import { makeStatement } from '../trust/fixtures.ts';

/** Envelope JSON text of `payload`, signed over its PAE by each key. */
export function signRaw(payload: Uint8Array, keys: readonly KeyPair[]): string {
  const message = pae(PAYLOAD_TYPE, payload);
  return JSON.stringify({
    payloadType: PAYLOAD_TYPE,
    payload: encodeBase64(payload),
    signatures: keys.map((k) => ({ keyid: k.keyid, sig: encodeBase64(signEd25519(k.privateKey, message)) })),
  });
}

/**
 * Envelope JSON text of `payload` with one forged signature per key: a real signature of that key
 * over other bytes, so R is a valid point and verification hashes the whole PAE before failing.
 */
export function forgeRaw(payload: Uint8Array, keys: readonly KeyPair[]): string {
  return JSON.stringify({
    payloadType: PAYLOAD_TYPE,
    payload: encodeBase64(payload),
    signatures: keys.map((k) => ({
      keyid: k.keyid,
      sig: encodeBase64(signEd25519(k.privateKey, new TextEncoder().encode('other bytes'))),
    })),
  });
}

/**
 * Canonical payload bytes of a statement (tenant, identifier as given) whose params are the JSON
 * object text `paramsText` (already canonical: keys sorted, no spaces). Bypasses every check on
 * purpose, the way a tenant's own build tool could.
 */
export function payloadWithParams(paramsText: string, overrides: Record<string, unknown> = {}): Uint8Array {
  const text = canonicalize(makeStatement({ params: { __params__: 0 }, ...overrides }));
  return new TextEncoder().encode(text.replace('{"__params__":0}', paramsText));
}

/** `{"k0000000":0,…}` with `keys` sorted keys (canonical). */
export function manyKeysText(keys: number): string {
  const parts: string[] = [];
  for (let i = 0; i < keys; i++) parts.push(`"k${String(i).padStart(7, '0')}":${i % 10}`);
  return `{${parts.join(',')}}`;
}

/** Canonical statement payload with one artifact of `bytes` bytes. */
export function payloadWithArtifact(bytes: number, overrides: Record<string, unknown> = {}): Uint8Array {
  const data = new Uint8Array(bytes).fill(0x2a);
  return new TextEncoder().encode(
    canonicalize(
      makeStatement({
        artifacts: {
          'blob.bin': {
            sha256: createHash('sha256').update(data).digest('hex'),
            size: bytes,
            mediaType: 'application/octet-stream',
            data: encodeBase64(data),
          },
        },
        ...overrides,
      }),
    ),
  );
}

/** A valid Tokenizer source of about `bytes` bytes (comment lines after the class). */
export function sourceOfSize(bytes: number): string {
  const head = 'class Tokenizer extends Component {\n  tokenize(text) { return text.split(/\\W+/); }\n}\n';
  const line = `// ${'padding '.repeat(7)}\n`;
  return head + line.repeat(Math.max(0, Math.floor((bytes - head.length) / line.length)));
}
