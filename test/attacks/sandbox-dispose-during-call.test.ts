/**
 * Attack: dispose a component while one of its calls is in flight (a tenant's own cleanup racing
 * its traffic). The in-flight call must settle as ERR_SANDBOX_CLOSED ("disposed"), not as a
 * misleading ERR_SANDBOX_CRASHED from the worker's "component is not loaded" answer, which makes
 * operators chase a crash that never happened.
 * Layer that must stop it: sandbox (src/sandbox/supervisor.ts disposeRecord / callRecord).
 * Reported by the loader/CLI reviewer; fails until the sandbox layer maps it.
 */
import { rmSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLoader, type Loader } from '../../src/loader.ts';
import { CHUNKER, makeWorld, type World } from '../e2e/helpers.ts';

let world: World;
let loader: Loader;

beforeAll(() => {
  world = makeWorld();
  loader = createLoader({ keyring: world.keyring, workers: 1 });
});

afterAll(async () => {
  await loader.close();
  rmSync(world.dir, { recursive: true, force: true });
});

describe('when a component is disposed while a call is in flight (layer: sandbox)', () => {
  it('throws ERR_SANDBOX_CLOSED for the in-flight call', async () => {
    const envelope = world.envelope(CHUNKER, { export: 'TextChunker', identifier: 'chunker-d' });
    const component = await loader.load(envelope, { tenant: 'acme' });
    const call = component.call('stats').catch((e: unknown) => e);
    await component.dispose();
    const outcome = await call;
    if (outcome instanceof Error) expect(outcome).toMatchObject({ code: 'ERR_SANDBOX_CLOSED' });
  });
});
