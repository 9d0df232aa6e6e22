/** The shared bounded reader (src/io/read-file.ts) every whole-file read goes through. */
import { spawn, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { UsageError } from '../../src/errors.ts';
import { readFileBounded, readRefusalOf } from '../../src/io/read-file.ts';

const dir = mkdtempSync(join(tmpdir(), 'sealbox-read-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function refusal(run: () => unknown): ReturnType<typeof readRefusalOf> {
  try {
    run();
  } catch (error) {
    expect(error).toBeInstanceOf(UsageError);
    expect((error as UsageError).code).toBe('ERR_IO');
    return readRefusalOf(error);
  }
  throw new Error('expected a refusal');
}

describe('when the file is a regular file', () => {
  it('returns its bytes, up to and including the limit', () => {
    const path = join(dir, 'ok.txt');
    writeFileSync(path, 'hello');
    expect(new TextDecoder().decode(readFileBounded(path, 5))).toBe('hello');
    expect(readFileBounded(join(dir, 'ok.txt'), 1 << 20).length).toBe(5);
  });

  it('returns an empty array for an empty file', () => {
    const path = join(dir, 'empty.txt');
    writeFileSync(path, '');
    expect(readFileBounded(path, 0).length).toBe(0);
  });

  it('throws ERR_IO too-large, with the size, one byte past the limit', () => {
    const path = join(dir, 'six.txt');
    writeFileSync(path, 'sixsix');
    expect(refusal(() => readFileBounded(path, 5))).toMatchObject({ reason: 'too-large', size: 6, limit: 5 });
  });
});

describe('when the path is not a regular file', () => {
  it('throws ERR_IO open with the errno for a missing file', () => {
    expect(refusal(() => readFileBounded(join(dir, 'missing'), 10))).toMatchObject({
      reason: 'open',
      errno: 'ENOENT',
    });
  });

  it('throws ERR_IO not-regular for a directory', () => {
    mkdirSync(join(dir, 'sub'));
    expect(refusal(() => readFileBounded(join(dir, 'sub'), 10))).toMatchObject({
      reason: 'not-regular',
      errno: 'EISDIR',
    });
  });

  it('throws ERR_IO not-regular for a device instead of reading /dev/zero without end', () => {
    expect(refusal(() => readFileBounded('/dev/zero', 10))).toMatchObject({ reason: 'not-regular' });
  });

  // A FIFO is covered in test/attacks/trust-keyring-fifo.test.ts, in a child process: a
  // regression blocks in open(2), where no test timeout could fire.
});

describe('when a one-shot CLI reads a pipe (pipes: read)', () => {
  it('reads what the writer wrote, and still refuses more than the limit', () => {
    const path = join(dir, 'cli-pipe');
    expect(spawnSync('mkfifo', [path]).status).toBe(0);
    // The writer is another process, so the blocking open here meets it.
    spawn('sh', ['-c', `printf hello > '${path}'`], { stdio: 'ignore' });
    expect(new TextDecoder().decode(readFileBounded(path, 10, path, { pipes: 'read' }))).toBe('hello');
    spawn('sh', ['-c', `printf 'hello world' > '${path}'`], { stdio: 'ignore' });
    expect(refusal(() => readFileBounded(path, 5, path, { pipes: 'read' }))).toMatchObject({
      reason: 'too-large',
    });
  });

  it('never loses a fast writer: 40 reads in a row each get the text (child process, bounded)', () => {
    // Regression: the reader opened non-blocking, then closed and re-opened blocking. A writer
    // that wrote and closed in between took its data with it, and the re-open waited forever
    // for a writer (it hung this suite once, under load). The race needs the writer to finish
    // inside a few microseconds, so this catches a regression only now and then; what it
    // guarantees is that one can never hang the suite: it runs in a child, because a regression
    // blocks in open(2), where no test timeout could fire.
    const path = join(dir, 'race-pipe');
    expect(spawnSync('mkfifo', [path]).status).toBe(0);
    const script = `
      import { spawn } from 'node:child_process';
      import { readFileBounded } from ${JSON.stringify(new URL('../../src/io/read-file.ts', import.meta.url).href)};
      let ok = 0;
      for (let i = 0; i < 40; i++) {
        spawn('sh', ['-c', 'printf x' + i + " > '${path}'"], { stdio: 'ignore' });
        const text = new TextDecoder().decode(readFileBounded('${path}', 64, 'pipe', { pipes: 'read' }));
        if (text === 'x' + i) ok++;
      }
      console.log(ok);`;
    const run = spawnSync(
      process.execPath,
      ['--disable-warning=ExperimentalWarning', '--input-type=module', '-e', script],
      { encoding: 'utf8', timeout: 20_000 },
    );
    expect(run.signal, run.stderr).toBe(null);
    expect(run.stdout.trim()).toBe('40');
  });

  it('still refuses a device', () => {
    expect(refusal(() => readFileBounded('/dev/zero', 10, '/dev/zero', { pipes: 'read' }))).toMatchObject({
      reason: 'not-regular',
    });
  });
});
