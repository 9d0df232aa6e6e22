/** File access for the CLI: bounded reads, atomic writes, errors typed as ERR_IO. */
import {
  closeSync,
  openSync,
  readSync,
  realpathSync,
  renameSync,
  statSync,
  writeFileSync,
  mkdirSync,
} from 'node:fs';
import { dirname, resolve } from 'node:path';
import { UsageError } from '../errors.ts';
import { readFileBounded as readBounded } from '../io/read-file.ts';
import { PRIVATE_KEY_TYPE } from '../trust/keys.ts';

/** Default cap for files the CLI reads (envelopes, sources, keyrings, params). */
export const DEFAULT_MAX_FILE_BYTES = 64 * 1024 * 1024;

/**
 * Reads a whole file relative to `cwd`, at most `maxBytes`, through the shared bounded reader
 * (src/io/read-file.ts: non-blocking open, devices refused, size checked before reading).
 * Policy: a CLI command runs once for the operator who named the path, so a pipe (`/dev/stdin`,
 * `<(…)`) is read to its end, bounded; the library's own readers (keyring, policy, packer) refuse
 * pipes, because a long-running node must never block on one.
 * @throws UsageError ERR_IO
 */
export function readFileBounded(cwd: string, path: string, maxBytes = DEFAULT_MAX_FILE_BYTES): Uint8Array {
  return readBounded(resolve(cwd, path), maxBytes, path, { pipes: 'read' });
}

/** Reads a UTF-8 text file (bounded). */
export function readTextBounded(cwd: string, path: string, maxBytes = DEFAULT_MAX_FILE_BYTES): string {
  return new TextDecoder('utf-8').decode(readFileBounded(cwd, path, maxBytes));
}

/**
 * Writes a file atomically (temp file + rename), with `mode` applied at creation.
 * Defends against a torn or world-readable private key: the temp file is created with the final
 * mode before any byte is written, and readers see either the old file or the whole new one.
 */
export function writeFileAtomic(cwd: string, path: string, data: string | Uint8Array, mode = 0o644): void {
  const failed = (error: unknown): UsageError =>
    new UsageError('ERR_IO', `cannot write ${path}: ${(error as NodeJS.ErrnoException).code ?? 'error'}`, {
      path,
    });
  let full = resolve(cwd, path);
  let existing: ReturnType<typeof statSync> | undefined;
  try {
    existing = statSync(full);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw failed(error);
    existing = undefined;
  }
  if (existing !== undefined && existing.isDirectory()) {
    throw new UsageError('ERR_IO', `cannot write ${path}: it is a directory, expected a file`, { path });
  }
  if (existing !== undefined && !existing.isFile()) {
    // Defends against destroying a device or FIFO (`-o /dev/null` run as root): a rename would put a
    // plain file in its place, so the bytes are written through it instead.
    try {
      writeFileSync(full, data);
    } catch (error) {
      throw failed(error);
    }
    return;
  }
  if (existing !== undefined) {
    try {
      // Defends against replacing a symlink (a keyring linked from /etc) with a plain file: the
      // rename below goes to the regular file the link names, and the link stays.
      full = realpathSync(full);
    } catch (error) {
      throw failed(error);
    }
  }
  const temp = `${full}.${process.pid}.${Date.now()}.tmp`;
  try {
    mkdirSync(dirname(full), { recursive: true });
    writeFileSync(temp, data, { mode, flag: 'wx' });
    renameSync(temp, full);
  } catch (error) {
    throw failed(error);
  }
}

/**
 * Refuses an output path that would replace one of the command's inputs or any private key file.
 * Defends against destroying a signing key with a slip of `-o` (`sealbox sign s.json --key k.key
 * -o k.key`, or `-o` naming another key file): the output may not be the same file (device and
 * inode, so links and `./` spellings count) as an input, and an existing file that holds a sealbox
 * private key is never overwritten.
 * @throws UsageError ERR_USAGE
 */
export function assertSafeOutput(cwd: string, out: string, inputs: readonly string[]): void {
  let target: { dev: number; ino: number; isFile(): boolean };
  try {
    target = statSync(resolve(cwd, out));
  } catch {
    return; // nothing there yet: nothing to clobber
  }
  for (const input of inputs) {
    try {
      const s = statSync(resolve(cwd, input));
      if (s.dev === target.dev && s.ino === target.ino) {
        throw new UsageError(
          'ERR_USAGE',
          `-o ${out} is the same file as the input ${input}; refusing to overwrite it`,
          {
            path: out,
          },
        );
      }
    } catch (error) {
      if (error instanceof UsageError) throw error;
    }
  }
  if (!target.isFile()) return;
  let head = '';
  try {
    const fd = openSync(resolve(cwd, out), 'r');
    try {
      const buffer = Buffer.alloc(4096);
      head = buffer.subarray(0, readSync(fd, buffer, 0, buffer.length, 0)).toString('utf8');
    } finally {
      closeSync(fd);
    }
  } catch {
    return; // unreadable: the write reports its own error
  }
  if (head.includes(PRIVATE_KEY_TYPE)) {
    throw new UsageError('ERR_USAGE', `-o ${out} holds a private key; refusing to overwrite it`, {
      path: out,
    });
  }
}

/**
 * Refuses a path that exists but is neither a regular file nor a folder (a device, FIFO or socket),
 * before a layer that reads whole files opens it. A missing path is left to the reader to report.
 * Defends against a hang or memory exhaustion from `--policy /dev/zero` or a FIFO with no writer:
 * whole-file readers would read forever or block on open.
 * @throws UsageError ERR_IO
 */
export function assertFileOrFolder(cwd: string, path: string, what: string): void {
  let stat;
  try {
    stat = statSync(resolve(cwd, path));
  } catch {
    return;
  }
  if (!stat.isFile() && !stat.isDirectory()) {
    throw new UsageError('ERR_IO', `${what} ${path} is not a regular file or folder`, { path });
  }
}
