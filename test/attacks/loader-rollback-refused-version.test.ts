/**
 * A signed high version that the node refuses must not become the rollback mark (issue 16 #4):
 * otherwise one refused v99 (policy violation, capability not granted, throw on instantiate)
 * locks out the clean v2 the node was running, on every node sharing the store.
 * Layer that must stop it: loader (rollback read before policy, recorded only after instantiate,
 * one atomic conditional write; a lost race disposes the instance: ERR_ROLLBACK_DIGEST).
 */
import { afterAll, describe, expect, it } from 'vitest';
import { isSealboxError } from '../../src/errors.ts';
import { createLoader, type DecisionEvent } from '../../src/loader.ts';
import { MemoryStore } from '../../src/store/memory.ts';
import { boxSource, fleetPolicy, makeSigner } from '../fleet/helpers.ts';

const signer = makeSigner();
const store = new MemoryStore();
const events: DecisionEvent[] = [];
const loader = createLoader({
  keyring: signer.world.keyring,
  // The default policy with a 10 s call timeout: instantiation must not time out on a loaded
  // shared machine (this file is about rollback, not deadlines).
  policy: fleetPolicy(signer.world.dir),
  store,
  workers: 1,
  onDecision: (event) => events.push(event),
});
afterAll(() => loader.close());

async function codeOf(promise: Promise<unknown>): Promise<string> {
  try {
    await promise;
    return 'loaded';
  } catch (error) {
    return isSealboxError(error) ? error.code : `untyped: ${String(error)}`;
  }
}

describe('when a refused signed version is higher than the one serving (layer: loader)', () => {
  it('never records it: the clean version keeps loading', async () => {
    const v2 = signer.envelope({ version: 2, source: boxSource('v2') });
    expect((await loader.load(v2, { tenant: 'acme' })).version).toBe(2);

    const refusals = [
      // AST policy: a forbidden global.
      signer.envelope({ version: 99, source: boxSource('v99', 'x() { return globalThis.process; }') }),
      // Capability never granted by the default policy.
      signer.envelope({ version: 98, source: boxSource('v98'), requires: ['kv', 'net'] }),
      // Throws while being constructed in the sandbox.
      signer.envelope({
        version: 97,
        source: boxSource('v97', "constructor(p, c) { super(p, c); throw new Error('no'); }"),
      }),
    ];
    const codes = [];
    for (const envelope of refusals) codes.push(await codeOf(loader.load(envelope, { tenant: 'acme' })));
    expect(codes[0]).toBe('ERR_POLICY_VIOLATION');
    expect(codes[1]).toMatch(/^ERR_(CAPABILITY_NOT_GRANTED|STATEMENT_INVALID)$/);
    expect(codes[2]).toBe('ERR_INSTANTIATE');
    expect(await store.rollback.highest('acme', 'box')).toEqual({
      version: 2,
      digest: events.find((e) => e.version === 2)?.digest,
    });
    // The node can still load what it ran before, and the next clean version.
    expect((await loader.load(v2, { tenant: 'acme' })).version).toBe(2);
    const v3 = signer.envelope({ version: 3, source: boxSource('v3') });
    expect(await (await loader.load(v3, { tenant: 'acme' })).call('version')).toBe('v3');
    expect((await store.rollback.highest('acme', 'box'))?.version).toBe(3);
  });

  it('still refuses an older version and the same version with other bytes', async () => {
    const older = signer.envelope({ version: 1, source: boxSource('v1') });
    expect(await codeOf(loader.load(older, { tenant: 'acme' }))).toBe('ERR_ROLLBACK');
    const other3 = signer.envelope({ version: 3, source: boxSource('v3-other') });
    expect(await codeOf(loader.load(other3, { tenant: 'acme' }))).toBe('ERR_ROLLBACK_DIGEST');
  });

  it('lets exactly one of two equivocating loads in flight at once win, disposing the loser', async () => {
    const a = signer.envelope({ version: 5, identifier: 'eq', source: boxSource('a') });
    const b = signer.envelope({ version: 5, identifier: 'eq', source: boxSource('b') });
    // Both pass the read-only check before either records: the atomic record decides.
    const results = await Promise.allSettled([
      loader.load(a, { tenant: 'acme' }),
      loader.load(b, { tenant: 'acme' }),
    ]);
    const won = results.filter((r) => r.status === 'fulfilled');
    const lost = results.filter((r) => r.status === 'rejected');
    expect(won).toHaveLength(1);
    expect(lost).toHaveLength(1);
    expect(isSealboxError(lost[0]!.reason, 'ERR_ROLLBACK_DIGEST')).toBe(true);
    const refusedEvent = events.find((e) => e.identifier === 'eq' && e.result === 'refused');
    expect(refusedEvent?.code).toBe('ERR_ROLLBACK_DIGEST');
  });
});
