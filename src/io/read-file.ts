/**
 * The one way sealbox reads a whole file named by a caller or a config (envelopes, sources,
 * artifacts, keyrings, policy files, keys): regular files only, opened non-blocking, size-bounded.
 * Callers that report in their own error class (policy, packer, keyring) map the typed refusal.
 */
import { closeSync, constants, fstatSync, openSync, readSync, statSync } from 'node:fs';
import { UsageError } from '../errors.ts';

/** How a read treats a pipe (FIFO or socket). */
export interface ReadOptions {
  /**
   * `refuse` (the default, for everything a long-running node reads): a pipe is refused like a
   * device. `read`: a one-shot CLI command reads an operator-named pipe (`/dev/stdin`, `<(…)`)
   * to its end, bounded; devices are still refused.
   */
  readonly pipes?: 'refuse' | 'read';
}

/** Why a bounded read was refused (`details.reason` of the ERR_IO UsageError). */
export type ReadRefusal = 'open' | 'not-regular' | 'too-large' | 'read';

/** `details` of the ERR_IO UsageError that readFileBounded throws. */
export interface ReadRefusalDetails {
  readonly path: string;
  readonly reason: ReadRefusal;
  /** the byte limit of this read */
  readonly limit: number;
  /** the file's size by fstat, when it was a regular file */
  readonly size?: number;
  /** the errno code (`ENOENT`, `EACCES`, `EISDIR`…) for `open` and `read` refusals */
  readonly errno?: string;
}

// Linux/macOS: O_NONBLOCK makes open() of a FIFO return at once instead of waiting for a writer.
const OPEN_FLAGS = constants.O_RDONLY | (constants.O_NONBLOCK ?? 0);

/**
 * Reads the regular file at `path`, at most `maxBytes` bytes.
 * Defends against a hang and memory exhaustion from a path an attacker or a slip controls: a FIFO
 * with no writer (open would block the node forever; Keyring.load re-reads on every load), a
 * device such as /dev/zero (endless read), a directory, a huge file. The file is opened
 * non-blocking, must be a regular file by fstat of that same descriptor (no check-then-open race),
 * its size is checked before reading, and the read stops one byte past the limit if it grew.
 * @throws UsageError `ERR_IO` with {@link ReadRefusalDetails} (`reason`: open, not-regular,
 *   too-large, read).
 * @example readFileBounded('/etc/sealbox/keyring.json', 16 << 20)
 */
export function readFileBounded(
  path: string | URL,
  maxBytes: number,
  display = String(path),
  options: ReadOptions = {},
): Uint8Array {
  const refuse = (reason: ReadRefusal, why: string, extra: Partial<ReadRefusalDetails> = {}): UsageError =>
    new UsageError('ERR_IO', `cannot read ${display}: ${why}`, {
      path: display,
      reason,
      limit: maxBytes,
      ...extra,
    } satisfies ReadRefusalDetails);
  // A one-shot CLI reading `/dev/stdin` or `<(…)` opens a pipe blocking from the start. Defends
  // against losing what a fast writer wrote: a non-blocking open counts as the pipe's reader, a
  // writer can write everything and close against it, and a blocking re-open after that waits
  // for a writer that is gone (the data went with the last reader's close), forever.
  const pipeFirst = options.pipes === 'read' && isPipePath(path);
  let fd: number;
  try {
    fd = openSync(path, pipeFirst ? constants.O_RDONLY : OPEN_FLAGS);
  } catch (error) {
    const errno = (error as NodeJS.ErrnoException).code ?? 'error';
    throw refuse('open', errno, { errno });
  }
  try {
    const stat = fstatSync(fd);
    if (pipeFirst && (stat.isFIFO() || stat.isSocket())) {
      // Read through the blocking descriptor, bounded the same way as a file.
      return readAll(fd, maxBytes, maxBytes + 1, refuse, undefined);
    }
    if (!stat.isFile()) {
      const kind = stat.isDirectory() ? 'a directory' : stat.isFIFO() ? 'a FIFO' : 'a device or socket';
      throw refuse('not-regular', `it is ${kind}, expected a regular file`, {
        errno: stat.isDirectory() ? 'EISDIR' : 'ENOTFILE',
      });
    }
    if (stat.size > maxBytes) {
      throw refuse('too-large', `${stat.size} bytes, more than the ${maxBytes}-byte limit`, {
        size: stat.size,
      });
    }
    return readAll(fd, maxBytes, Math.min(stat.size, maxBytes) + 1, refuse, stat.size);
  } catch (error) {
    if (error instanceof UsageError) throw error;
    const errno = (error as NodeJS.ErrnoException).code ?? 'error';
    throw refuse('read', errno, { errno });
  } finally {
    if (fd !== -1) closeSync(fd);
  }
}

/** Whether `path` names a pipe (FIFO or socket) now; false when it cannot be stat'ed. */
function isPipePath(path: string | URL): boolean {
  try {
    const stat = statSync(path);
    return stat.isFIFO() || stat.isSocket();
  } catch {
    return false;
  }
}

/**
 * Reads `fd` to its end into a buffer of `capacity` bytes (the expected size + 1, so growth is
 * seen), refusing more than `maxBytes`.
 */
function readAll(
  fd: number,
  maxBytes: number,
  capacity: number,
  refuse: (reason: ReadRefusal, why: string, extra?: Partial<ReadRefusalDetails>) => UsageError,
  size: number | undefined,
): Uint8Array {
  const sizeDetail = size === undefined ? {} : { size };
  let buffer = Buffer.allocUnsafe(Math.min(capacity, 1 << 20));
  let total = 0;
  for (;;) {
    if (total === buffer.length) {
      if (buffer.length >= capacity) {
        // Defends against a file that grows while being read: refuse instead of reading on.
        throw refuse('too-large', `it grew past the ${maxBytes}-byte limit while being read`, sizeDetail);
      }
      const bigger = Buffer.allocUnsafe(Math.min(capacity, buffer.length * 2));
      buffer.copy(bigger, 0, 0, total);
      buffer = bigger;
    }
    const n = readSync(fd, buffer, total, buffer.length - total, null);
    if (n === 0) break;
    total += n;
    if (total > maxBytes) throw refuse('too-large', `more than the ${maxBytes}-byte limit`, sizeDetail);
  }
  return new Uint8Array(buffer.buffer, buffer.byteOffset, total);
}

/** The refusal details when `error` is a readFileBounded refusal, else undefined. */
export function readRefusalOf(error: unknown): ReadRefusalDetails | undefined {
  if (!(error instanceof UsageError) || error.code !== 'ERR_IO') return undefined;
  const details = error.details as Partial<ReadRefusalDetails> | undefined;
  return typeof details?.reason === 'string' ? (details as ReadRefusalDetails) : undefined;
}
