/** `sealbox pack` and `sealbox diff`, run in-process; plus pack → sign → verify. */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { main } from '../../src/cli/main.ts';
import type { CliIO } from '../../src/cli/context.ts';
import { pack } from '../../src/component/pack.ts';
import { encodeBase64 } from '../../src/envelope/base64.ts';
import { formatPrivateKeyFile, generateKeyPair, type KeyPair } from '../../src/trust/keys.ts';
import { Keyring } from '../../src/trust/keyring.ts';
import { verifyEnvelope } from '../../src/trust/verify.ts';

const FIXTURES = fileURLToPath(new URL('../fixtures/components/', import.meta.url));
let dir: string;
let key: KeyPair;
let ring: Keyring;

async function run(...argv: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  let stdout = '';
  let stderr = '';
  const io: CliIO = { stdout: (t) => void (stdout += t), stderr: (t) => void (stderr += t), cwd: dir };
  const code = await main(argv, io);
  return { code, stdout, stderr };
}

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'sealbox-cli-pack-'));
  key = generateKeyPair();
  writeFileSync(join(dir, 'author.key'), formatPrivateKeyFile(key));
  writeFileSync(join(dir, 'params.json'), JSON.stringify({ lowercase: true }));
  writeFileSync(join(dir, 'params2.json'), JSON.stringify({ lowercase: false, stopwords: ['a'] }));
  writeFileSync(join(dir, 'blob.bin'), new Uint8Array([0, 1, 2, 255]));
  ring = Keyring.parse({
    version: 1,
    keys: [
      {
        keyid: key.keyid,
        publicKey: encodeBase64(key.publicKey),
        tenants: ['acme'],
        identifiers: ['*'],
        status: 'active',
      },
    ],
  });
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const packArgs = (out: string, ...extra: string[]): string[] => [
  'pack',
  `${FIXTURES}tokenizer.js`,
  '--export',
  'Tokenizer',
  '--tenant',
  'acme',
  '--id',
  'tok',
  '--key',
  'author.key',
  '--issued-at',
  '2026-01-01T00:00:00Z',
  '-o',
  out,
  ...extra,
];

describe('when packing on the command line', () => {
  it('writes a signed envelope that verifies against the keyring', async () => {
    const r = await run(
      ...packArgs(
        'v1.json',
        '--version',
        '1',
        '--params',
        'params.json',
        '--artifact',
        'blob.bin=blob.bin',
        '--requires',
        'log',
      ),
    );
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const verified = verifyEnvelope(readFileSync(join(dir, 'v1.json'), 'utf8'), ring, {
      tenant: 'acme',
      now: new Date('2026-06-01T00:00:00Z'),
    });
    expect(verified.statement.entry).toBe('Tokenizer');
    expect(verified.statement.params).toEqual({ lowercase: true });
    expect(verified.statement.requires).toEqual(['log']);
    expect(verified.statement.artifacts['blob.bin']?.size).toBe(4);
  });

  it('is reproducible with --issued-at', async () => {
    await run(...packArgs('a.json', '--version', '1'));
    await run(...packArgs('b.json', '--version', '1'));
    expect(readFileSync(join(dir, 'a.json'), 'utf8')).toBe(readFileSync(join(dir, 'b.json'), 'utf8'));
  });

  it('prints a JSON summary with --json', async () => {
    const r = await run(...packArgs('c.json', '--version', '2', '--json'));
    expect(r.code).toBe(0);
    const summary = JSON.parse(r.stdout) as { digest: string; entry: string };
    expect(summary.entry).toBe('Tokenizer');
    expect(summary.digest).toMatch(/^[0-9a-f]{64}$/);
  });

  it('exits 2 for a missing flag and 3 for an unpackable source', async () => {
    expect((await run('pack', `${FIXTURES}tokenizer.js`, '--tenant', 'acme')).code).toBe(2);
    const r = await run(
      ...packArgs('d.json', '--version', '1').map((a) => (a === 'Tokenizer' ? 'Nope' : a)),
      '--json',
    );
    expect(r.code).toBe(3);
    expect((JSON.parse(r.stdout) as { error: { code: string } }).error.code).toBe('ERR_PACK_EXPORT');
  });

  it('exits 3 for a bad key file', async () => {
    writeFileSync(join(dir, 'bad.key'), '{"type":"nope"}');
    const r = await run(
      ...packArgs('e.json', '--version', '1').map((a) => (a === 'author.key' ? 'bad.key' : a)),
      '--json',
    );
    expect(r.code).toBe(3);
    expect((JSON.parse(r.stdout) as { error: { code: string } }).error.code).toBe('ERR_PRIVATE_KEY_INVALID');
  });
});

