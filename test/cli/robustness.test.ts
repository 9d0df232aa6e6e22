/**
 * The CLI as pipelines and hostile inputs hit it: every bad flag, count or file is a typed refusal
 * with its exit code (never 1, never a stack trace), and `--json` prints exactly one JSON object.
 */
import { spawnSync } from 'node:child_process';
import {
  closeSync,
  existsSync,
  lstatSync,
  mkdirSync,
  openSync,
  readFileSync,
  readSync,
  readlinkSync,
  symlinkSync,
  truncateSync,
  writeFileSync,
  constants,
} from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';
import { COMMANDS } from '../../src/cli/registry.ts';
import { CHUNKER, cli, tempDir, type CliRun } from '../e2e/helpers.ts';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const POLICY = join(ROOT, 'policies/default.yaml');
const NODE = join(ROOT, 'node_modules/.bin/node');
const SRC_MAIN = join(ROOT, 'src/cli/main.ts');

let dir: string;
let envelope: string;
let statement: string;

/** Exactly one JSON object on stdout; returns it. */
function oneJson(run: CliRun): Record<string, unknown> {
  const value = JSON.parse(run.stdout) as unknown;
  expect(typeof value === 'object' && value !== null && !Array.isArray(value)).toBe(true);
  return value as Record<string, unknown>;
}

/** A refusal under --json: the exit code, one `{ error }` object, nothing on stderr, no stack. */
function expectJsonError(run: CliRun, exit: number, code?: string): void {
  expect(run.code, run.stdout).toBe(exit);
  const error = oneJson(run)['error'] as Record<string, unknown>;
  expect(typeof error['message']).toBe('string');
  if (code !== undefined) expect(error['code']).toBe(code);
  expect(run.stdout + run.stderr).not.toMatch(/\n\s+at /);
}

beforeAll(async () => {
  dir = tempDir('sealbox-cli-robust-');
  expect((await cli(['keygen', '--out', 'k', '--name', 'a'], dir)).code).toBe(0);
  const ring = ['keyring', 'add', '--keyring', 'ring.json', '--key', 'k/a.pub.json', '--tenant', 'acme'];
  expect((await cli(ring, dir)).code).toBe(0);
  const pack = ['pack', CHUNKER, '--export', 'TextChunker', '--tenant', 'acme', '--id', 'chunker'];
  expect((await cli([...pack, '--version', '1', '--key', 'k/a.key', '-o', 'env.json'], dir)).code).toBe(0);
  envelope = join(dir, 'env.json');
  const env = JSON.parse(readFileSync(envelope, 'utf8')) as { payload: string };
  statement = join(dir, 'stmt.json');
  writeFileSync(statement, Buffer.from(env.payload, 'base64'));
  mkdirSync(join(dir, 'adir'));
  writeFileSync(join(dir, 'empty'), '');
  writeFileSync(join(dir, 'garbage'), Buffer.from(Array.from({ length: 4096 }, (_, i) => (i * 7919) % 256)));
  writeFileSync(join(dir, 'big'), '');
  truncateSync(join(dir, 'big'), 100_000_000); // sparse: 100 MB without writing them
  symlinkSync('loop2', join(dir, 'loop1'));
  symlinkSync('loop1', join(dir, 'loop2'));
});

describe('when asked for help or nothing', () => {
  it('prints the overview and exits 2 with no arguments, 0 with --help', async () => {
    const none = await cli([], dir);
    expect(none.code).toBe(2);
    expect(none.stdout).toContain('Usage: sealbox');
    expect((await cli(['--help'], dir)).code).toBe(0);
    const version = await cli(['--version'], dir);
    expect(version.code).toBe(0);
    expect(version.stdout).toMatch(/^\d+\.\d+\.\d+/);
  });

  it.each(COMMANDS.map((c) => [c.name]))('prints usage and exits 0 for %s --help', async (name) => {
    const run = await cli([...name.split(' '), '--help'], dir);
    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(/^Usage: sealbox /);
  });

  it.each(COMMANDS.map((c) => [c.name]))('throws ERR_USAGE for an unknown flag on %s', async (name) => {
    expectJsonError(await cli([...name.split(' '), '--bogus', '--json'], dir), 2, 'ERR_USAGE');
  });
});

