/**
 * Attack: time loads against `loader.close()` (a node shutting down, or a tenant spamming loads
 * during a reload) hoping one lands after close and leaves a worker process or a live component
 * behind.
 * Layer that must stop it: the loader (and the supervisor under it): every load racing close
 * settles as ERR_SANDBOX_CLOSED or as a component that is already unusable, and no worker survives.
 */
import { execFileSync } from 'node:child_process';
import { rmSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLoader } from '../../src/loader.ts';
import { CHUNKER, makeWorld, type World } from '../e2e/helpers.ts';

let world: World;

beforeAll(() => {
  world = makeWorld();
});

afterAll(() => {
  rmSync(world.dir, { recursive: true, force: true });
});

function childPids(): number[] {
  try {
    return execFileSync('pgrep', ['-P', String(process.pid)], { encoding: 'utf8' })
      .split('\n')
      .filter(Boolean)
      .map(Number);
  } catch {
    return [];
  }
}

describe('when loads race loader.close() (layer: loader)', () => {
  it('throws ERR_SANDBOX_CLOSED for every load that did not finish, and leaves no worker behind', async () => {
    const before = new Set(childPids());
    const loader = createLoader({ keyring: world.keyring, workers: 2 });
    const envelope = world.envelope(CHUNKER, { export: 'TextChunker', identifier: 'chunker-c' });
    const loads = Array.from({ length: 6 }, () => loader.load(envelope, { tenant: 'acme' }));
    const closing = loader.close();
    const late = loader.load(envelope, { tenant: 'acme' });
    const all = Promise.allSettled([...loads, late]);
    await closing;
    const settled = await all;
    for (const s of settled) {
      if (s.status === 'rejected') expect(s.reason).toMatchObject({ code: 'ERR_SANDBOX_CLOSED' });
      else
        await expect(s.value.call('stats')).rejects.toMatchObject({
          code: 'ERR_SANDBOX_CLOSED',
        });
    }
    expect(settled.at(-1)!.status).toBe('rejected');
    const leftover = childPids().filter((pid) => !before.has(pid));
    expect(leftover).toEqual([]);
  });

  it('throws ERR_SANDBOX_CLOSED for loads in flight on warm workers, and leaves no worker behind', async () => {
    const before = new Set(childPids());
    const loader = createLoader({ keyring: world.keyring, workers: 2 });
    const envelope = world.envelope(CHUNKER, { export: 'TextChunker', identifier: 'chunker-w' });
    const warm = await loader.load(envelope, { tenant: 'acme' });
    expect(childPids().filter((pid) => !before.has(pid)).length).toBeGreaterThan(0);
    const loads = Array.from({ length: 6 }, () => loader.load(envelope, { tenant: 'acme' }));
    const inFlight = warm.call('stats');
    const all = Promise.allSettled(loads);
    const call = Promise.allSettled([inFlight]);
    await loader.close();
    const settled = await all;
    for (const s of settled) {
      // A load either lost the race (ERR_SANDBOX_CLOSED) or won it and holds a component that
      // close() has already made unusable: neither may leave a live component behind.
      if (s.status === 'rejected') expect(s.reason).toMatchObject({ code: 'ERR_SANDBOX_CLOSED' });
      else await expect(s.value.call('stats')).rejects.toMatchObject({ code: 'ERR_SANDBOX_CLOSED' });
    }
    // The call in flight either finished before close or was cut off with ERR_SANDBOX_CLOSED.
    const [callOutcome] = await call;
    if (callOutcome!.status === 'rejected')
      expect(callOutcome!.reason).toMatchObject({ code: 'ERR_SANDBOX_CLOSED' });
    else expect(callOutcome!.value).toEqual(expect.anything());
    await expect(warm.call('stats')).rejects.toMatchObject({ code: 'ERR_SANDBOX_CLOSED' });
    expect(childPids().filter((pid) => !before.has(pid))).toEqual([]);
  });
});
