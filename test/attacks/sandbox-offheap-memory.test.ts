/**
 * Memory that V8 keeps outside the isolate's counted heap, against the sandbox layer alone: every
 * way to hold it must run into memoryLimit (SandboxError ERR_MEMORY_LIMIT, isolate disposed), not
 * grow the worker without bound. Where a title claims a bound, the worker's resident memory is read
 * from /proc.
 */
import { readFileSync } from 'node:fs';
import { afterAll, describe, expect, it } from 'vitest';
import { createSupervisor, type SandboxedComponent } from '../../src/sandbox/supervisor.ts';
import { cls, expectCode, spec, TEST_LIMITS } from '../sandbox/helpers.ts';

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

const MEMORY_LIMIT = { name: 'SandboxError', code: 'ERR_MEMORY_LIMIT' };

/** Resident memory of the (only) worker, in MiB, from /proc. */
function workerRssMb(): number {
  const [pid] = supervisor.stats().pids;
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  return Number(/VmRSS:\s+(\d+) kB/.exec(status)![1]) / 1024;
}

/**
 * Calls `method` up to `calls` times, stopping at the first error; returns that outcome and how
 * much the worker's resident memory grew meanwhile. The isolate's limit is 32 MiB (TEST_LIMITS).
 */
async function attackGrowth(c: SandboxedComponent, method: string, calls: number) {
  const before = workerRssMb();
  let peak = before;
  let last: unknown;
  for (let i = 0; i < calls; i++) {
    last = await outcome(c.call(method));
    if (supervisor.stats().pids.length > 0) peak = Math.max(peak, workerRssMb());
    if (!('ok' in (last as object))) break;
  }
  return { last, growthMb: peak - before };
}

describe('when a resizable ArrayBuffer holds memory outside memoryLimit (layer: sandbox)', () => {
  it('refuses 64 MiB of resizable buffer under a 32 MiB limit, by every constructor path', async () => {
    const c = await load(`
      direct() { const b = new ArrayBuffer(0, { maxByteLength: 2 ** 30 }); b.resize(64 * 1024 * 1024); return b.byteLength; }
      viaConstructor() { const AB = new Uint8Array(1).buffer.constructor; return new AB(64 * 1024 * 1024, { maxByteLength: 2 ** 30 }).byteLength; }
      viaReflect() { return Reflect.construct(ArrayBuffer, [64 * 1024 * 1024, { maxByteLength: 2 ** 30 }]).byteLength; }
      viaSubclass() { class X extends ArrayBuffer {} return new X(64 * 1024 * 1024, { maxByteLength: 2 ** 30 }).byteLength; }`);
    // The wrapper refuses maxByteLength with a TypeError inside the component.
    for (const method of ['direct', 'viaConstructor', 'viaReflect', 'viaSubclass']) {
      expect(await outcome(c.call(method))).toEqual({ name: 'ComponentError', code: 'ERR_COMPONENT_THREW' });
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
      expect(await outcome(c.call(method))).toEqual(MEMORY_LIMIT);
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

// ~1 Mi UTF-16 units: each Segmenter copy of it is ~2.2 MiB outside the heap (charged 3 MiB).
const TEXT = `'ab '.repeat(349526)`;
const KEEPER = `
  constructor(params, context) { super(params, context); this.kept = []; }
  segments() { const s = ${TEXT}; const seg = new Intl.Segmenter('en', { granularity: 'word' });
    for (let i = 0; i < 4; i++) this.kept.push(seg.segment(s)); return this.kept.length; }
  iterators() { this.segs ??= new Intl.Segmenter('en').segment(${TEXT});
    for (let i = 0; i < 4; i++) this.kept.push(this.segs[Symbol.iterator]()); return this.kept.length; }
  caught() { const s = ${TEXT}; const seg = new Intl.Segmenter('en');
    try { for (let i = 0; i < 40; i++) this.kept.push(seg.segment(s)); } catch { return 'caught'; } return 'kept'; }
  async later() { await null; return this.caught(); }`;

describe('when Intl.Segmenter keeps copies of a long text off the heap (ballast per UTF-16 unit)', () => {
  it('throws ERR_MEMORY_LIMIT for segments kept across calls; the worker grows < 4 × memoryMb', async () => {
    const c = await load(KEEPER);
    // Without the charge: ~9 MiB more per call, 24 calls, no error (+1.3 GB in the report's run).
    const { last, growthMb } = await attackGrowth(c, 'segments', 24);
    expect(last).toEqual(MEMORY_LIMIT);
    expect(growthMb).toBeLessThan(4 * TEST_LIMITS.memoryMb);
  });

  it('throws ERR_MEMORY_LIMIT for iterators over one segmented text; the worker grows < 4 × memoryMb', async () => {
    const c = await load(KEEPER);
    const { last, growthMb } = await attackGrowth(c, 'iterators', 24);
    expect(last).toEqual(MEMORY_LIMIT);
    expect(growthMb).toBeLessThan(4 * TEST_LIMITS.memoryMb);
  });

  it('throws ERR_MEMORY_LIMIT even when the component catches the refusal (sync and async)', async () => {
    const c = await load(KEEPER);
    expect(await outcome(c.call('caught'))).toEqual(MEMORY_LIMIT);
    expect(await outcome(c.call('later'))).toEqual(MEMORY_LIMIT);
    // The isolate was disposed; the component is re-instantiated on its next call.
    expect(await c.call('segments')).toBe(4);
  });

  it('throws ERR_MEMORY_LIMIT when the top-level code keeps them (load)', async () => {
    const source = `const kept = []; const s = ${TEXT}; const seg = new Intl.Segmenter('en');
      for (let i = 0; i < 40; i++) { try { kept.push(seg.segment(s)); } catch {} }
      ${cls('go() { return kept.length; }')}`;
    await expectCode(
      supervisor.instantiate(spec(source, { limits: { callTimeoutMs: 3000 } })),
      'SandboxError',
      'ERR_MEMORY_LIMIT',
    );
  });

  it('keeps segmenting non-string input the way the original does', async () => {
    const c = await load(`go() {
      const seg = new Intl.Segmenter('en');
      let symbol = 'none';
      try { seg.segment(Symbol('x')); } catch (e) { symbol = e.constructor.name; }
      return [[...seg.segment(1234)].length, [...seg.segment({ toString() { return 'ab'; } })].map((x) => x.segment), symbol];
    }`);
    expect(await c.call('go')).toEqual([4, ['a', 'b'], 'TypeError']);
  });

  it('offers neither Intl.v8BreakIterator (adoptText copies every text) nor Temporal (uncharged state)', async () => {
    const c = await load(`go() { return [typeof Intl.v8BreakIterator, typeof globalThis.Temporal]; }`);
    expect(await c.call('go')).toEqual(['undefined', 'undefined']);
  });
});
