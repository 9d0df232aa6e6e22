/**
 * DSSE v1 envelopes: strict parsing of untrusted input, and encoding. Bytes only: this module knows
 * nothing about keys, tenants or policy.
 */
import { types } from 'node:util';
import { EnvelopeError } from '../errors.ts';
import { decodeBase64Strict } from './base64.ts';
import { guard } from './guard.ts';
import { checkJsonBudget, type BudgetProblem } from './json-budget.ts';
import { DEFAULT_ENVELOPE_LIMITS, envelopeBudget, resolveLimits, type EnvelopeLimits } from './limits.ts';
import { PAYLOAD_TYPE, type Envelope, type Signature } from './types.ts';
import { visibleName, visibleText } from './visible.ts';

const KEYID = /^[0-9a-f]{64}$/;
const strictDecoder = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

/** An envelope together with its decoded bytes (what verification needs). */
export interface DecodedEnvelope {
  readonly envelope: Envelope;
  /** decoded payload bytes */
  readonly payload: Uint8Array;
  /** decoded 64-byte signatures, same order as envelope.signatures */
  readonly signatures: readonly Uint8Array[];
}

function malformed(message: string, where = '$'): never {
  throw new EnvelopeError('ERR_ENVELOPE_MALFORMED', message, { where });
}

function describe(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  return typeof value;
}

/** Reads own data properties of a plain object; refuses accessors, symbols and non-plain objects. */
function ownFields(value: unknown, where: string, expected: readonly string[]): Record<string, unknown> {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    malformed(`${where}: expected an object, got ${describe(value)}`, where);
  }
  // Defends against a Proxy answering each trap differently (keys, descriptors, prototype):
  // only plain data is read.
  if (types.isProxy(value)) malformed(`${where}: expected a plain object, got a Proxy`, where);
  const proto: unknown = Object.getPrototypeOf(value);
  if (proto !== Object.prototype && proto !== null) malformed(`${where}: expected a plain object`, where);
  const keys = Reflect.ownKeys(value);
  // Defends against a caller's object with millions of keys costing a loop per key: the count is
  // known before any of them is looked at.
  if (keys.length > expected.length) {
    malformed(`${where}: ${keys.length} fields; expected exactly ${expected.join(', ')}`, where);
  }
  const out: Record<string, unknown> = Object.create(null) as Record<string, unknown>;
  for (const key of keys) {
    // Defends against smuggled fields: anything but the exact field set is refused, never ignored.
    if (typeof key !== 'string' || !expected.includes(key)) {
      malformed(
        `${where}: unexpected field ${visibleName(String(key))}; expected exactly ${expected.join(', ')}`,
        where,
      );
    }
    const d = Object.getOwnPropertyDescriptor(value, key)!;
    // Defends against time-of-check/time-of-use tricks: a getter could answer differently later.
    if (!('value' in d)) malformed(`${where}.${key}: expected a data property, got an accessor`, where);
    out[key] = d.value;
  }
  for (const key of expected) {
    if (!(key in out)) malformed(`${where}: missing field ${key}`, where);
  }
  return out;
}

function limitsOf(limits: Partial<EnvelopeLimits> | undefined): EnvelopeLimits {
  if (limits === undefined) return DEFAULT_ENVELOPE_LIMITS;
  const resolved = resolveLimits(limits);
  if (typeof resolved === 'string') malformed(`invalid limits: ${resolved}`);
  return resolved;
}

