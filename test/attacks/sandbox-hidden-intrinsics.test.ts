/**
 * Intrinsics no property path from the global object reaches: the Intl segments and segment
 * iterator prototypes (only through a result of segment()), and V8's stack accessor (an own
 * property of each error instance). Stopped by the sandbox bootstrap: they are roots of the
 * hardening walk (hiddenIntrinsics), so the freeze plan covers them too.
 */
import ivm from 'isolated-vm';
import { afterAll, describe, expect, it } from 'vitest';
import { ContextPool } from '../../src/sandbox/context-pool.ts';

const pool = new ContextPool({ ivm, onBridge: () => {}, onCatastrophicError: () => {} });
afterAll(() => {
  pool.drop(1);
  pool.spareIsolate?.isolate.dispose();
});

const PROBES: [string, string, string][] = [
  ['%SegmentsPrototype%', "Object.getPrototypeOf(new Intl.Segmenter().segment('a b'))", 'object'],
  [
    '%SegmentIteratorPrototype%',
    "Object.getPrototypeOf(new Intl.Segmenter().segment('a b')[Symbol.iterator]())",
    'object',
  ],
  ["the stack accessor's getter", "Object.getOwnPropertyDescriptor(new Error('x'), 'stack').get", 'function'],
  ["the stack accessor's setter", "Object.getOwnPropertyDescriptor(new Error('x'), 'stack').set", 'function'],
];

describe('when tenant code reaches an intrinsic only through a result (layer: sandbox bootstrap)', () => {
  it.each(PROBES)('finds %s frozen, so it cannot be poisoned', async (_name, expression, kind) => {
    expect(pool.bootstrapPlan.planned).toBe(true);
    const entry = pool.isolateFor(1, 32);
    const taken = await pool.takeContext(entry, Math.floor(Math.random() * 1e9), 5000);
    const verdict = await taken.context.eval(`(() => {
      const target = ${expression};
      try { target.poisoned = 1; Object.setPrototypeOf(target, null); } catch (e) { /* refused */ }
      return JSON.stringify([typeof target, Object.isFrozen(target), target.poisoned === undefined]);
    })()`);
    expect(verdict).toBe(JSON.stringify([kind, true, true]));
    taken.context.release();
  });
});
