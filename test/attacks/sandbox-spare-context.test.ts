/**
 * Workers keep spare contexts (through the tenant-agnostic bootstrap), a spare tenant-less isolate
 * and compiled scripts ahead of time (src/sandbox/context-pool.ts). These tests pin that none of
 * it lets one component see another's context: not within a tenant, not across tenants, not
 * after the tenant's isolate was disposed.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, describe, expect, it } from 'vitest';
import { createSupervisor, type SandboxedComponent } from '../../src/sandbox/supervisor.ts';
import { cls, expectCode, spec } from '../sandbox/helpers.ts';

const supervisor = createSupervisor({ workers: 1 });
afterAll(() => supervisor.close());

// Poisons its own context at top level, in its constructor and in a call; reports what it found.
const POISONER = `
var before = typeof globalThis.leak;
globalThis.leak = 'top-level';
RegExp.prototype.exec = function () { return null; };
${cls(`
  constructor(params, context) {
    super(params, context);
    globalThis.leak = 'constructor';
    RegExp.prototype[Symbol.split] = function () { return ['pwned']; };
  }
  before() { return before; }
  poison() { globalThis.leak = 'call'; Object.defineProperty(globalThis, 'sticky', { value: 1 }); return 1; }
  spin() { for (;;) {} }
`)}`;
const PROBE = cls(`
  probe() {
    return [typeof globalThis.leak, typeof globalThis.sticky, 'a,b'.split(/,/), /x/.exec('x') !== null];
  }
`);
const CLEAN = ['undefined', 'undefined', ['a', 'b'], true];

/** Loads, then gives the worker time to make its spares in the background. */
async function loadAndSettle(
  source: string,
  tenant: string,
  identifier: string,
): Promise<SandboxedComponent> {
  const component = await supervisor.instantiate(spec(source, { tenant, identifier }));
  await sleep(60);
  return component;
}

describe('when a component poisons its context and the tenant loads again (layer: sandbox)', () => {
  it('the next component of the same tenant gets a clean context (spare, not reused)', async () => {
    // Two loads make acme a re-loading tenant: from here on a spare context is kept for it.
    const warm1 = await loadAndSettle(PROBE, 'acme', 'warm-1');
    const warm2 = await loadAndSettle(PROBE, 'acme', 'warm-2');
    const poisoner = await loadAndSettle(POISONER, 'acme', 'poisoner');
    expect(await poisoner.call('before')).toBe('undefined');
    expect(await poisoner.call('poison')).toBe(1);
    await sleep(60);
    const probe = await loadAndSettle(PROBE, 'acme', 'probe');
    expect(await probe.call('probe')).toEqual(CLEAN);
    // The same verified source again (compiled-script cache): its top level runs in a new context.
    const again = await loadAndSettle(POISONER, 'acme', 'poisoner');
    expect(await again.call('before')).toBe('undefined');
    for (const c of [warm1, warm2, poisoner, probe, again]) await c.dispose();
  });

  it('a new tenant (spare isolate) sees nothing of another tenant', async () => {
    const poisoner = await loadAndSettle(POISONER, 'acme', 'poisoner');
    await poisoner.call('poison');
    const poisoner2 = await loadAndSettle(POISONER, 'acme', 'poisoner-2');
    await poisoner2.call('poison');
    await sleep(60);
    const other = await loadAndSettle(PROBE, 'globex', 'probe');
    expect(await other.call('probe')).toEqual(CLEAN);
    const other2 = await loadAndSettle(POISONER, 'initech', 'poisoner');
    expect(await other2.call('before')).toBe('undefined');
    for (const c of [poisoner, poisoner2, other, other2]) await c.dispose();
  });
});

describe('when a tenant isolate is disposed after an overrun (layer: sandbox)', () => {
  it('re-instantiates into a fresh isolate, without the old spares or scripts', async () => {
    const a = await loadAndSettle(POISONER, 'acme', 'poisoner');
    const b = await loadAndSettle(POISONER, 'acme', 'poisoner-2');
    await b.call('poison');
    await expectCode(b.call('spin'), 'SandboxError', 'ERR_TIMEOUT');
    // Both components of the disposed isolate come back from their spec, in clean contexts.
    expect(await a.call('before')).toBe('undefined');
    expect(await b.call('before')).toBe('undefined');
    const probe = await loadAndSettle(PROBE, 'acme', 'probe');
    expect(await probe.call('probe')).toEqual(CLEAN);
    for (const c of [a, b, probe]) await c.dispose();
  });
});
