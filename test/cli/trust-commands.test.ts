import { mkdtempSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { CliIO } from '../../src/cli/context.ts';
import { main } from '../../src/cli/main.ts';
import { canonicalize } from '../../src/envelope/canonical-json.ts';
import { makeStatement } from '../trust/fixtures.ts';

async function run(cwd: string, ...argv: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const io: CliIO = { stdout: (t) => void (out += t), stderr: (t) => void (err += t), cwd };
  const code = await main(argv, io);
  return { code, out, err };
}

async function json(
  cwd: string,
  ...argv: string[]
): Promise<{ code: number; body: Record<string, unknown> }> {
  const r = await run(cwd, ...argv, '--json');
  return { code: r.code, body: JSON.parse(r.out) as Record<string, unknown> };
}

function setup(): string {
  const dir = mkdtempSync(join(tmpdir(), 'sealbox-cli-'));
  writeFileSync(join(dir, 'statement.json'), JSON.stringify(makeStatement(), null, 2));
  return dir;
}

describe('when running keygen', () => {
  it('writes NAME.key with mode 0600 and never prints the seed', async () => {
    const dir = setup();
    const r = await json(dir, 'keygen', '--out', 'keys', '--name', 'ci');
    expect(r.code).toBe(0);
    expect(statSync(join(dir, 'keys/ci.key')).mode & 0o777).toBe(0o600);
    const seed = (JSON.parse(readFileSync(join(dir, 'keys/ci.key'), 'utf8')) as { privateKey: string })
      .privateKey;
    expect(JSON.stringify(r.body)).not.toContain(seed);
    const pub = JSON.parse(readFileSync(join(dir, 'keys/ci.pub.json'), 'utf8')) as { keyid: string };
    expect(pub.keyid).toBe(r.body['keyid']);
  });

  it('exits 2 instead of overwriting an existing key, or for a path-like name', async () => {
    const dir = setup();
    expect((await run(dir, 'keygen', '--out', 'keys')).code).toBe(0);
    const before = readFileSync(join(dir, 'keys/sealbox.key'), 'utf8');
    const again = await json(dir, 'keygen', '--out', 'keys');
    expect(again.code).toBe(2);
    expect((again.body['error'] as { code: string }).code).toBe('ERR_IO');
    expect(readFileSync(join(dir, 'keys/sealbox.key'), 'utf8')).toBe(before);
    expect((await run(dir, 'keygen', '--out', 'keys', '--name', '../evil')).code).toBe(2);
  });
});

describe('when signing, adding to a keyring and verifying', () => {
  it('round-trips, and exits 4 once the key is revoked', async () => {
    const dir = setup();
    await run(dir, 'keygen', '--out', 'keys');
    const add = await json(
      dir,
      'keyring',
      'add',
      '--keyring',
      'ring.json',
      '--key',
      'keys/sealbox.pub.json',
      '--tenant',
      'acme',
      '--identifier',
      'tok*',
    );
    expect(add.code).toBe(0);
    expect(add.body['version']).toBe(1);
    expect(
      (await run(dir, 'sign', 'statement.json', '--key', 'keys/sealbox.key', '-o', 'env.json')).code,
    ).toBe(0);
    const ok = await json(dir, 'verify', 'env.json', '--keyring', 'ring.json', '--tenant', 'acme');
    expect(ok.code).toBe(0);
    expect(ok.body).toMatchObject({
      verified: true,
      tenant: 'acme',
      identifier: 'tokenizer',
      version: 3,
      signers: [add.body['keyid']],
    });
    expect((await run(dir, 'verify', 'env.json', '--keyring', 'ring.json')).out).toContain(
      'verified acme/tokenizer version 3',
    );

    const wrongTenant = await json(dir, 'verify', 'env.json', '--keyring', 'ring.json', '--tenant', 'globex');
    expect(wrongTenant.code).toBe(4);
    expect((wrongTenant.body['error'] as { code: string }).code).toBe('ERR_TENANT_MISMATCH');

    const revoke = await json(
      dir,
      'keyring',
      'revoke',
      '--keyring',
      'ring.json',
      '--keyid',
      String(add.body['keyid']),
    );
    expect(revoke.code).toBe(0);
    const refused = await json(dir, 'verify', 'env.json', '--keyring', 'ring.json');
    expect(refused.code).toBe(4);
    expect((refused.body['error'] as { code: string }).code).toBe('ERR_KEY_REVOKED');
  });

  it('exits 4 for a tampered envelope and 3 for a malformed one', async () => {
    const dir = setup();
    await run(dir, 'keygen', '--out', 'k');
    await run(
      dir,
      'keyring',
      'add',
      '--keyring',
      'ring.json',
      '--key',
      'k/sealbox.pub.json',
      '--tenant',
      'acme',
    );
    const signed = await run(dir, 'sign', 'statement.json', '--key', 'k/sealbox.key');
    const env = JSON.parse(signed.out) as { payload: string; signatures: { sig: string }[] };
    const sig = env.signatures[0]!.sig;
    env.signatures[0]!.sig = (sig[0] === 'A' ? 'B' : 'A') + sig.slice(1);
    writeFileSync(join(dir, 'bad.json'), JSON.stringify(env));
    expect((await json(dir, 'verify', 'bad.json', '--keyring', 'ring.json')).body['error']).toMatchObject({
      code: 'ERR_SIGNATURE_INVALID',
    });
    writeFileSync(join(dir, 'junk.json'), '{"payloadType":');
    expect((await run(dir, 'verify', 'junk.json', '--keyring', 'ring.json')).code).toBe(3);
  });

  it('refuses rollback with --state across runs', async () => {
    const dir = setup();
    await run(dir, 'keygen', '--out', 'k');
    await run(
      dir,
      'keyring',
      'add',
      '--keyring',
      'ring.json',
      '--key',
      'k/sealbox.pub.json',
      '--tenant',
      'acme',
    );
    writeFileSync(join(dir, 'v2.json'), canonicalize(makeStatement({ version: 2 })));
    await run(dir, 'sign', 'statement.json', '--key', 'k/sealbox.key', '-o', 'v3.env');
    await run(dir, 'sign', 'v2.json', '--key', 'k/sealbox.key', '-o', 'v2.env');
    expect((await run(dir, 'verify', 'v3.env', '--keyring', 'ring.json', '--state', 'state.db')).code).toBe(
      0,
    );
    const old = await json(dir, 'verify', 'v2.env', '--keyring', 'ring.json', '--state', 'state.db');
    expect(old.code).toBe(4);
    expect((old.body['error'] as { code: string }).code).toBe('ERR_ROLLBACK');
  });

  it('exits 3 for an invalid statement and 2 without --key', async () => {
    const dir = setup();
    await run(dir, 'keygen', '--out', 'k');
    writeFileSync(join(dir, 'bad.json'), JSON.stringify({ ...makeStatement(), extra: 1 }));
    const r = await json(dir, 'sign', 'bad.json', '--key', 'k/sealbox.key');
    expect(r.code).toBe(3);
    expect((r.body['error'] as { code: string }).code).toBe('ERR_STATEMENT_INVALID');
    expect((await run(dir, 'sign', 'statement.json')).code).toBe(2);
  });

  it('exits 3 when adding a small-order key to a keyring', async () => {
    const dir = setup();
    const pk = Buffer.from('0100000000000000000000000000000000000000000000000000000000000000', 'hex');
    const { createHash } = await import('node:crypto');
    writeFileSync(
      join(dir, 'weak.pub.json'),
      JSON.stringify({
        keyid: createHash('sha256').update(pk).digest('hex'),
        publicKey: pk.toString('base64'),
      }),
    );
    const r = await json(
      dir,
      'keyring',
      'add',
      '--keyring',
      'ring.json',
      '--key',
      'weak.pub.json',
      '--tenant',
      'acme',
    );
    expect(r.code).toBe(3);
    expect((r.body['error'] as { code: string }).code).toBe('ERR_KEY_WEAK');
  });
});

describe('when inspecting an envelope', () => {
  it('shows the claims marked unverified, without a keyring', async () => {
    const dir = setup();
    await run(dir, 'keygen', '--out', 'k');
    await run(dir, 'sign', 'statement.json', '--key', 'k/sealbox.key', '-o', 'env.json');
    const r = await json(dir, 'inspect', 'env.json');
    expect(r.code).toBe(0);
    expect(r.body['verified']).toBe(false);
    expect(r.body['statement']).toMatchObject({
      tenant: 'acme',
      identifier: 'tokenizer',
      version: 3,
      requires: ['log'],
    });
    expect((await run(dir, 'inspect', 'env.json')).out).toMatch(/^UNVERIFIED/);
  });

  it('exits 3 for garbage', async () => {
    const dir = setup();
    writeFileSync(join(dir, 'junk'), Buffer.from([0xff, 0x00, 0x7b]));
    expect((await run(dir, 'inspect', 'junk')).code).toBe(3);
  });
});