/** Turns string / bytes input into a parsed JSON value, with size and depth checked first. */
function toJsonValue(input: string | Uint8Array, limits: EnvelopeLimits): unknown {
  let text: string;
  if (typeof input === 'string') {
    // Cheap bound first (UTF-8 needs at least one byte per UTF-16 unit), exact count second.
    if (
      input.length > limits.maxEnvelopeBytes ||
      Buffer.byteLength(input, 'utf8') > limits.maxEnvelopeBytes
    ) {
      throw new EnvelopeError(
        'ERR_INPUT_TOO_LARGE',
        `envelope is larger than the ${limits.maxEnvelopeBytes}-byte limit`,
        { limit: limits.maxEnvelopeBytes },
      );
    }
    text = input;
  } else {
    if (input.byteLength > limits.maxEnvelopeBytes) {
      throw new EnvelopeError(
        'ERR_INPUT_TOO_LARGE',
        `envelope is ${input.byteLength} bytes, more than the ${limits.maxEnvelopeBytes}-byte limit`,
        { size: input.byteLength, limit: limits.maxEnvelopeBytes },
      );
    }
    try {
      text = strictDecoder.decode(input);
    } catch {
      malformed('envelope is not valid UTF-8');
    }
  }
  if (text.length === 0) malformed('envelope is empty');
  // Defends against unauthenticated event-loop freezes (a 3.5-million-key object, millions of
  // `{}`, long number arrays) and duplicate-key differentials: the text must fit the DSSE shape's
  // own size (3 fields, at most 4 signatures of 2 fields, depth 3) before JSON.parse allocates
  // anything per key; the scan stops at the first character past that shape.
  const problem = checkJsonBudget(text, envelopeBudget(limits));
  if (problem !== undefined) refuseShape(problem, limits);
  try {
    return JSON.parse(text) as unknown;
  } catch {
    // The SyntaxError text quotes the input; it is left out on purpose.
    return malformed('envelope is not valid JSON');
  }
}

/** The typed refusal for an envelope text that breaks the DSSE shape's budget. */
function refuseShape(problem: BudgetProblem, limits: EnvelopeLimits): never {
  switch (problem.kind) {
    case 'itemsPerArray':
      if (problem.depth !== 2) return malformed('envelope JSON is not an object of three fields');
      // The only array inside an envelope is `signatures`.
      throw new EnvelopeError(
        'ERR_TOO_MANY_SIGNATURES',
        `signatures: expected at most ${limits.maxSignatures}, got more`,
        { limit: limits.maxSignatures },
      );
    case 'duplicate':
      return malformed(`envelope JSON has a duplicate key ${visibleText(JSON.stringify(problem.key))}`);
    case 'syntax':
      return malformed('envelope is not valid JSON');
    case 'depth':
      return malformed(`envelope JSON is nested deeper than the DSSE shape (${problem.limit} levels)`);
    case 'keysPerObject':
      return malformed(
        `envelope JSON has an object with more than ${problem.limit} fields; expected exactly payloadType, payload, signatures`,
      );
    case 'keyLength':
      return malformed(`envelope JSON has a field name longer than ${problem.limit} characters`);
    case 'stringLength':
      return malformed(`envelope JSON has a string longer than ${problem.limit} characters`);
    case 'totalKeys':
    case 'totalValues':
      return malformed(
        `envelope JSON has more values than a DSSE envelope with ${limits.maxSignatures} signatures can hold`,
      );
  }
}

/**
 * Parses an untrusted envelope and returns it with its decoded payload and signatures.
 * @throws EnvelopeError ERR_INPUT_TOO_LARGE, ERR_ENVELOPE_MALFORMED, ERR_PAYLOAD_TYPE, ERR_TOO_MANY_SIGNATURES
 */
export function decodeEnvelope(
  input: string | Uint8Array | object,
  limits?: Partial<EnvelopeLimits>,
): DecodedEnvelope {
  return guard(
    () => decodeUnguarded(input, limits),
    (cause) =>
      new EnvelopeError('ERR_ENVELOPE_MALFORMED', 'envelope could not be read as plain data', {}, { cause }),
  );
}

