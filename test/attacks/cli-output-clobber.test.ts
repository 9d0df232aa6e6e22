/**
 * Attack (or a costly slip): `-o` pointing at the signing key, at another private key, or at the
 * command's own input, so that `sealbox sign` / `sealbox pack` replace a secret with an envelope.
 * Layer that must stop it: cli (the output path is checked before any work; the key survives).
 */
import { linkSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { CliIO } from '../../src/cli/context.ts';
import { main } from '../../src/cli/main.ts';
import { makeStatement } from '../trust/fixtures.ts';

let dir: string;

async function run(...argv: string[]): Promise<{ code: number; out: string }> {
  let out = '';
  const io: CliIO = { stdout: (t) => void (out += t), stderr: () => undefined, cwd: dir };
  const code = await main([...argv, '--json'], io);
  return { code, out };
}

function errorCode(out: string): string | undefined {
  return (JSON.parse(out) as { error?: { code: string } }).error?.code;
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'sealbox-clobber-'));
  writeFileSync(join(dir, 'statement.json'), JSON.stringify(makeStatement()));
  writeFileSync(
    join(dir, 'thing.js'),
    "import { Component } from 'sealbox';\nexport class Thing extends Component {\n  hi() { return 1; }\n}\n",
  );
  expect((await run('keygen', '--out', 'keys', '--name', 'a')).code).toBe(0);
  expect((await run('keygen', '--out', 'keys', '--name', 'b')).code).toBe(0);
  linkSync(join(dir, 'keys/a.key'), join(dir, 'keys/a-link.key'));
});

afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});

describe('when -o names the signing key (layer: cli)', () => {
  it('sign throws ERR_USAGE and keeps the key', async () => {
    const before = readFileSync(join(dir, 'keys/a.key'), 'utf8');
    const r = await run('sign', 'statement.json', '--key', 'keys/a.key', '-o', './keys/../keys/a.key');
    expect(r.code).toBe(2);
    expect(errorCode(r.out)).toBe('ERR_USAGE');
    expect(readFileSync(join(dir, 'keys/a.key'), 'utf8')).toBe(before);
  });

  it('sign throws ERR_USAGE for a hard link to the signing key', async () => {
    const r = await run('sign', 'statement.json', '--key', 'keys/a.key', '-o', 'keys/a-link.key');
    expect(r.code).toBe(2);
    expect(errorCode(r.out)).toBe('ERR_USAGE');
  });

  it('pack throws ERR_USAGE and keeps the key', async () => {
    const before = readFileSync(join(dir, 'keys/a.key'), 'utf8');
    const r = await run(
      'pack',
      'thing.js',
      '--export',
      'Thing',
      '--tenant',
      'acme',
      '--id',
      'thing',
      '--version',
      '1',
      '--key',
      'keys/a.key',
      '-o',
      'keys/a.key',
    );
    expect(r.code).toBe(2);
    expect(errorCode(r.out)).toBe('ERR_USAGE');
    expect(readFileSync(join(dir, 'keys/a.key'), 'utf8')).toBe(before);
  });
});

describe('when -o names another private key or the input (layer: cli)', () => {
  it('sign throws ERR_USAGE for another private key file', async () => {
    const before = readFileSync(join(dir, 'keys/b.key'), 'utf8');
    const r = await run('sign', 'statement.json', '--key', 'keys/a.key', '-o', 'keys/b.key');
    expect(r.code).toBe(2);
    expect(errorCode(r.out)).toBe('ERR_USAGE');
    expect(readFileSync(join(dir, 'keys/b.key'), 'utf8')).toBe(before);
  });

  it('sign throws ERR_USAGE for the statement itself', async () => {
    const r = await run('sign', 'statement.json', '--key', 'keys/a.key', '-o', 'statement.json');
    expect(r.code).toBe(2);
    expect(errorCode(r.out)).toBe('ERR_USAGE');
  });

  it('still writes a fresh output file (exit 0)', async () => {
    const r = await run('sign', 'statement.json', '--key', 'keys/a.key', '-o', 'out/envelope.json');
    expect(r.code).toBe(0);
    expect(readFileSync(join(dir, 'out/envelope.json'), 'utf8')).toContain('payloadType');
    // ...and may replace an earlier envelope.
    expect((await run('sign', 'statement.json', '--key', 'keys/a.key', '-o', 'out/envelope.json')).code).toBe(
      0,
    );
  });
});
