/**
 * The part of the bootstrap script (bootstrap.ts) that closes memory memoryLimit does not see and
 * BigInt sources the policy cannot see: the ArrayBuffer wrapper (no resizable buffers), ballast
 * for Intl objects and Segmenter texts, the removal of Temporal, and BigInt gated by the spec.
 *
 * Script text, spliced into the bootstrap's function body in order: it uses the captures made
 * before it (ObjectC's functions, apply, TypeErrorC, StringC, WeakMapC, ...) and defines what later
 * parts use: offHeap (originals that are hardening roots), hiddenIntl (intrinsics reachable only
 * through a result), overLimit and reserve (the memory refusal), bigintAllowed (set by init).
 */
export const OFF_HEAP_SOURCE = String.raw`// ---- memory that memoryLimit does not see ----
const reflectConstruct = Reflect.construct;
const ArrayBufferC = ArrayBuffer, WeakMapC = WeakMap, RangeErrorC = RangeError;
const offHeap = [ArrayBufferC];
// Intrinsics no property path from the global object reaches (hiddenIntrinsics adds them).
const hiddenIntl = [];
// Set once an allocation is refused for memoryLimit; from then on every answer of this context is
// TAG.memory, and the worker disposes the isolate with ERR_MEMORY_LIMIT.
// Defends against a tenant catching V8's RangeError ("Array buffer allocation failed") and
// carrying on as if nothing happened: the refusal is final for the isolate, whatever the tenant
// catches (a loop after the catch still ends at the isolate timeout).
let overLimit = false;
function isAllocationFailure(e) {
  return e instanceof RangeErrorC && e.message === 'Array buffer allocation failed';
}
function reserve(bytes) {
  try {
    return new ArrayBufferC(bytes);
  } catch (e) {
    if (isAllocationFailure(e)) overLimit = true;
    throw e;
  }
}
function copyArgs(list) { const out = []; for (let i = 0; i < list.length; i++) out[i] = list[i]; return out; }
function wrapConstructor(Original, make) {
  const Wrapper = function () { return make(copyArgs(arguments), new.target); };
  defineProperty(Wrapper, 'name', { value: Original.name, configurable: true });
  defineProperty(Wrapper, 'length', { value: Original.length, configurable: true });
  const statics = ownKeys(Original);
  for (let i = 0; i < statics.length; i++) {
    const k = statics[i];
    if (k === 'name' || k === 'length' || k === 'caller' || k === 'arguments') continue;
    defineProperty(Wrapper, k, getOwnPropertyDescriptor(Original, k));
  }
  const d = getOwnPropertyDescriptor(Original.prototype, 'constructor');
  defineProperty(Original.prototype, 'constructor', { value: Wrapper, writable: d.writable, enumerable: d.enumerable, configurable: d.configurable });
  return Wrapper;
}
// Defends against memory outside memoryLimit: a resizable ArrayBuffer reserves and commits its pages
// outside isolated-vm's allocator (measured: 600 MB resident under a 32 MB limit, growing per
// call). The maxByteLength option is refused, so every buffer goes through the counted allocator.
defineProperty(g, 'ArrayBuffer', {
  value: wrapConstructor(ArrayBufferC, function (args, newTarget) {
    if (newTarget === undefined) throw new TypeErrorC("Constructor ArrayBuffer requires 'new'");
    const options = args[1];
    if (options !== null && typeof options === 'object' && options.maxByteLength !== undefined) {
      throw new TypeErrorC('resizable ArrayBuffers are disabled in the sandbox (their memory is not limited)');
    }
    try {
      return reflectConstruct(ArrayBufferC, [args[0]], newTarget);
    } catch (e) {
      if (isAllocationFailure(e)) overLimit = true;
      throw e;
    }
  }),
  writable: true, enumerable: false, configurable: true,
});
// Defends against memory outside memoryLimit: Intl objects keep their ICU state off the V8 heap
// (measured: DateTimeFormat ~29 KB, Segmenter ~5 KB, others 1-3 KB each; 2.7 GB resident under a
// 32 MB limit). Each one is charged a counted ArrayBuffer larger than that state, held only as long
// as the object lives, so memoryLimit bounds live Intl objects (and GC reclaims both together).
const ICU_BALLAST_BYTES = 32 * 1024;
// Defends against text copied off the heap: Segmenter#segment and each iterator over its segments
// keep their own UTF-16 copy of the text plus ICU break state (measured: 2.2 bytes per UTF-16 unit,
// +165 MB of worker memory per call for 20 segment() calls on one 4 Mi-character string, with no
// error under a 64 MB limit). They are charged 3 bytes per unit on top of the fixed ballast, and
// the ballast is reserved before the copy is made, so a refusal leaves nothing behind.
const ICU_BYTES_PER_UNIT = 3;
const ballast = new WeakMapC();
const textUnits = new WeakMapC();
function keep(o, charge) {
  if (o !== null && typeof o === 'object') ballast.set(o, charge);
  return o;
}
if (typeof g.Intl === 'object' && g.Intl !== null) {
  const intl = g.Intl;
  // Defends against off-heap text copies and a non-standard surface: v8BreakIterator#adoptText
  // keeps a UTF-16 copy of each adopted text (measured: +9.2 MB per adoptText of a 4 Mi-character
  // string, also on one reused iterator). It is V8-only, not ECMAScript; Intl.Segmenter does the job.
  delete intl.v8BreakIterator;
  const names = getOwnPropertyNames(intl);
  for (let i = 0; i < names.length; i++) {
    const Original = intl[names[i]];
    if (typeof Original !== 'function' || Original.prototype === undefined) continue;
    offHeap.push(Original);
    defineProperty(intl, names[i], {
      value: wrapConstructor(Original, function (args, newTarget) {
        const charge = reserve(ICU_BALLAST_BYTES);
        return keep(newTarget === undefined ? apply(Original, undefined, args) : reflectConstruct(Original, args, newTarget), charge);
      }),
      writable: true, enumerable: false, configurable: true,
    });
  }
  const replaceMethod = function (proto, key, make) {
    const d = getOwnPropertyDescriptor(proto, key);
    const method = d.value;
    offHeap.push(method);
    defineProperty(proto, key, { value: make(method), writable: d.writable, enumerable: d.enumerable, configurable: d.configurable });
  };
  if (typeof intl.Segmenter === 'function') {
    const emptySegments = new intl.Segmenter().segment('');
    const segmentsProto = getPrototypeOf(emptySegments);
    // %SegmentsPrototype% and %SegmentIteratorPrototype%: reachable only through a result.
    hiddenIntl.push(segmentsProto, getPrototypeOf(emptySegments[Symbol.iterator]()));
    // A method, not a constructor (like the original): shorthand syntax has no [[Construct]].
    replaceMethod(intl.Segmenter.prototype, 'segment', function (method) {
      return { segment(text) {
        // ToString once, here, so the length charged is the length segmented (a Symbol is passed
        // through: the original throws its own TypeError).
        const s = typeof text === 'string' || typeof text === 'symbol' ? text : StringC(text);
        const units = typeof s === 'string' ? s.length : 0;
        const charge = reserve(ICU_BALLAST_BYTES + ICU_BYTES_PER_UNIT * units);
        const segments = keep(apply(method, this, [s]), charge);
        textUnits.set(segments, units);
        return segments;
      } }.segment;
    });
    replaceMethod(segmentsProto, Symbol.iterator, function (method) {
      return { [Symbol.iterator]() {
        const units = textUnits.get(this);
        const charge = reserve(ICU_BALLAST_BYTES + ICU_BYTES_PER_UNIT * (units === undefined ? 0 : units));
        return keep(apply(method, this, []), charge);
      } }[Symbol.iterator];
    });
  }
}
// Defends against off-heap state nothing charges and a BigInt source the policy cannot see:
// Temporal objects keep their fields outside the V8 heap (measured: ~0.4 KB resident per object
// for ~0.07 KB counted), and Temporal.Instant#epochNanoseconds makes BigInts. Not in the ES2024
// language the policy parses; removed until someone needs it and charges it.
delete g.Temporal;
// ---- BigInt: only for components whose spec allows it ----
// Defends against BigInt work that ignores the isolate timeout (measured: 7n ** 12000000n runs
// 1.8 s under a 200 ms timeout, String() of a 2.8 Mbit BigInt 0.7 s, and it keeps running after the
// isolate is disposed; operators cannot be wrapped, so sizes cannot be capped). The policy refuses
// BigInt literals and the BigInt globals unless the tenant is granted them (rule syntax.bigint);
// these are the ways to make a BigInt that no AST check sees (DataView#getBigInt64 on any DataView,
// elements of BigInt typed arrays), refused at run time unless init says the spec allows BigInt.
// What this does not defend against: a BigInt literal in a source nobody checked (the sandbox has
// no parser); a granted tenant can still stall its own isolate past its timeout.
let bigintAllowed = false;
function assertBigInt(what) {
  if (!bigintAllowed) throw new TypeErrorC(what + ' is disabled in the sandbox (BigInt is not granted)');
}
{
  const BigIntC = g.BigInt;
  offHeap.push(BigIntC);
  const BigIntWrapper = wrapConstructor(BigIntC, function (args, newTarget) {
    if (newTarget !== undefined) throw new TypeErrorC('BigInt is not a constructor');
    assertBigInt('BigInt()');
    return apply(BigIntC, undefined, args);
  });
  defineProperty(g, 'BigInt', { value: BigIntWrapper, writable: true, enumerable: false, configurable: true });
  const typed = ['BigInt64Array', 'BigUint64Array'];
  for (let i = 0; i < typed.length; i++) {
    const Original = g[typed[i]];
    offHeap.push(Original);
    defineProperty(g, typed[i], {
      value: wrapConstructor(Original, function (args, newTarget) {
        if (newTarget === undefined) throw new TypeErrorC("Constructor " + typed[i] + " requires 'new'");
        assertBigInt(typed[i]);
        return reflectConstruct(Original, args, newTarget);
      }),
      writable: true, enumerable: false, configurable: true,
    });
  }
  const dataView = g.DataView.prototype;
  const getters = ['getBigInt64', 'getBigUint64'];
  for (let i = 0; i < getters.length; i++) {
    const d = getOwnPropertyDescriptor(dataView, getters[i]);
    const method = d.value;
    offHeap.push(method);
    const name = getters[i];
    const wrapped = { [name](...args) { assertBigInt('DataView#' + name); return apply(method, this, args); } }[name];
    defineProperty(dataView, name, { value: wrapped, writable: d.writable, enumerable: d.enumerable, configurable: d.configurable });
  }
}`;
