/**
 * Statement format versions: envelopes written by earlier releases (test/fixtures/statement-
 * versions/, rebuilt only by its committed script, each with the release that wrote it) keep
 * loading; a format newer than this release is refused with ERR_STATEMENT_VERSION naming the
 * release that reads it.
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { encodeBase64 } from '../../src/envelope/base64.ts';
import { canonicalBytes } from '../../src/envelope/canonical-json.ts';
import { pae } from '../../src/envelope/pae.ts';
import { PAYLOAD_TYPE, type JsonValue } from '../../src/envelope/types.ts';
import { EnvelopeError } from '../../src/errors.ts';
import { signEd25519 } from '../../src/trust/ed25519.ts';
import { Keyring } from '../../src/trust/keyring.ts';
import { keyPairFromSeed } from '../../src/trust/keys.ts';
import { verifyEnvelope } from '../../src/trust/verify.ts';

const DIR = fileURLToPath(new URL('../fixtures/statement-versions/', import.meta.url));
const keyring = Keyring.parse(readFileSync(`${DIR}keyring.json`, 'utf8'));
const envelope = (name: string): object => JSON.parse(readFileSync(`${DIR}${name}`, 'utf8')) as object;
const options = { tenant: 'acme', now: new Date('2026-12-02T00:00:00Z') };

/** Signs a statement object as-is (no schema check), the way a newer release would. */
function signRaw(statement: Record<string, unknown>): object {
  const key = keyPairFromSeed(new Uint8Array(32).fill(7));
  const payload = canonicalBytes(statement as JsonValue);
  const sig = signEd25519(key.privateKey, pae(PAYLOAD_TYPE, payload));
  return {
    payloadType: PAYLOAD_TYPE,
    payload: encodeBase64(payload),
    signatures: [{ keyid: key.keyid, sig: encodeBase64(sig) }],
  };
}

describe('when a node reads envelopes written by earlier releases', () => {
  it('loads the v1 envelope sealbox 0.1.0 wrote', () => {
    const { statement } = verifyEnvelope(envelope('v1.envelope.json'), keyring, options);
    expect(statement._type).toBe('sealbox/component/v1');
    expect(statement.packer).toEqual({ name: 'sealbox', version: '0.1.0' });
    expect(statement.entry).toBe('Plain');
    expect('dependencies' in statement).toBe(false);
  });

  it('loads the v2 envelope sealbox 0.2.0 wrote, with its SBOM', () => {
    const { statement } = verifyEnvelope(envelope('v2.envelope.json'), keyring, options);
    expect(statement._type).toBe('sealbox/component/v2');
    expect(statement.dependencies?.map((d) => `${d.name}@${d.version}`)).toEqual([
      'fastest-levenshtein@1.0.16',
      'stemmer@2.0.1',
    ]);
  });
});

describe('when the statement format is newer than this release', () => {
  const v2 = JSON.parse(
    Buffer.from((envelope('v2.envelope.json') as { payload: string }).payload, 'base64').toString('utf8'),
  ) as Record<string, unknown>;

  it('throws ERR_STATEMENT_VERSION naming the release that packed (and reads) it', () => {
    const newer = signRaw({
      ...v2,
      _type: 'sealbox/component/v3',
      packer: { name: 'sealbox', version: '0.9.0' },
      extra: 1,
    });
    let error: unknown;
    try {
      verifyEnvelope(newer, keyring, options);
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(EnvelopeError);
    expect((error as EnvelopeError).code).toBe('ERR_STATEMENT_VERSION');
    expect((error as EnvelopeError).message).toContain('sealbox 0.9.0');
    expect((error as EnvelopeError).details).toMatchObject({ type: 'sealbox/component/v3' });
  });

  it('throws ERR_STATEMENT_INVALID for a v1 statement that carries dependencies (v1 has no such field)', () => {
    const smuggled = signRaw({ ...v2, _type: 'sealbox/component/v1' });
    expect(() => verifyEnvelope(smuggled, keyring, options)).toThrow(
      expect.objectContaining({ code: 'ERR_STATEMENT_INVALID' }),
    );
  });

  it('throws ERR_STATEMENT_INVALID for a v2 statement with an unsafe SBOM path', () => {
    const deps = v2['dependencies'] as { files: { path: string }[] }[];
    const bad = structuredClone(deps);
    (bad[0] as { files: { path: string }[] }).files[0] = {
      ...(bad[0]?.files[0] as { path: string }),
      path: '../../etc/passwd',
    };
    expect(() => verifyEnvelope(signRaw({ ...v2, dependencies: bad }), keyring, options)).toThrow(
      expect.objectContaining({ code: 'ERR_STATEMENT_INVALID' }),
    );
  });
});
