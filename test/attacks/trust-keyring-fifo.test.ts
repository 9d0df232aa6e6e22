/**
 * Attack: hang the node through its keyring path. The loader re-reads a keyring file whenever its
 * stamp changes, so whoever can replace the file with a FIFO (or point the path at a device) made
 * Keyring.load block in open(2) forever, and every later loader.load with it: the whole node hung.
 * Layer that must stop it: trust (Keyring.load through the bounded reader of src/io/read-file.ts:
 * non-blocking open, regular files only) → UsageError ERR_IO, which the loader reports as
 * ConfigError ERR_KEYRING_INVALID.
 *
 * Each case runs in a child process with a deadline: a regression hangs the child (synchronously,
 * where no test timeout can fire) and fails here instead of hanging the test run.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { Keyring } from '../../src/trust/keyring.ts';
import { CHUNKER, makeWorld } from '../e2e/helpers.ts';

const SRC = fileURLToPath(new URL('../../src/', import.meta.url));
const dir = mkdtempSync(join(tmpdir(), 'sealbox-fifo-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Runs `body` (an ES module) in a child Node; returns its last stdout line parsed as JSON. */
function child(body: string): unknown {
  const run = spawnSync(
    process.execPath,
    ['--disable-warning=ExperimentalWarning', '--input-type=module', '-e', body],
    {
      encoding: 'utf8',
      // Generous: the child only imports sealbox and fails one read; a hang is what this catches.
      timeout: 60_000,
    },
  );
  expect(run.signal, `child hung (killed by ${run.signal}); stderr: ${run.stderr}`).toBe(null);
  expect(run.status, run.stderr).toBe(0);
  return JSON.parse(run.stdout.trim().split('\n').at(-1)!);
}

function fifo(name: string): string {
  const path = join(dir, name);
  expect(spawnSync('mkfifo', [path]).status).toBe(0);
  return path;
}

describe('when the keyring path is a FIFO with no writer (layer: trust)', () => {
  it('Keyring.load throws ERR_IO naming a FIFO instead of blocking', () => {
    const path = fifo('ring.fifo');
    const out = child(`
      import { Keyring } from ${JSON.stringify(`${SRC}trust/keyring.ts`)};
      try { Keyring.load(${JSON.stringify(path)}); console.log(JSON.stringify({ loaded: true })); }
      catch (e) { console.log(JSON.stringify({ code: e.code, reason: e.details?.reason, message: e.message })); }
    `);
    expect(out).toMatchObject({ code: 'ERR_IO', reason: 'not-regular' });
    expect((out as { message: string }).message).toContain('FIFO');
  });

  it('Keyring.load throws ERR_IO for a device (/dev/zero) instead of reading without end', () => {
    const out = child(`
      import { Keyring } from ${JSON.stringify(`${SRC}trust/keyring.ts`)};
      try { Keyring.load('/dev/zero'); console.log(JSON.stringify({ loaded: true })); }
      catch (e) { console.log(JSON.stringify({ code: e.code, reason: e.details?.reason })); }
    `);
    expect(out).toEqual({ code: 'ERR_IO', reason: 'not-regular' });
  });
});

describe('when a loader keyring file is swapped for a FIFO (layer: trust, reported by the loader)', () => {
  it('createLoader and the next load throw ERR_KEYRING_INVALID, and the loader reads a regular file again', () => {
    const world = makeWorld();
    try {
      const ring = join(dir, 'keyring.json');
      const good = join(dir, 'keyring.good.json');
      writeFileSync(ring, JSON.stringify(world.keyring.toJSON()));
      // The replacement is an empty keyring: ERR_KEY_UNKNOWN then proves it was read and used.
      writeFileSync(good, JSON.stringify(Keyring.empty().toJSON()));
      const envelopeFile = join(dir, 'env.json');
      writeFileSync(
        envelopeFile,
        JSON.stringify(world.envelope(CHUNKER, { export: 'TextChunker', identifier: 'fifo' })),
      );
      const pipe = fifo('swap.fifo');
      const out = child(`
        import { readFileSync, renameSync, copyFileSync } from 'node:fs';
        import { createLoader } from ${JSON.stringify(`${SRC}loader.ts`)};
        const code = (e) => e?.code ?? String(e);
        let atCreate;
        try { createLoader({ keyring: ${JSON.stringify(pipe)}, workers: 1 }); atCreate = 'created'; } catch (e) { atCreate = code(e); }
        const loader = createLoader({ keyring: ${JSON.stringify(ring)}, workers: 1 });
        const envelope = JSON.parse(readFileSync(${JSON.stringify(envelopeFile)}, 'utf8'));
        renameSync(${JSON.stringify(pipe)}, ${JSON.stringify(ring)});
        const afterSwap = await loader.load(envelope, { tenant: 'acme' }).then(() => 'loaded', code);
        copyFileSync(${JSON.stringify(good)}, ${JSON.stringify(`${ring}.tmp`)});
        renameSync(${JSON.stringify(`${ring}.tmp`)}, ${JSON.stringify(ring)});
        const restored = await loader.load(envelope, { tenant: 'acme' }).then(() => 'loaded', code);
        console.log(JSON.stringify({ atCreate, afterSwap, restored }));
        // close() is not what this checks (and its exit race is issue 13 #5): bounded, then exit.
        await Promise.race([loader.close(), new Promise((r) => setTimeout(r, 5000))]);
        process.exit(0);
      `);
      expect(out).toEqual({
        atCreate: 'ERR_KEYRING_INVALID',
        afterSwap: 'ERR_KEYRING_INVALID',
        restored: 'ERR_KEY_UNKNOWN',
      });
    } finally {
      rmSync(world.dir, { recursive: true, force: true });
    }
  });
});
