/**
 * Attack: keep using a key after ops cut it off, by relying on the loader's "has the keyring file
 * changed?" stamp. An in-place rewrite of the same size that leaves the modification time as it
 * was (same mtime tick on coarse filesystems, or a tool that restores times) used to go unseen:
 * the stamp was inode + size + mtime only.
 * Layer that must stop it: the loader (keyring re-read), then trust (the key's window).
 */
import { rmSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConfigError, TrustError } from '../../src/errors.ts';
import { createLoader, type DecisionEvent } from '../../src/loader.ts';
import { Keyring } from '../../src/trust/keyring.ts';
import { CHUNKER, makeWorld, type World } from '../e2e/helpers.ts';

let world: World;

beforeAll(() => {
  world = makeWorld();
});

afterAll(() => {
  rmSync(world.dir, { recursive: true, force: true });
});

function ringWith(validUntil: string): string {
  const entry = { ...world.keyring.entries[0]!, validUntil };
  return JSON.stringify(Keyring.parse({ version: 1, keys: [entry] }).toJSON());
}

describe('when the keyring is rewritten in place with the same size and mtime (layer: loader)', () => {
  it('throws ERR_KEY_EXPIRED on the next load', async () => {
    const path = join(world.dir, 'same-size-keyring.json');
    const open = ringWith('2999-01-01T00:00:00Z');
    const cut = ringWith('2000-01-01T00:00:00Z');
    expect(cut.length).toBe(open.length);
    // A whole second, so the restored mtime is bit-for-bit the same.
    const when = Math.floor(Date.now() / 1000) + 1;
    writeFileSync(path, open);
    utimesSync(path, when, when);
    const inode = statSync(path).ino;
    const decisions: DecisionEvent[] = [];
    const loader = createLoader({ keyring: path, workers: 1, onDecision: (e) => decisions.push(e) });
    try {
      const envelope = world.envelope(CHUNKER, { export: 'TextChunker', identifier: 'chunker-k' });
      await loader.load(envelope, { tenant: 'acme' });
      writeFileSync(path, cut); // in place: same inode
      utimesSync(path, when, when);
      expect(statSync(path).ino).toBe(inode);
      const error = await loader.load(envelope, { tenant: 'acme' }).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(TrustError);
      expect(error).toMatchObject({ code: 'ERR_KEY_EXPIRED' });
    } finally {
      await loader.close();
    }
  });
});

describe('when an async decision sink rejects (layer: loader)', () => {
  it('still loads, and the rejection is handled (no unhandled rejection kills the node)', async () => {
    const unhandled: unknown[] = [];
    const onUnhandled = (reason: unknown) => unhandled.push(reason);
    process.on('unhandledRejection', onUnhandled);
    const loader = createLoader({
      keyring: world.keyring,
      workers: 1,
      onDecision: async () => {
        throw new Error('log pipeline down');
      },
    });
    try {
      const envelope = world.envelope(CHUNKER, { export: 'TextChunker', identifier: 'chunker-s' });
      const loaded = await loader.load(envelope, { tenant: 'acme' });
      expect(loaded.identifier).toBe('chunker-s');
      await expect(loader.load('{}', { tenant: 'acme' })).rejects.toMatchObject({
        code: 'ERR_ENVELOPE_MALFORMED',
      });
      await new Promise((r) => setTimeout(r, 20));
      expect(unhandled).toEqual([]);
    } finally {
      process.off('unhandledRejection', onUnhandled);
      await loader.close();
    }
  });
});

describe('when the keyring path does not exist (layer: loader)', () => {
  it('throws ERR_KEYRING_INVALID from createLoader, not a raw ENOENT', () => {
    const path = join(world.dir, 'no-such-keyring.json');
    const error = (() => {
      try {
        createLoader({ keyring: path, workers: 1 });
        return undefined;
      } catch (e) {
        return e;
      }
    })();
    expect(error).toBeInstanceOf(ConfigError);
    expect(error).toMatchObject({ code: 'ERR_KEYRING_INVALID' });
  });
});
