/**
 * loader.follow against the in-memory store: newest acceptable version served, refused versions
 * leave the current one serving (with a decision event), calls in flight finish on the old version.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { isSealboxError } from '../../src/errors.ts';
import { createLoader, type DecisionEvent } from '../../src/loader.ts';
import { MemoryStore } from '../../src/store/memory.ts';
import { publish } from '../../src/store/publish.ts';
import { generateKeyPair } from '../../src/trust/keys.ts';
import { boxSource, fleetPolicy, makeSigner, tamper } from './helpers.ts';

const signer = makeSigner();
const store = new MemoryStore();
const events: DecisionEvent[] = [];
const loader = createLoader({
  keyring: signer.world.keyring,
  policy: fleetPolicy(signer.world.dir),
  store,
  workers: 1,
  onDecision: (event) => events.push(event),
});
afterAll(() => loader.close());

const until = async (check: () => boolean | Promise<boolean>): Promise<void> => {
  for (let i = 0; i < 400 && !(await check()); i++) await new Promise((resolve) => setTimeout(resolve, 25));
};

describe('loader.follow', () => {
  it('says ERR_NO_VERSION until something acceptable is published, then serves it', async () => {
    const handle = loader.follow('acme', 'box');
    await handle.ready();
    await expect(handle.call('version')).rejects.toSatisfy((e) => isSealboxError(e, 'ERR_NO_VERSION'));
    await publish(signer.envelope({ version: 1, source: boxSource('v1') }), { store });
    await until(() => handle.current()?.version === 1);
    expect(await handle.call('version')).toBe('v1');
  });

  it('keeps serving when a newer version is refused, and reports the refusal', async () => {
    const handle = loader.follow('acme', 'box');
    await handle.ready();
    const v2 = signer.envelope({ version: 2, source: boxSource('v2') });
    await publish(tamper(v2, signer.envelope({ version: 2, source: boxSource('evil') })), { store });
    await publish(signer.envelope({ version: 3, source: boxSource('v3'), key: generateKeyPair() }), {
      store,
    });
    await until(() => events.some((e) => e.code === 'ERR_KEY_UNKNOWN'));
    await until(() => events.some((e) => e.code === 'ERR_SIGNATURE_INVALID'));
    expect(handle.current()?.version).toBe(1);
    expect(await handle.call('version')).toBe('v1');
    // A good v2 published later is picked up even though a v3 row exists above it.
    await publish(v2, { store });
    await until(() => handle.current()?.version === 2);
    expect(await handle.call('version')).toBe('v2');
  });

  it('lets a call in flight finish on the version it started on', async () => {
    const slow =
      'async slow() { let x = 0; for (let i = 0; i < 3e7; i++) x += i; return "' + 'old-' + '" + (x > 0); }';
    const handle = loader.follow('acme', 'slowbox');
    await publish(signer.envelope({ version: 1, identifier: 'slowbox', source: boxSource('s1', slow) }), {
      store,
    });
    await until(() => handle.current()?.version === 1);
    const inFlight = handle.invokeServing('slow', []);
    await publish(signer.envelope({ version: 2, identifier: 'slowbox', source: boxSource('s2') }), { store });
    const answer = await inFlight;
    expect(answer).toMatchObject({ result: 'old-true', version: 1 });
    await until(() => handle.current()?.version === 2);
    expect(await handle.call('version')).toBe('s2');
  });
});
