/**
 * The whole mission through the `sealbox` CLI, in-process: keygen, keyring add, pack, verify,
 * inspect, check, run; each refusal path with its exit code (3, 4, 5, 6).
 */
import { readFileSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CHUNKER, DEDUP, cli, tempDir } from './helpers.ts';

const POLICY = new URL('../../policies/default.yaml', import.meta.url).pathname;
let dir: string;

function runArgs(envelope: string, method: string, args: unknown[], extra: string[] = []): string[] {
  return [
    'run',
    envelope,
    '--keyring',
    'keyring.json',
    '--policy',
    POLICY,
    '--tenant',
    'acme',
    '--call',
    method,
    '--args',
    JSON.stringify(args),
    '--state',
    'state',
    ...extra,
  ];
}

beforeAll(async () => {
  dir = tempDir('sealbox-cli-');
  expect((await cli(['keygen', '--out', '.', '--name', 'author'], dir)).code).toBe(0);
  expect(
    (
      await cli(
        ['keyring', 'add', '--keyring', 'keyring.json', '--key', 'author.pub.json', '--tenant', 'acme'],
        dir,
      )
    ).code,
  ).toBe(0);
  const packed = await cli(
    [
      'pack',
      CHUNKER,
      '--export',
      'TextChunker',
      '--tenant',
      'acme',
      '--id',
      'chunker',
      '--version',
      '1',
      '--key',
      'author.key',
      '-o',
      'chunker.json',
    ],
    dir,
  );
  expect(packed.stderr).toBe('');
  expect(packed.code).toBe(0);
});

afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('when everything is in order', () => {
  it('writes the private key with mode 0600 and never prints it', async () => {
    expect(statSync(join(dir, 'author.key')).mode & 0o777).toBe(0o600);
    const key = JSON.parse(readFileSync(join(dir, 'author.key'), 'utf8')) as { privateKey: string };
    const again = await cli(['keygen', '--out', 'other', '--name', 'k2', '--json'], dir);
    expect(again.code).toBe(0);
    const k2 = JSON.parse(readFileSync(join(dir, 'other', 'k2.key'), 'utf8')) as { privateKey: string };
    expect(again.stdout).not.toContain(k2.privateKey);
    expect(again.stdout).not.toContain(key.privateKey);
  });

  it('verifies, inspects and checks the envelope', async () => {
    const verified = await cli(['verify', 'chunker.json', '--keyring', 'keyring.json', '--json'], dir);
    expect(verified.code).toBe(0);
    expect(JSON.parse(verified.stdout)).toMatchObject({ tenant: 'acme', identifier: 'chunker', version: 1 });
    expect((await cli(['inspect', 'chunker.json'], dir)).code).toBe(0);
    expect((await cli(['check', 'chunker.json', '--policy', POLICY, '--tenant', 'acme'], dir)).code).toBe(0);
  });

  it('runs a method and prints its JSON result', async () => {
    const result = await cli(runArgs('chunker.json', 'stats', ['a b c']), dir);
    expect(result.stderr).toContain('"type":"decision"');
    expect(result.code).toBe(0);
    expect(JSON.parse(result.stdout)).toEqual({ chars: 5, words: 3, chunks: 1 });
  });

  it('keeps kv state under --state across runs', async () => {
    const packed = await cli(
      [
        'pack',
        DEDUP,
        '--export',
        'DedupFilter',
        '--tenant',
        'acme',
        '--id',
        'dedup',
        '--version',
        '1',
        '--requires',
        'kv,log',
        '--key',
        'author.key',
        '-o',
        'dedup.json',
      ],
      dir,
    );
    expect(packed.code).toBe(0);
    const first = await cli(runArgs('dedup.json', 'filter', [['x', 'y']], ['--json']), dir);
    expect(first.code).toBe(0);
    expect(JSON.parse(first.stdout)).toEqual({ result: ['x', 'y'] });
    const second = await cli(runArgs('dedup.json', 'filter', [['x', 'z']], ['--json']), dir);
    expect(JSON.parse(second.stdout)).toEqual({ result: ['z'] });
  });
});

describe('when something is refused', () => {
  it('exits 2 on a bad flag', async () => {
    expect((await cli(['verify', 'chunker.json', '--no-such-flag'], dir)).code).toBe(2);
    expect((await cli(['no-such-command'], dir)).code).toBe(2);
  });

  it('exits 3 on a malformed envelope, with a JSON error under --json', async () => {
    const { writeFileSync } = await import('node:fs');
    writeFileSync(join(dir, 'garbage.json'), '{"payloadType": 1}');
    const result = await cli(['verify', 'garbage.json', '--keyring', 'keyring.json', '--json'], dir);
    expect(result.code).toBe(3);
    expect(JSON.parse(result.stdout).error.code).toBe('ERR_ENVELOPE_MALFORMED');
  });

  it('exits 4 when the signer is not trusted', async () => {
    await cli(['keygen', '--out', 'stranger', '--name', 's'], dir);
    const packed = await cli(
      [
        'pack',
        CHUNKER,
        '--export',
        'TextChunker',
        '--tenant',
        'acme',
        '--id',
        'chunker2',
        '--version',
        '1',
        '--key',
        'stranger/s.key',
        '-o',
        'stranger.json',
      ],
      dir,
    );
    expect(packed.code).toBe(0);
    const result = await cli(['verify', 'stranger.json', '--keyring', 'keyring.json', '--json'], dir);
    expect(result.code).toBe(4);
    expect(JSON.parse(result.stdout).error.code).toBe('ERR_KEY_UNKNOWN');
  });

  it('exits 5 when the source breaks policy, printing rule and position', async () => {
    const { writeFileSync } = await import('node:fs');
    writeFileSync(
      join(dir, 'bad.js'),
      "import { Component } from 'sealbox';\nexport class Bad extends Component {\n  go() { return [].constructor.constructor('return 1')(); }\n}\n",
    );
    const packed = await cli(
      [
        'pack',
        'bad.js',
        '--export',
        'Bad',
        '--tenant',
        'acme',
        '--id',
        'bad',
        '--version',
        '1',
        '--key',
        'author.key',
        '-o',
        'bad.json',
      ],
      dir,
    );
    expect(packed.code).toBe(0);
    const checked = await cli(['check', 'bad.json', '--policy', POLICY, '--tenant', 'acme'], dir);
    expect(checked.code).toBe(5);
    expect(checked.stdout + checked.stderr).toMatch(/bad.json:\d+:\d+ names.forbidden /);
    const ran = await cli(runArgs('bad.json', 'go', []), dir);
    expect(ran.code).toBe(5);
  });

  it('exits 6 when the sandbox stops the call', async () => {
    const { writeFileSync } = await import('node:fs');
    writeFileSync(
      join(dir, 'loop.js'),
      "import { Component } from 'sealbox';\nexport class Loop extends Component {\n  spin() { while (true) {} }\n}\n",
    );
    const packed = await cli(
      [
        'pack',
        'loop.js',
        '--export',
        'Loop',
        '--tenant',
        'acme',
        '--id',
        'loop',
        '--version',
        '1',
        '--key',
        'author.key',
        '-o',
        'loop.json',
      ],
      dir,
    );
    expect(packed.code).toBe(0);
    const ran = await cli(runArgs('loop.json', 'spin', [], ['--json']), dir);
    expect(ran.code).toBe(6);
    expect(JSON.parse(ran.stdout).error.code).toBe('ERR_TIMEOUT');
  });
});
