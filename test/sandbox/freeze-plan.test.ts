import ivm from 'isolated-vm';
import { afterEach, describe, expect, it } from 'vitest';
import { BOOTSTRAP_FILENAME, BOOTSTRAP_SOURCE, BRIDGE_GLOBAL } from '../../src/sandbox/bootstrap.ts';
import { ContextPool } from '../../src/sandbox/context-pool.ts';
import { planBootstrap, withFreezePlan } from '../../src/sandbox/freeze-plan.ts';
import { INIT_META } from './helpers.ts';

const META = INIT_META;

let isolates: ivm.Isolate[] = [];
afterEach(() => {
  for (const isolate of isolates) if (!isolate.isDisposed) isolate.dispose();
  isolates = [];
});

/** A context through `source`; returns its control function. */
function bootstrapped(source: string): ivm.Reference<(...args: unknown[]) => unknown> {
  const isolate = new ivm.Isolate({ memoryLimit: 32 });
  isolates.push(isolate);
  const context = isolate.createContextSync();
  context.global.setSync(BRIDGE_GLOBAL, new ivm.Callback(() => undefined, { ignored: true }));
  return isolate
    .compileScriptSync(source, { filename: BOOTSTRAP_FILENAME })
    .runSync(context, { reference: true }) as ivm.Reference<(...args: unknown[]) => unknown>;
}

function recordedPlan(): [number, number[], string[]] {
  const plan = bootstrapped(BOOTSTRAP_SOURCE).applySync(undefined, ['plan']);
  expect(typeof plan).toBe('string');
  return JSON.parse(plan as string) as [number, number[], string[]];
}

describe('when a worker hardens contexts by a freeze plan (layer: sandbox bootstrap)', () => {
  it('records a plan and audits it: a context hardened by the plan alone leaves nothing unfrozen', () => {
    const made = planBootstrap(ivm);
    expect(made.planned).toBe(true);
    expect(made.source).not.toBe(BOOTSTRAP_SOURCE);
    expect(made.cachedData).toBeDefined();
    // The full walk, over a fresh context hardened by the plan: every reachable object is frozen
    // (RegExp and RegExp.prototype excepted, by policy).
    expect(bootstrapped(made.source).applySync(undefined, ['audit'])).toBe(0);
  });

  it('keeps a code cache of the chosen source that a new isolate accepts', () => {
    const made = planBootstrap(ivm);
    const isolate = new ivm.Isolate({ memoryLimit: 32 });
    isolates.push(isolate);
    const script = isolate.compileScriptSync(made.source, {
      filename: BOOTSTRAP_FILENAME,
      ...(made.cachedData ? { cachedData: made.cachedData } : {}),
    }) as ivm.Script & { cachedDataRejected?: boolean };
    expect(made.cachedData).toBeDefined();
    expect(script.cachedDataRejected).toBe(false);
    // The cache was made after the exercise ran init, construct and call: larger than the cache
    // of a bare compile, which holds only the top-level code.
    const bare = isolate.compileScriptSync(made.source + ' ', { produceCachedData: true }) as ivm.Script & {
      cachedData?: ivm.ExternalCopy<ArrayBuffer>;
    };
    expect(made.cachedData!.copy().byteLength).toBeGreaterThan(bare.cachedData!.copy().byteLength);
  });

  it('the audit sees an object a plan misses, so such a plan is never used', () => {
    const [roots, links, keys] = recordedPlan();
    const shorter = withFreezePlan(JSON.stringify([roots, links.slice(0, -5), keys.slice(0, -5)]));
    expect(bootstrapped(shorter).applySync(undefined, ['audit'])).toBeGreaterThan(0);
  });

  it('falls back to the full walk in a context the plan does not fit', () => {
    const [roots, links, keys] = recordedPlan();
    // Step 1 now reads a number (a function's length) where the plan expects an object.
    const i = links.findIndex((link) => link >= 0 && (link & 3) === 0);
    const wrongKeys = keys.slice();
    wrongKeys[i] = 'length';
    const misfit = withFreezePlan(JSON.stringify([roots, links, wrongKeys]));
    expect(bootstrapped(misfit).applySync(undefined, ['audit'])).toBe(0);
    // A plan for another number of roots is refused as a whole, with the same fallback.
    const otherRoots = withFreezePlan(JSON.stringify([roots + 1, links, keys]));
    expect(bootstrapped(otherRoots).applySync(undefined, ['audit'])).toBe(0);
  });

  it('puts only re-encoded numbers and strings into the source, and refuses a malformed plan', () => {
    const [roots, links, keys] = recordedPlan();
    const quoted = keys.slice();
    quoted[0] = "'); globalThis.pwned = 1; ('";
    expect(withFreezePlan(JSON.stringify([roots, links, quoted]))).toContain(JSON.stringify(quoted[0]));
    for (const bad of [
      'not json',
      JSON.stringify({ roots, links, keys }),
      JSON.stringify([roots, links, keys.slice(1)]),
      JSON.stringify([roots, [0, ...links.slice(1)], keys]),
      JSON.stringify([roots, [-roots - 1, ...links.slice(1)], keys]),
      JSON.stringify([roots, links, [1, ...keys.slice(1)]]),
      JSON.stringify([0, links, keys]),
    ]) {
      expect(() => withFreezePlan(bad), bad.slice(0, 40)).toThrow(TypeError);
    }
  });

  it('gives out a plan only before init, never once tenant code may have run', () => {
    const control = bootstrapped(BOOTSTRAP_SOURCE);
    control.applySync(undefined, ['init', META, [], []], { arguments: { copy: true } });
    expect(control.applySync(undefined, ['plan'])).toBeNull();
    expect(control.applySync(undefined, ['audit'])).toBe(-1);
  });

  it("is what the context pool's isolates compile", async () => {
    const pool = new ContextPool({ ivm, onBridge: () => {}, onCatastrophicError: () => {} });
    expect(pool.bootstrapPlan.planned).toBe(true);
    const entry = pool.isolateFor(1, 32);
    isolates.push(entry.isolate);
    const taken = await pool.takeContext(entry, 1, 5000);
    expect(await taken.control.apply(undefined, ['audit'])).toBe(0);
    expect(await taken.context.eval('Object.isFrozen(Array.prototype) && Object.isFrozen(Object)')).toBe(
      true,
    );
  });
});
