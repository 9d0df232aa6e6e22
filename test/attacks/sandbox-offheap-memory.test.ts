/**
 * Memory that V8 keeps outside the isolate's counted heap, against the sandbox layer alone: every
 * way to hold it must run into memoryLimit (typed error), not grow the worker without bound.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { createSupervisor, type SandboxedComponent } from '../../src/sandbox/supervisor.ts';
import { cls, spec } from '../sandbox/helpers.ts';

const supervisor = createSupervisor({ workers: 1 });
afterAll(() => supervisor.close());

// 32 MiB memory limit (TEST_LIMITS); a generous deadline so the allocation, not the clock, decides.
async function load(body: string): Promise<SandboxedComponent> {
  return supervisor.instantiate(spec(cls(body), { limits: { callTimeoutMs: 3000 } }));
}

async function outcome(promise: Promise<unknown>): Promise<unknown> {
  try {
    return { ok: await promise };
  } catch (error) {
    return { name: (error as Error).name, code: (error as { code?: string }).code };
  }
}

const TYPED = [
  { name: 'ComponentError', code: 'ERR_COMPONENT_THREW' },
  { name: 'SandboxError', code: 'ERR_MEMORY_LIMIT' },
];

describe('when a resizable ArrayBuffer holds memory outside memoryLimit (layer: sandbox)', () => {
  it('refuses 64 MiB of resizable buffer under a 32 MiB limit, by every constructor path', async () => {
    const c = await load(`
      direct() { const b = new ArrayBuffer(0, { maxByteLength: 2 ** 30 }); b.resize(64 * 1024 * 1024); return b.byteLength; }
      viaConstructor() { const AB = new Uint8Array(1).buffer.constructor; return new AB(64 * 1024 * 1024, { maxByteLength: 2 ** 30 }).byteLength; }
      viaReflect() { return Reflect.construct(ArrayBuffer, [64 * 1024 * 1024, { maxByteLength: 2 ** 30 }]).byteLength; }
      viaSubclass() { class X extends ArrayBuffer {} return new X(64 * 1024 * 1024, { maxByteLength: 2 ** 30 }).byteLength; }`);
    for (const method of ['direct', 'viaConstructor', 'viaReflect', 'viaSubclass']) {
      expect(TYPED).toContainEqual(await outcome(c.call(method)));
    }
  });

  it('keeps fixed-length ArrayBuffers, subclasses and isView working', async () => {
    const c = await load(`go() {
      class X extends ArrayBuffer {}
      const b = new ArrayBuffer(8, {});
      return [b.byteLength, b.resizable, b instanceof ArrayBuffer, new X(4) instanceof X, b.constructor === ArrayBuffer,
        ArrayBuffer.isView(new Uint8Array(1)), b.slice(2).byteLength, Object.isFrozen(ArrayBuffer)];
    }`);
    expect(await c.call('go')).toEqual([8, false, true, true, true, true, 6, true]);
  });
});

describe('when Intl objects hold ICU memory outside memoryLimit (layer: sandbox)', () => {
  it('stops a tenant keeping thousands of DateTimeFormat or Segmenter objects alive', async () => {
    const c = await load(`
      formats() { const keep = []; for (let i = 0; i < 4000; i++) keep.push(new Intl.DateTimeFormat(['en', 'de', 'ja'][i % 3], { dateStyle: 'full' })); return keep.length; }
      legacy() { const keep = []; for (let i = 0; i < 4000; i++) keep.push(Intl.DateTimeFormat('fr', { dateStyle: 'full' })); return keep.length; }
      segments() { const keep = []; for (let i = 0; i < 8000; i++) keep.push(new Intl.Segmenter('en', { granularity: 'word' }).segment('a b')[Symbol.iterator]()); return keep.length; }`);
    for (const method of ['formats', 'legacy', 'segments']) {
      expect(TYPED).toContainEqual(await outcome(c.call(method)));
    }
  });

  it('keeps ordinary Intl use working (short-lived objects are collected)', async () => {
    const c = await load(`go() {
      let n = 0;
      for (let i = 0; i < 3000; i++) n += new Intl.NumberFormat('de').format(i).length;
      const words = [...new Intl.Segmenter('en', { granularity: 'word' }).segment('hello big world')]
        .filter((s) => s.isWordLike).map((s) => s.segment);
      return [n > 0, words, new Intl.NumberFormat('de', { style: 'currency', currency: 'EUR' }).format(1.5),
        Intl.DateTimeFormat('en', { timeZone: 'UTC' }).format(0), new Intl.Collator('de') instanceof Intl.Collator,
        Intl.Collator.name, Object.isFrozen(Intl.Collator)];
    }`);
    expect(await c.call('go')).toEqual([
      true,
      ['hello', 'big', 'world'],
      new Intl.NumberFormat('de', { style: 'currency', currency: 'EUR' }).format(1.5),
      '1/1/1970',
      true,
      'Collator',
      true,
    ]);
  });
});
