/**
 * Cross-tenant attacks against the sandbox layer alone: one isolate per tenant, a fresh context per
 * component, and a kv namespace chosen by the host (never by the isolate).
 */
import { afterAll, describe, expect, it } from 'vitest';
import { MemoryKvStore } from '../../src/sandbox/kv-store.ts';
import { createSupervisor } from '../../src/sandbox/supervisor.ts';
import { cls, expectCode, spec } from '../sandbox/helpers.ts';

const kv = new MemoryKvStore();
// One worker: both tenants share the process, as on a busy node.
const supervisor = createSupervisor({ workers: 1, kv });
afterAll(() => supervisor.close());

const SPY = cls(`
  async put(key, value) { await this.host.kv.set(key, value); return true; }
  async get(key) { return await this.host.kv.get(key); }
  async list(prefix) { return await this.host.kv.list(prefix); }
  async getOther(key, ns) { return await this.host.kv.get(key, ns); }
  setGlobal(v) { globalThis.shared = v; Component.stash = v; return true; }
  readGlobal() { return [typeof globalThis.shared === 'undefined' ? null : globalThis.shared, Component.stash ?? null]; }
`);

describe('when two tenants use the same identifier in the same worker', () => {
  it('cannot read or list the other tenant kv keys (ERR_ARGS_INVALID when naming a namespace)', async () => {
    const a = await supervisor.instantiate(spec(SPY, { tenant: 'tenant-a', identifier: 'same' }));
    const b = await supervisor.instantiate(spec(SPY, { tenant: 'tenant-b', identifier: 'same' }));
    expect(supervisor.stats().workers).toBe(1);
    expect(await a.call('put', 'secret', 'a-only')).toBe(true);
    expect(await b.call('get', 'secret')).toBeNull();
    expect(await b.call('list', '')).toEqual([]);
    await expectCode(b.call('getOther', 'secret', 'tenant-a'), 'SandboxError', 'ERR_ARGS_INVALID');
    expect(await a.call('get', 'secret')).toBe('a-only');
    expect(await kv.list('tenant-a', '')).toEqual(['secret']);
    expect(await kv.list('tenant-b', '')).toEqual([]);
  });

  it('cannot see the other tenant globals, nor another component globals of its own tenant', async () => {
    const a = await supervisor.instantiate(spec(SPY, { tenant: 'tenant-a', identifier: 'same' }));
    const b = await supervisor.instantiate(spec(SPY, { tenant: 'tenant-b', identifier: 'same' }));
    const a2 = await supervisor.instantiate(spec(SPY, { tenant: 'tenant-a', identifier: 'same' }));
    // Component is frozen: the static write fails, the global write succeeds in its own context only.
    await expectCode(a.call('setGlobal', 'from-a'), 'ComponentError', 'ERR_COMPONENT_THREW');
    expect(await b.call('readGlobal')).toEqual([null, null]);
    expect(await a2.call('readGlobal')).toEqual([null, null]);
    expect(await a.call('readGlobal')).toEqual(['from-a', null]);
  });

  it('keeps the tenant namespace even when the identity fields are spoofed in source', async () => {
    const spoof = await supervisor.instantiate(
      spec(
        cls(`
          constructor(params, context) { super({ tenant: 'tenant-a' }, { tenant: 'tenant-a' }); }
          async steal() { return [this.tenant, await this.host.kv.get('secret')]; }`),
        { tenant: 'tenant-c', identifier: 'same' },
      ),
    );
    expect(await spoof.call('steal')).toEqual(['tenant-c', null]);
  });
});
