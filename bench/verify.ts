/**
 * Verification cost: raw Ed25519 verify (noble, strict) vs the full verifyEnvelope pipeline (cache
 * disabled) on a 4 KiB statement, measured interleaved in the same run; and the cached path.
 * Targets: full / raw time <= 1.15; cached verify median < 50 µs.
 */
import { createHash } from 'node:crypto';
import { encodeBase64 } from '../src/envelope/base64.ts';
import { encodeEnvelope } from '../src/envelope/envelope.ts';
import { pae } from '../src/envelope/pae.ts';
import { buildStatementPayload } from '../src/envelope/statement.ts';
import { PAYLOAD_TYPE, type Statement } from '../src/envelope/types.ts';
import { verifyEd25519 } from '../src/trust/ed25519.ts';
import { Keyring } from '../src/trust/keyring.ts';
import { keyPairFromSeed } from '../src/trust/keys.ts';
import { signEnvelope } from '../src/trust/sign.ts';
import { VerifyCache } from '../src/trust/verify-cache.ts';
import { verifyEnvelope } from '../src/trust/verify.ts';
import { median, type BenchOptions, type BenchReport } from './harness.ts';

/** A statement whose canonical payload is about `bytes` long. */
function statementOfSize(bytes: number): Statement {
  const line = '  tokenize(text) { return text.toLowerCase().split(/\\W+/).filter(Boolean); }\n';
  let source = 'class Tokenizer extends Component {\n';
  while (source.length < bytes - 600) source += line;
  source += '}\n';
  return {
    _type: 'sealbox/component/v1',
    tenant: 'acme',
    identifier: 'tokenizer',
    version: 1,
    entry: 'Tokenizer',
    source,
    sourceSha256: createHash('sha256').update(source).digest('hex'),
    params: { lowercase: true },
    artifacts: {},
    requires: ['log'],
    repr: 'Tokenizer(bench)',
    issuedAt: '2026-01-01T00:00:00Z',
    packer: { name: 'sealbox', version: '0.1.0' },
  };
}

/** Runs the verify suite. */
export async function bench(options: BenchOptions): Promise<BenchReport> {
  const rounds = options.quick ? 3 : 15;
  const perRound = options.quick ? 5 : 40;
  const pair = keyPairFromSeed(new Uint8Array(32).fill(7));
  const ring = Keyring.parse({
    version: 1,
    keys: [
      {
        keyid: pair.keyid,
        publicKey: encodeBase64(pair.publicKey),
        tenants: ['acme'],
        identifiers: ['*'],
        status: 'active',
      },
    ],
  });
  const statement = statementOfSize(4096);
  const payload = buildStatementPayload(statement);
  const text = encodeEnvelope(signEnvelope(statement, pair));
  const message = pae(PAYLOAD_TYPE, payload);
  const sig = new Uint8Array(Buffer.from(JSON.parse(text).signatures[0].sig as string, 'base64'));
  const now = new Date('2026-06-01T00:00:00Z');

  const raw = (): void => {
    if (!verifyEd25519(pair.publicKey, message, sig)) throw new Error('raw verify failed');
  };
  const full = (): void => {
    verifyEnvelope(text, ring, { now, cache: false });
  };
  const loop = (fn: () => void): number => {
    const start = performance.now();
    for (let i = 0; i < perRound; i++) fn();
    return (performance.now() - start) / perRound;
  };
  // Warm up both paths, then interleave rounds so drift on a shared machine hits both equally.
  loop(raw);
  loop(full);
  const rawMs: number[] = [];
  const fullMs: number[] = [];
  for (let r = 0; r < rounds; r++) {
    rawMs.push(loop(raw));
    fullMs.push(loop(full));
  }
  const rawMedian = median(rawMs);
  const fullMedian = median(fullMs);

  const cache = new VerifyCache();
  verifyEnvelope(text, ring, { now, cache });
  const cachedUs: number[] = [];
  for (let i = 0; i < (options.quick ? 200 : 5000); i++) {
    const start = performance.now();
    verifyEnvelope(text, ring, { now, cache });
    cachedUs.push((performance.now() - start) * 1000);
  }
  const cachedMedianUs = median(cachedUs);
  const ratio = fullMedian / rawMedian;
  return {
    suite: 'verify',
    rows: [
      { name: 'raw verifyEd25519 (4 KiB statement PAE)', opsPerSec: 1000 / rawMedian, medianMs: rawMedian },
      { name: 'verifyEnvelope, cache disabled (4 KiB)', opsPerSec: 1000 / fullMedian, medianMs: fullMedian },
      { name: 'verifyEnvelope, cached (4 KiB)', value: cachedMedianUs, unit: 'µs median' },
      { name: 'envelope size', value: text.length, unit: 'bytes' },
    ],
    ratios: [
      {
        name: 'full verifyEnvelope time / raw Ed25519 verify time',
        value: ratio,
        target: '<= 1.15',
        ok: ratio <= 1.15,
      },
      {
        name: 'cached verifyEnvelope median µs',
        value: cachedMedianUs,
        target: '< 50',
        ok: cachedMedianUs < 50,
      },
    ],
    notes: [
      'Full pipeline: size check, JSON depth/duplicate pre-scan, closed envelope schema, strict base64, PAE, strict Ed25519, UTF-8, canonical-JSON check, closed statement schema, source hash, scope and time checks.',
      'Cached: envelope-bytes SHA-256 + keyring revision lookup, then scopes, windows, threshold, tenant, expiry are re-checked.',
    ],
  };
}

if (process.argv[1] !== undefined && import.meta.url.endsWith(process.argv[1].split('/').pop() ?? '')) {
  console.log(JSON.stringify(await bench({ quick: process.argv.includes('--quick') }), null, 2));
}
