/**
 * The keyring a loader trusts: a Keyring object, or a keyring file that is re-read whenever it
 * changes (so a revocation takes effect on the next load) and fails closed while it is broken.
 */
import { statSync } from 'node:fs';
import { resolve } from 'node:path';
import { ConfigError, UsageError } from '../errors.ts';
import { Keyring } from './keyring.ts';

/** How long after its last modification a keyring file is re-read on every load (ms). */
const KEYRING_RACY_MS = 2000;

export class KeyringSource {
  #keyring: Keyring;
  #path: string | undefined;
  #stamp = '';
  #racy = false;

  constructor(keyring: Keyring | string) {
    if (typeof keyring === 'string') {
      // Resolved once: a later chdir of the embedding process must not switch keyrings.
      this.#path = resolve(keyring);
      this.#keyring = Keyring.empty();
      this.#reload(this.#fileStamp());
    } else if (keyring instanceof Keyring) {
      this.#keyring = keyring;
    } else {
      throw new ConfigError('ERR_CONFIG_INVALID', 'createLoader: keyring must be a Keyring or a file path');
    }
  }

  /** @throws ConfigError ERR_KEYRING_INVALID when the file cannot be stat'ed (missing, no access). */
  #fileStamp(): { key: string; mtimeMs: number } {
    let stat;
    try {
      stat = statSync(this.#path!, { bigint: true });
    } catch (error) {
      // Defends against a raw ENOENT/EACCES escaping createLoader or load: callers switch on `code`.
      throw new ConfigError(
        'ERR_KEYRING_INVALID',
        `keyring file ${this.#path} cannot be read: ${(error as NodeJS.ErrnoException).code ?? 'error'}`,
        {},
        { cause: error },
      );
    }
    return { key: `${stat.ino}:${stat.size}:${stat.mtimeNs}:${stat.ctimeNs}`, mtimeMs: Number(stat.mtimeMs) };
  }

  // Defends against a revocation the stamp cannot see: an in-place rewrite of the same size inside
  // one mtime tick (4 ms on ext4, 1-2 s on FAT, SMB and some NFS) leaves inode, size and times
  // unchanged. The stamp is taken BEFORE reading (so a write during the read is seen next time),
  // and a file modified in the last KEYRING_RACY_MS is re-read on every load until it settles
  // (git's "racily clean" rule).
  #reload(stamp: { key: string; mtimeMs: number }): void {
    try {
      this.#keyring = Keyring.load(this.#path!);
    } catch (error) {
      // A keyring path that is no longer a readable regular file (deleted between stat and open,
      // swapped for a FIFO or device) is a broken keyring: the same code as a stat failure.
      if (error instanceof UsageError && error.code === 'ERR_IO') {
        throw new ConfigError('ERR_KEYRING_INVALID', error.message, {}, { cause: error });
      }
      throw error;
    }
    this.#stamp = stamp.key;
    this.#racy = Date.now() - stamp.mtimeMs < KEYRING_RACY_MS;
  }

  /** The current keyring; re-reads the file when it changed. A broken file throws (fail closed). */
  current(): Keyring {
    if (this.#path !== undefined) {
      const stamp = this.#fileStamp();
      if (stamp.key !== this.#stamp || this.#racy) {
        // Defends against a revoked key staying trusted: a changed file is re-read before this
        // load, and if it no longer parses every load is refused until it is fixed.
        this.#stamp = '';
        this.#reload(stamp);
      }
    }
    return this.#keyring;
  }

  set(keyring: Keyring): void {
    this.#keyring = keyring;
    this.#path = undefined;
    this.#racy = false;
  }
}