describe('when a single-value flag is given twice', () => {
  it.each([
    ['keygen', '--out', 'x', '--out', 'y'],
    [
      'keyring',
      'add',
      '--keyring',
      'r1.json',
      '--keyring',
      'r2.json',
      '--key',
      'k/a.pub.json',
      '--tenant',
      'acme',
    ],
    ['verify', 'env.json', '--keyring', 'ring.json', '--keyring', 'other.json'],
    [
      'pack',
      CHUNKER,
      '--export',
      'TextChunker',
      '--tenant',
      'acme',
      '--id',
      'c',
      '--version',
      '1',
      '--version',
      '2',
      '--key',
      'k/a.key',
    ],
    ['sign', 'stmt.json', '--key', 'k/a.key', '-o', 'x.json', '--out', 'y.json'],
    ['check', 'env.json', '--policy', POLICY, '--policy', 'adir'],
    [
      'run',
      'env.json',
      '--keyring',
      'ring.json',
      '--policy',
      POLICY,
      '--tenant',
      'acme',
      '--call',
      'a',
      '--call',
      'b',
    ],
  ])('throws ERR_USAGE and writes nothing (%s)', async (...argv) => {
    expectJsonError(await cli([...argv, '--json'], dir), 2, 'ERR_USAGE');
    for (const f of ['x', 'y', 'r1.json', 'r2.json', 'x.json', 'y.json'])
      expect(existsSync(join(dir, f))).toBe(false);
  });

  it('still accepts repeatable flags (--tenant, --key) more than once', async () => {
    const add = ['keyring', 'add', '--keyring', 'two.json', '--key', 'k/a.pub.json'];
    expect((await cli([...add, '--tenant', 'acme', '--tenant', 'globex'], dir)).code).toBe(0);
  });
});

describe('when a flag value is empty or not what the flag takes', () => {
  it.each([
    [
      'pack',
      CHUNKER,
      '--export',
      'TextChunker',
      '--tenant',
      'acme',
      '--id',
      'c',
      '--version',
      '1',
      '--key',
      'k/a.key',
      '-o',
      '',
    ],
    [
      'keyring',
      'add',
      '--keyring',
      'ring.json',
      '--key',
      'k/a.pub.json',
      '--tenant',
      'acme',
      '--comment',
      '',
    ],
    ['verify', 'env.json', '--keyring', 'ring.json', '--tenant', ''],
    [
      'run',
      'env.json',
      '--keyring',
      'ring.json',
      '--policy',
      POLICY,
      '--tenant',
      'acme',
      '--call',
      'chunk',
      '--args',
      '',
    ],
  ])('throws ERR_USAGE for an empty value (%s)', async (...argv) => {
    expectJsonError(await cli([...argv, '--json'], dir), 2, 'ERR_USAGE');
  });

  it.each(['abc', '0', '1.5', '9007199254740993', '01', '1e3', ' 1'])(
    'throws ERR_USAGE for pack --version %j',
    async (version) => {
      const argv = ['pack', CHUNKER, '--export', 'TextChunker', '--tenant', 'acme', '--id', 'c'];
      expectJsonError(
        await cli([...argv, '--version', version, '--key', 'k/a.key', '--json'], dir),
        2,
        'ERR_USAGE',
      );
    },
  );

  it.each([
    [
      'pack',
      CHUNKER,
      '--export',
      'TextChunker',
      '--id',
      'c',
      '--version',
      '1',
      '--key',
      'k/a.key',
      '--tenant',
    ],
    ['keyring', 'add', '--keyring', 'new.json', '--key', 'k/a.pub.json', '--tenant'],
    ['verify', 'env.json', '--keyring', 'ring.json', '--tenant'],
    ['check', 'env.json', '--policy', POLICY, '--tenant'],
    ['run', 'env.json', '--keyring', 'ring.json', '--policy', POLICY, '--call', 'chunk', '--tenant'],
  ])('throws ERR_USAGE naming --tenant for a traversal or upper-case tenant (%s)', async (...argv) => {
    for (const tenant of ['../x', 'ACME']) {
      const run = await cli([...argv, tenant, '--json'], dir);
      expectJsonError(run, 2, 'ERR_USAGE');
      expect(run.stdout).toContain('--tenant');
    }
    expect(existsSync(join(dir, 'new.json'))).toBe(false);
  });

  it.each(['{}', 'nope', '"x"', '[1'])('throws ERR_USAGE for run --args %j', async (args) => {
    const argv = ['run', 'env.json', '--keyring', 'ring.json', '--policy', POLICY, '--tenant', 'acme'];
    expectJsonError(await cli([...argv, '--call', 'chunk', '--args', args, '--json'], dir), 2, 'ERR_USAGE');
  });

  it.each([
    ['keygen', 'extra', '--out', 'z'],
    ['inspect'],
    ['inspect', 'env.json', 'env.json'],
    ['diff', 'env.json'],
    ['policy', 'validate'],
    ['policy', 'suggest', 'a', 'b'],
    ['demo', 'now'],
  ])('throws ERR_USAGE for a wrong positional count (%s)', async (...argv) => {
    expectJsonError(await cli([...argv, '--json'], dir), 2, 'ERR_USAGE');
  });
});

