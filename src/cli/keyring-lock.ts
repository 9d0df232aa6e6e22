/**
 * An exclusive lock around a keyring file's read-modify-write (`keyring add`, `keyring revoke`).
 * Defends against a lost revocation: two edits that both read version n and both write n + 1 (the
 * last writer wins and the other edit vanishes, while both commands report success). The lock is
 * a sibling file created with O_EXCL, so exactly one process edits at a time; others wait briefly
 * and then fail with ERR_KEYRING_LOCKED (exit 2) without touching the keyring.
 * Not a defence against editors that ignore the lock (a hand edit): readers never need it, since
 * the keyring is replaced by an atomic rename.
 */
import { closeSync, openSync, readSync, realpathSync, unlinkSync, writeSync } from 'node:fs';
import { resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { UsageError } from '../errors.ts';

/** How long a command waits for another one's lock before giving up (ms). */
export const KEYRING_LOCK_WAIT_MS = 10_000;

/** The lock file of the keyring at `path` (links resolved, so every spelling shares one lock). */
export function keyringLockPath(cwd: string, path: string): string {
  const full = resolve(cwd, path);
  let target = full;
  try {
    target = realpathSync(full);
  } catch {
    // Not there yet (`keyring add` creates it): the path as given.
  }
  return `${target}.lock`;
}

function holderOf(lockPath: string): string {
  try {
    const fd = openSync(lockPath, 'r');
    try {
      const buffer = Buffer.alloc(32);
      const n = readSync(fd, buffer, 0, buffer.length, 0);
      const pid = /^\d{1,10}/.exec(buffer.subarray(0, n).toString('latin1'))?.[0];
      return pid === undefined ? '' : ` (held by process ${pid})`;
    } finally {
      closeSync(fd);
    }
  } catch {
    return '';
  }
}

/**
 * Runs `edit` while holding the keyring's lock, waiting up to `waitMs` for it.
 * @throws UsageError ERR_KEYRING_LOCKED when another command holds the lock past the wait;
 *   ERR_IO when the lock file cannot be created.
 */
export async function withKeyringLock<T>(
  cwd: string,
  path: string,
  edit: () => T,
  waitMs = KEYRING_LOCK_WAIT_MS,
): Promise<T> {
  const lockPath = keyringLockPath(cwd, path);
  const deadline = Date.now() + waitMs;
  let fd: number | undefined;
  for (let delay = 5; fd === undefined; delay = Math.min(delay * 2, 100)) {
    try {
      fd = openSync(lockPath, 'wx', 0o600);
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      if (code !== 'EEXIST') {
        throw new UsageError('ERR_IO', `cannot create the keyring lock ${lockPath}: ${code ?? 'error'}`, {
          path: lockPath,
        });
      }
      if (Date.now() >= deadline) {
        throw new UsageError(
          'ERR_KEYRING_LOCKED',
          `keyring ${path} is being edited by another command${holderOf(lockPath)}; nothing was changed. ` +
            `Retry; if no sealbox command is running, remove ${lockPath}`,
          { path, lock: lockPath },
        );
      }
      // Jitter: waiters that collided once do not collide again in lockstep.
      await sleep(delay + Math.floor(Math.random() * delay));
    }
  }
  try {
    writeSync(fd, `${process.pid}\n`);
    closeSync(fd);
    return edit();
  } finally {
    try {
      unlinkSync(lockPath);
    } catch {
      // Already gone (an operator removed it): nothing left to release.
    }
  }
}
