/**
 * Attack: feed garbage to the envelope layer: random bytes, empty input, 100 MB, JSON nested
 * 100,000 deep, wrong types in every field, hostile objects (throwing Proxy traps, getters).
 * Layer that must stop it: envelope (size limit before parsing, iterative depth pre-scan, closed
 * schema, guard) and trust (signature before payload). Always a typed error, in bounded time,
 * never a stack overflow.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { encodeBase64 } from '../../src/envelope/base64.ts';
import { canonicalBytes, canonicalize } from '../../src/envelope/canonical-json.ts';
import { encodeEnvelope, parseEnvelope } from '../../src/envelope/envelope.ts';
import { pae } from '../../src/envelope/pae.ts';
import { parseStatement } from '../../src/envelope/statement.ts';
import { PAYLOAD_TYPE } from '../../src/envelope/types.ts';
import { SealboxError } from '../../src/errors.ts';
import { signEd25519 } from '../../src/trust/ed25519.ts';
import { Keyring } from '../../src/trust/keyring.ts';
import { parsePrivateKey, parsePublicKeyFile } from '../../src/trust/keys.ts';
import { signEnvelope } from '../../src/trust/sign.ts';
import { verifyEnvelope } from '../../src/trust/verify.ts';
import { costRatio } from '../support/timing.ts';
import { KEY_A, NOW, makeStatement, ringOf } from '../trust/fixtures.ts';

const ring = ringOf(KEY_A);

function typedCode(fn: () => unknown): string {
  try {
    fn();
    return 'ACCEPTED';
  } catch (error) {
    if (error instanceof SealboxError && error.code !== 'ERR_INTERNAL') return error.code;
    return `UNTYPED ${error instanceof Error ? `${error.name}: ${error.message}` : String(error)}`;
  }
}

const verify = (input: unknown) =>
  typedCode(() => verifyEnvelope(input as string, ring, { now: NOW, cache: false }));

describe('when the input is garbage (layer: envelope)', () => {
  it('refuses random bytes with a typed error', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 512 }), (b) => {
        expect(verify(b)).not.toMatch(/^(ACCEPTED|UNTYPED)/);
      }),
      { numRuns: 1000 },
    );
  });

  it('refuses random JSON values with a typed error', () => {
    fc.assert(
      fc.property(fc.jsonValue(), (v) => {
        expect(verify(JSON.stringify(v) ?? '')).not.toMatch(/^(ACCEPTED|UNTYPED)/);
        if (v !== null && typeof v === 'object') expect(verify(v)).not.toMatch(/^(ACCEPTED|UNTYPED)/);
      }),
      { numRuns: 500 },
    );
  });

  it.each([
    ['empty text', ''],
    ['empty bytes', new Uint8Array(0)],
    ['a number', 5],
    ['undefined', undefined],
    ['null', null],
    ['a BigInt', -5n],
    ['a symbol', Symbol('x')],
    ['a function', () => 1],
    ['NaN', NaN],
    ['a fake Uint8Array', { length: 3, 0: 1, 1: 2, 2: 3 }],
    ['a __proto__ object', JSON.parse('{"__proto__":{"payloadType":"x"}}') as object],
    ['a BOM', '\ufeff{}'],
  ])('throws a typed error for %s', (_name, input) => {
    expect(verify(input)).not.toMatch(/^(ACCEPTED|UNTYPED)/);
  });

  it('refuses 100 MB quickly with ERR_INPUT_TOO_LARGE, before parsing', () => {
    const big = `{"payload":"${'A'.repeat(100 * 1024 * 1024)}"}`;
    expect(verify(big)).toBe('ERR_INPUT_TOO_LARGE');
    // "Before parsing": refusing costs a fraction of one JSON.parse of the same text.
    expect(
      costRatio(
        () => verify(big),
        () => JSON.parse(big),
        1,
      ),
    ).toBeLessThan(0.5);
    const bigBytes = new Uint8Array(100 * 1024 * 1024);
    expect(verify(bigBytes)).toBe('ERR_INPUT_TOO_LARGE');
  });

  it('refuses JSON nested 100,000 deep without a stack overflow', () => {
    for (const deep of [
      '['.repeat(100_000) + ']'.repeat(100_000),
      '{"a":'.repeat(100_000) + '1' + '}'.repeat(100_000),
    ]) {
      expect(verify(deep)).toBe('ERR_ENVELOPE_MALFORMED');
      // Bounded like a flat input of the same length: the depth budget stops the scan, no crawl.
      const flat = `[${'0,'.repeat(deep.length / 2 - 1)}0]`;
      expect(
        costRatio(
          () => verify(deep),
          () => verify(flat),
          2,
        ),
      ).toBeLessThan(20);
      expect(typedCode(() => Keyring.parse(deep))).toBe('ERR_KEYRING_INVALID');
      expect(typedCode(() => parseStatement(new TextEncoder().encode(deep)))).toMatch(/^ERR_/);
    }
  });

  it('refuses a deep object handed over already parsed', () => {
    let deep: unknown = 1;
    for (let i = 0; i < 100_000; i++) deep = { a: deep };
    expect(verify({ payloadType: PAYLOAD_TYPE, payload: 'AAAA', signatures: [deep] })).toBe(
      'ERR_ENVELOPE_MALFORMED',
    );
    expect(typedCode(() => canonicalize(deep))).toBe('ERR_JSON_INVALID');
  });

  it('turns hostile Proxy traps and throwing getters into typed errors', () => {
    const trap = new Proxy(
      {},
      {
        ownKeys() {
          throw new Error('boom');
        },
        getPrototypeOf() {
          throw new Error('boom');
        },
      },
    );
    const getter = Object.defineProperty({}, 'payload', {
      get() {
        throw new Error('boom');
      },
      enumerable: true,
    });
    for (const hostile of [trap, getter]) {
      expect(verify(hostile)).toMatch(/^ERR_/);
      expect(typedCode(() => parseEnvelope(hostile))).toMatch(/^ERR_/);
      expect(typedCode(() => canonicalize(hostile))).toMatch(/^ERR_/);
      expect(typedCode(() => Keyring.parse(hostile))).toMatch(/^ERR_/);
      expect(typedCode(() => signEnvelope(hostile as never, KEY_A))).toMatch(/^ERR_/);
      expect(typedCode(() => verifyEnvelope('x', ring, hostile as never))).toBe('ERR_CONFIG_INVALID');
    }
    for (const bad of [undefined, null, 5, 'x'.repeat(10_000), '{}', '[]']) {
      expect(typedCode(() => parsePrivateKey(bad as string))).toBe('ERR_PRIVATE_KEY_INVALID');
      expect(typedCode(() => parsePublicKeyFile(bad as string))).toBe('ERR_PUBLIC_KEY_INVALID');
    }
  });
});

describe('when an envelope object answers differently on a second read (layer: envelope)', () => {
  it('refuses a signature slot that is a getter, so it cannot swap envelopes after the check', () => {
    const good = JSON.parse(encodeEnvelope(signEnvelope(makeStatement(), KEY_A))) as Record<string, unknown>;
    const real = (good['signatures'] as object[])[0];
    let reads = 0;
    const signatures: unknown[] = [];
    Object.defineProperty(signatures, 0, {
      get: () => (reads++ === 0 ? real : { keyid: 'f'.repeat(64), sig: 'x' }),
      enumerable: true,
    });
    expect(verify({ ...good, signatures })).toBe('ERR_ENVELOPE_MALFORMED');
  });
});

describe('when every field of the envelope has the wrong type (layer: envelope)', () => {
  const good = JSON.parse(encodeEnvelope(signEnvelope(makeStatement(), KEY_A))) as Record<string, unknown>;
  const wrongs: unknown[] = [null, 0, -1, 1.5, true, '', 'x', [], {}, [1], { a: 1 }];
  it.each(['payloadType', 'payload', 'signatures'])('refuses any wrong type in %s', (field) => {
    for (const w of wrongs) {
      expect(verify({ ...good, [field]: w })).not.toMatch(/^(ACCEPTED|UNTYPED)/);
      expect(verify(JSON.stringify({ ...good, [field]: w }))).not.toMatch(/^(ACCEPTED|UNTYPED)/);
    }
  });

  it.each(['keyid', 'sig'])('refuses any wrong type in signatures[0].%s', (field) => {
    const sig = (good['signatures'] as Record<string, unknown>[])[0]!;
    for (const w of wrongs)
      expect(verify({ ...good, signatures: [{ ...sig, [field]: w }] })).not.toMatch(/^(ACCEPTED|UNTYPED)/);
  });
});

describe('when a correctly signed statement has the wrong type in any field (layer: envelope statement schema)', () => {
  const statement = makeStatement() as unknown as Record<string, unknown>;
  const wrongs: unknown[] = [null, 0, -1, 1.5, true, '', [], {}, ['x'], { a: 1 }, 'x'.repeat(300)];
  function signedWith(value: Record<string, unknown>): string {
    const payload = canonicalBytes(value);
    const sig = signEd25519(KEY_A.privateKey, pae(PAYLOAD_TYPE, payload));
    return JSON.stringify({
      payloadType: PAYLOAD_TYPE,
      payload: encodeBase64(payload),
      signatures: [{ keyid: KEY_A.keyid, sig: encodeBase64(sig) }],
    });
  }
  it.each(Object.keys(statement))('refuses every wrong type in %s with an EnvelopeError', (field) => {
    for (const w of wrongs) {
      // Values that are valid for the field by design: any JSON params, empty artifacts/requires,
      // a capability named x, a 300-character repr.
      if (field === 'params') continue;
      if (field === 'artifacts' && JSON.stringify(w) === '{}') continue;
      if (field === 'requires' && ['[]', '["x"]'].includes(JSON.stringify(w))) continue;
      if (field === 'repr' && typeof w === 'string' && w.length > 0) continue;
      const code = verify(signedWith({ ...statement, [field]: w }));
      expect(code).toMatch(/^ERR_(STATEMENT_INVALID|DIGEST_MISMATCH|INPUT_TOO_LARGE)$/);
    }
  });

  it('refuses random extra fields', () => {
    fc.assert(
      fc.property(fc.string({ minLength: 1, maxLength: 10 }), fc.jsonValue(), (key, value) => {
        fc.pre(!(key in statement) && value !== undefined);
        expect(verify(signedWith({ ...statement, [key]: value }))).toMatch(
          /^ERR_(STATEMENT_INVALID|JSON_INVALID)$/,
        );
      }),
      { numRuns: 100 },
    );
  });
});