/** Every command that reads FILE as its main input, and the exit codes allowed for junk there. */
const READERS: readonly (readonly [string, (file: string) => string[]])[] = [
  ['verify', (f) => ['verify', f, '--keyring', 'ring.json']],
  ['verify --keyring', (f) => ['verify', 'env.json', '--keyring', f]],
  ['inspect', (f) => ['inspect', f]],
  ['diff', (f) => ['diff', 'env.json', f]],
  ['check', (f) => ['check', f, '--policy', POLICY]],
  ['check --policy', (f) => ['check', 'env.json', '--policy', f]],
  ['sign', (f) => ['sign', f, '--key', 'k/a.key']],
  ['sign --key', (f) => ['sign', 'stmt.json', '--key', f]],
  [
    'pack --key',
    (f) => [
      'pack',
      CHUNKER,
      '--export',
      'TextChunker',
      '--tenant',
      'acme',
      '--id',
      'c',
      '--version',
      '1',
      '--key',
      f,
    ],
  ],
  [
    'pack --params',
    (f) => [
      'pack',
      CHUNKER,
      '--export',
      'TextChunker',
      '--tenant',
      'acme',
      '--id',
      'c',
      '--version',
      '1',
      '--key',
      'k/a.key',
      '--params',
      f,
    ],
  ],
  [
    'keyring add --key',
    (f) => ['keyring', 'add', '--keyring', 'x-ring.json', '--key', f, '--tenant', 'acme'],
  ],
  ['keyring revoke', (f) => ['keyring', 'revoke', '--keyring', f, '--keyid', 'ab']],
  ['policy validate', (f) => ['policy', 'validate', f]],
  ['policy suggest', (f) => ['policy', 'suggest', f]],
];

describe.each(READERS)('when %s reads a file that is not what it expects', (_name, argv) => {
  it.each(['missing', 'adir', 'empty', 'garbage', 'big', 'loop1', '/dev/zero'])(
    'exits 0, 2, 3 or 5 with one JSON object for %s',
    async (file) => {
      const run = await cli([...argv(file), '--json'], dir);
      expect([0, 2, 3, 5]).toContain(run.code);
      // check and suggest read any text as a source: empty is ok, garbage breaks the syntax rule.
      if (run.code === 0 || (run.code === 5 && !('error' in oneJson(run)))) {
        expect(['check', 'policy suggest']).toContain(_name);
        oneJson(run);
      } else {
        expectJsonError(run, run.code);
      }
    },
  );
});

describe('when a policy path is a device', () => {
  it('check and policy validate throw ERR_IO instead of reading /dev/zero forever', async () => {
    expectJsonError(await cli(['check', 'env.json', '--policy', '/dev/zero', '--json'], dir), 2, 'ERR_IO');
    expectJsonError(await cli(['policy', 'validate', '/dev/zero', '--json'], dir), 2, 'ERR_IO');
  });
});