describe('when diffing two versions', () => {
  beforeAll(async () => {
    await run(...packArgs('old.json', '--version', '1', '--params', 'params.json', '--requires', 'log'));
    await run(
      ...packArgs(
        'new.json',
        '--version',
        '2',
        '--params',
        'params2.json',
        '--requires',
        'log,kv',
        '--artifact',
        'blob.bin=blob.bin',
      ),
    );
  });

  it('reports added capabilities loudly, params and artifacts', async () => {
    const r = await run('diff', 'old.json', 'new.json');
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^!!! PERMISSION ESCALATION: .*kv/);
    expect(r.stdout).toContain('params.lowercase: true -> false');
    expect(r.stdout).toContain('params.stopwords: (absent) -> ["a"]');
    expect(r.stdout).toContain('artifacts: +blob.bin');
    expect(r.stdout).toContain('source: unchanged');
  });

  it('gives the same facts as JSON', async () => {
    const r = await run('diff', 'old.json', 'new.json', '--json');
    const result = JSON.parse(r.stdout) as {
      escalation: boolean;
      requires: { added: string[] };
      artifacts: { added: string[] };
    };
    expect(result.escalation).toBe(true);
    expect(result.requires.added).toEqual(['kv']);
    expect(result.artifacts.added).toEqual(['blob.bin']);
  });

  it('shows a unified source diff', async () => {
    const base = { tenant: 'acme', identifier: 'tok', issuedAt: '2026-01-01T00:00:00Z' };
    const one = pack(`${FIXTURES}tokenizer.js`, { ...base, export: 'Tokenizer', version: 1 }).sign(key);
    const two = pack(`${FIXTURES}layered.js`, { ...base, export: 'Greeter', version: 2 }).sign(key);
    writeFileSync(join(dir, 's1.json'), JSON.stringify(one));
    writeFileSync(join(dir, 's2.json'), JSON.stringify(two));
    const r = await run('diff', 's1.json', 's2.json');
    expect(r.stdout).toContain('@@ -');
    expect(r.stdout).toContain('+class Greeter extends Base');
    expect(r.stdout).toContain('-export class Tokenizer'.replace('export ', ''));
    expect(r.stdout).toContain('the entry class changed');
    expect(r.stdout).not.toContain('PERMISSION ESCALATION');
  });

  it('exits 3 for an envelope that does not decode', async () => {
    writeFileSync(join(dir, 'junk.json'), '{"payloadType":1}');
    expect((await run('diff', 'old.json', 'junk.json')).code).toBe(3);
  });
});

describe('when a packed statement is signed with its sign method', () => {
  it('round-trips through verifyEnvelope', () => {
    const statement = pack(`${FIXTURES}bm25.ts`, {
      export: 'Bm25',
      tenant: 'acme',
      identifier: 'bm25',
      version: 7,
      params: { k1: 1.2, b: 0.75 },
      issuedAt: '2026-01-01T00:00:00Z',
    });
    const envelope = statement.sign(key);
    const verified = verifyEnvelope(envelope, ring, {
      tenant: 'acme',
      now: new Date('2026-06-01T00:00:00Z'),
    });
    expect(verified.statement.source).toBe(statement.source);
    expect(verified.statement.version).toBe(7);
  });
});