function decodeUnguarded(
  input: string | Uint8Array | object,
  limits?: Partial<EnvelopeLimits>,
): DecodedEnvelope {
  const lim = limitsOf(limits);
  const value = typeof input === 'string' || input instanceof Uint8Array ? toJsonValue(input, lim) : input;
  const top = ownFields(value, '$', ['payloadType', 'payload', 'signatures']);
  const payloadType = top['payloadType'];
  if (typeof payloadType !== 'string')
    malformed(`payloadType: expected a string, got ${describe(payloadType)}`, 'payloadType');
  if (payloadType !== PAYLOAD_TYPE) {
    throw new EnvelopeError(
      'ERR_PAYLOAD_TYPE',
      `payloadType: expected ${PAYLOAD_TYPE}, got ${visibleText(JSON.stringify(payloadType.slice(0, 100)))}`,
      {
        where: 'payloadType',
      },
    );
  }
  const payloadText = top['payload'];
  if (typeof payloadText !== 'string')
    malformed(`payload: expected a base64 string, got ${describe(payloadText)}`, 'payload');
  if (payloadText.length > Math.ceil(lim.maxEnvelopeBytes / 3) * 4) {
    throw new EnvelopeError(
      'ERR_INPUT_TOO_LARGE',
      `payload is larger than the ${lim.maxEnvelopeBytes}-byte limit`,
      {
        limit: lim.maxEnvelopeBytes,
      },
    );
  }
  const sigs = top['signatures'];
  // Defends against a Proxy whose length grows after the count check (bypassing the signature
  // limit): Proxies are refused and the length is read exactly once.
  if (!Array.isArray(sigs) || types.isProxy(sigs) || Object.getPrototypeOf(sigs) !== Array.prototype) {
    malformed(`signatures: expected an array, got ${describe(sigs)}`, 'signatures');
  }
  const count = sigs.length;
  if (count === 0) malformed('signatures: expected at least one signature, got none', 'signatures');
  if (count > lim.maxSignatures) {
    throw new EnvelopeError(
      'ERR_TOO_MANY_SIGNATURES',
      `signatures: expected at most ${lim.maxSignatures}, got ${count}`,
      { count, limit: lim.maxSignatures },
    );
  }
  const seen = new Set<string>();
  const signatures: Signature[] = [];
  const sigBytes: Uint8Array[] = [];
  for (let i = 0; i < count; i++) {
    const where = `signatures[${i}]`;
    const slot = Object.getOwnPropertyDescriptor(sigs, i);
    if (slot === undefined) malformed(`${where}: missing`, where);
    // Defends against time-of-check/time-of-use tricks: an index getter could answer differently.
    if (!('value' in slot)) malformed(`${where}: expected a data property, got an accessor`, where);
    const fields = ownFields(slot.value as unknown, where, ['keyid', 'sig']);
    const keyid = fields['keyid'];
    const sig = fields['sig'];
    if (typeof keyid !== 'string' || !KEYID.test(keyid)) {
      malformed(`${where}.keyid: expected 64 lowercase hex characters (SHA-256 of the public key)`, where);
    }
    // Defends against threshold inflation: the same key listed twice must not count twice.
    if (seen.has(keyid)) malformed(`${where}.keyid: duplicate keyid ${keyid}`, where);
    seen.add(keyid);
    if (typeof sig !== 'string')
      malformed(`${where}.sig: expected a base64 string, got ${describe(sig)}`, where);
    const bytes = decodeBase64Strict(sig, `${where}.sig`);
    if (bytes.length !== 64)
      malformed(`${where}.sig: expected 64 bytes (Ed25519), got ${bytes.length}`, where);
    signatures.push(Object.freeze({ keyid, sig }));
    sigBytes.push(bytes);
  }
  const payload = decodeBase64Strict(payloadText, 'payload');
  const envelope: Envelope = Object.freeze({
    payloadType,
    payload: payloadText,
    signatures: Object.freeze(signatures),
  });
  return Object.freeze({ envelope, payload, signatures: Object.freeze(sigBytes) });
}

/**
 * Parses an untrusted DSSE v1 envelope (JSON text, UTF-8 bytes, or an already parsed object).
 * Closed schema: exactly payloadType/payload/signatures; each signature exactly {keyid, sig};
 * keyid 64 lowercase hex; sig canonical base64 of 64 bytes; 1..4 signatures, distinct keyids.
 * Does not verify anything: see verifyEnvelope in src/trust/verify.ts.
 * @throws EnvelopeError ERR_INPUT_TOO_LARGE, ERR_ENVELOPE_MALFORMED, ERR_PAYLOAD_TYPE, ERR_TOO_MANY_SIGNATURES
 * @example parseEnvelope(text).signatures[0].keyid
 */
export function parseEnvelope(
  input: string | Uint8Array | object,
  limits?: Partial<EnvelopeLimits>,
): Envelope {
  return decodeEnvelope(input, limits).envelope;
}

/**
 * The JSON text of an envelope, fields in a fixed order (payloadType, payload, signatures).
 * @throws EnvelopeError when the envelope is not well formed (it is parsed first).
 */
export function encodeEnvelope(envelope: Envelope): string {
  const checked = parseEnvelope(envelope);
  return JSON.stringify({
    payloadType: checked.payloadType,
    payload: checked.payload,
    signatures: checked.signatures.map((s) => ({ keyid: s.keyid, sig: s.sig })),
  });
}