describe('when the output path is unusual', () => {
  const sign = (out: string) => cli(['sign', 'stmt.json', '--key', 'k/a.key', '-o', out], dir);

  it('writes the envelope to stdout for -o - and creates no file named "-"', async () => {
    const run = await sign('-');
    expect(run.code).toBe(0);
    expect(JSON.parse(run.stdout)).toHaveProperty('payloadType');
    const packed = await cli(
      [
        'pack',
        CHUNKER,
        '--export',
        'TextChunker',
        '--tenant',
        'acme',
        '--id',
        'c',
        '--version',
        '1',
        '--key',
        'k/a.key',
        '-o',
        '-',
      ],
      dir,
    );
    expect(packed.code).toBe(0);
    expect(JSON.parse(packed.stdout)).toHaveProperty('signatures');
    expect(existsSync(join(dir, '-'))).toBe(false);
  });

  it('creates missing folders for -o', async () => {
    expect((await sign('new/sub/out.json')).code).toBe(0);
    expect(JSON.parse(readFileSync(join(dir, 'new/sub/out.json'), 'utf8'))).toHaveProperty('payload');
  });

  it('throws ERR_IO for -o naming a folder', async () => {
    expectJsonError(
      await cli(['sign', 'stmt.json', '--key', 'k/a.key', '-o', 'adir', '--json'], dir),
      2,
      'ERR_IO',
    );
  });

  it('writes through a symlink and keeps the link', async () => {
    writeFileSync(join(dir, 'real.json'), 'old');
    symlinkSync('real.json', join(dir, 'link.json'));
    expect((await sign('link.json')).code).toBe(0);
    expect(lstatSync(join(dir, 'link.json')).isSymbolicLink()).toBe(true);
    expect(readlinkSync(join(dir, 'link.json'))).toBe('real.json');
    expect(JSON.parse(readFileSync(join(dir, 'real.json'), 'utf8'))).toHaveProperty('payload');
  });

  it('writes into a FIFO instead of replacing it with a file (as -o /dev/null would be, as root)', async () => {
    const fifo = join(dir, 'fifo');
    expect(spawnSync('mkfifo', [fifo]).status).toBe(0);
    // A non-blocking reader, so the CLI's open for writing does not wait.
    const reader = openSync(fifo, constants.O_RDONLY | constants.O_NONBLOCK);
    try {
      expect((await sign(fifo)).code).toBe(0);
      expect(lstatSync(fifo).isFIFO()).toBe(true);
      const buffer = Buffer.alloc(64 * 1024);
      const n = readSync(reader, buffer, 0, buffer.length, null);
      expect(JSON.parse(buffer.subarray(0, n).toString('utf8'))).toHaveProperty('payload');
    } finally {
      closeSync(reader);
    }
  });

  it('keyring add throws ERR_IO for a keyring that is a symlink loop, and keeps the loop', async () => {
    const run = await cli(
      ['keyring', 'add', '--keyring', 'loop1', '--key', 'k/a.pub.json', '--tenant', 'acme', '--json'],
      dir,
    );
    expectJsonError(run, 2, 'ERR_IO');
    expect(lstatSync(join(dir, 'loop1')).isSymbolicLink()).toBe(true);
  });

  it('verify --state creates the folder of the state file', async () => {
    const run = await cli(
      ['verify', 'env.json', '--keyring', 'ring.json', '--state', 'st/a/rollback.sqlite', '--json'],
      dir,
    );
    expect(run.code).toBe(0);
    expect(oneJson(run)['verified']).toBe(true);
  });

  it('keygen refuses to overwrite an existing key (exit 2, ERR_IO)', async () => {
    const before = readFileSync(join(dir, 'k/a.key'), 'utf8');
    expectJsonError(await cli(['keygen', '--out', 'k', '--name', 'a', '--json'], dir), 2, 'ERR_IO');
    expect(readFileSync(join(dir, 'k/a.key'), 'utf8')).toBe(before);
  });
});

describe('when run prints with --json', () => {
  it('puts one JSON object on stdout and the decision lines on stderr', async () => {
    const argv = ['run', 'env.json', '--keyring', 'ring.json', '--policy', POLICY, '--tenant', 'acme'];
    const run = await cli(
      [...argv, '--call', 'chunk', '--args', '["One. Two."]', '--state', 'st', '--json'],
      dir,
    );
    expect(run.code).toBe(0);
    expect(oneJson(run)).toHaveProperty('result');
    const lines = run.stderr
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { type: string });
    expect(lines.some((l) => l.type === 'decision')).toBe(true);
  });
});

describe('when the CLI runs as a process', () => {
  const shell = (pipeline: string) =>
    spawnSync('sh', ['-c', pipeline], { cwd: dir, encoding: 'utf8', timeout: 30_000 });
  const sealbox = `"${NODE}" --disable-warning=ExperimentalWarning "${SRC_MAIN}"`;

  it('reads an envelope from /dev/stdin (a shell pipe)', () => {
    const run = shell(`cat env.json | ${sealbox} verify /dev/stdin --keyring ring.json --json`);
    expect(run.status, run.stderr).toBe(0);
    expect(JSON.parse(run.stdout)).toHaveProperty('verified', true);
  });

  it('exits quietly, without a stack trace, when the reader has closed the pipe (EPIPE)', () => {
    const run = shell(`${sealbox} sign stmt.json --key k/a.key | true`);
    expect(run.stderr).toBe('');
  });
});

describe('when the demo runs with --json', () => {
  it('prints one JSON object with the transcript and nothing else on stdout', async () => {
    const run = await cli(['demo', '--json'], dir);
    expect(run.code).toBe(0);
    const report = oneJson(run);
    expect(report['ok']).toBe(true);
    expect((report['transcript'] as string[]).join('\n')).toContain('loaded as acme');
  }, 60_000);
});
