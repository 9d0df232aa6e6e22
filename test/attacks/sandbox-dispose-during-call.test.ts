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
import { SandboxError } from '../../src/errors.ts';
import { createLoader, type Loader } from '../../src/loader.ts';
import { makeWorld, type World } from '../e2e/helpers.ts';

let world: World;
let loader: Loader;

// A call that is certainly still in flight when dispose() runs: it waits for a kv answer from the
// host, and the unload reaches the worker before that answer does.
const WAITER = `import { Component } from 'sealbox';
export class Waiter extends Component {
  async wait(key) {
    await this.host.kv.get(key);
    return 'answered';
  }
}
`;

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
    const file = world.write('waiter.js', WAITER);
    const envelope = world.envelope(file, { export: 'Waiter', identifier: 'waiter-d', requires: ['kv'] });
    const component = await loader.load(envelope, { tenant: 'acme' });
    // Baseline: the same call succeeds when nothing disposes the component.
    expect(await component.call('wait', 'k')).toBe('answered');
    const call = component.call('wait', 'k').catch((e: unknown) => e);
    await component.dispose();
    const outcome = await call;
    expect(outcome).toBeInstanceOf(SandboxError);
    expect(outcome).toMatchObject({ code: 'ERR_SANDBOX_CLOSED' });
  });
});
