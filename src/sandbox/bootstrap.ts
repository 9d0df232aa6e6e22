/**
 * The context bootstrap: script text that runs in every fresh context before tenant code.
 *
 * Two parts. Running the script is the tenant-agnostic part: it captures the host bridge (an
 * isolated-vm Callback placed on the global object by the worker) into its closure and deletes it
 * from the global object; removes WebAssembly, SharedArrayBuffer, Atomics and eval; neuters the
 * four Function constructors; freezes every intrinsic reachable from the global object. A worker
 * may run it ahead of time (a spare context). `control('init', ...)`, once, right before the
 * tenant script, is the per-component part: it defines the frozen `Component` base with the
 * component's identity, params, artifacts and granted capability stubs, all deep-frozen.
 * The script's completion value is one `control(op, ...)` function that only the worker holds a
 * Reference to.
 *
 * What it does not defend against: bugs in V8 or isolated-vm themselves. The worker process (no
 * environment, killed and replaced on trouble) is the boundary behind it.
 */

/** Filename of the bootstrap's frames (filtered out of component stacks). */
export const BOOTSTRAP_FILENAME = 'sealbox:bootstrap';

/** Name of the global the worker sets to the bridge Callback before running the bootstrap. */
export const BRIDGE_GLOBAL = '__sealbox_bridge';

/** Result tags of control('construct'|'call'): first character of the returned string. */
export const TAG = Object.freeze({
  result: 'R',
  error: 'E',
  refused: 'D',
  invalid: 'V',
  async: 'A',
  missing: 'M',
  /** An allocation was refused for memoryLimit: the worker disposes the isolate (ERR_MEMORY_LIMIT). */
  memory: 'L',
});

// Plain script text (no template substitutions); runs in strict mode inside the isolate.
export const BOOTSTRAP_SOURCE = String.raw`(function () {
'use strict';
const g = globalThis;
const bridge = g.__sealbox_bridge;
// Defends against tenant code calling the host bridge: it lives only in this closure from here on.
delete g.__sealbox_bridge;
if (typeof bridge !== 'function') throw new TypeError('sealbox bootstrap: no bridge');

const ObjectC = Object, ArrayC = Array, MapC = Map, WeakSetC = WeakSet, PromiseC = Promise, ErrorC = Error;
const TypeErrorC = TypeError, U8 = Uint8Array, StringC = String;
const RegExpC = RegExp, RegExpProto = RegExp.prototype, SymbolC = Symbol;
const freeze = ObjectC.freeze, isFrozen = ObjectC.isFrozen, defineProperty = ObjectC.defineProperty;
const getOwnPropertyNames = ObjectC.getOwnPropertyNames, getOwnPropertyDescriptor = ObjectC.getOwnPropertyDescriptor;
const getPrototypeOf = ObjectC.getPrototypeOf, objectKeys = ObjectC.keys, create = ObjectC.create;
const ownKeys = Reflect.ownKeys, apply = Reflect.apply;
const isArray = ArrayC.isArray, isFinite = Number.isFinite;
const jsonParse = JSON.parse, jsonStringify = JSON.stringify;
const decodeURIComponentC = decodeURIComponent;
const DROPPED = new MapC([['__proto__', 1], ['constructor', 1], ['prototype', 1]]);

// Defends against unmetered memory and shared memory with the host: wasm memory is not counted by
// memoryLimit, and SharedArrayBuffer/Atomics would allow shared-memory races.
delete g.WebAssembly;
delete g.SharedArrayBuffer;
delete g.Atomics;
// Only ECMAScript built-ins: V8's console is host plumbing (inspector), not part of the contract.
delete g.console;
// Defends against code generation from strings (policy bypass by building source at run time).
delete g.eval;

// ---- memory that memoryLimit does not see ----
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
}

const disabled = function Function() { throw new TypeErrorC('code generation from strings is disabled in the sandbox'); };
const fnProtos = [
  getPrototypeOf(function () {}),
  getPrototypeOf(async function () {}),
  getPrototypeOf(function* () {}),
  getPrototypeOf(async function* () {}),
];
for (let i = 0; i < fnProtos.length; i++) {
  const fake = function () { throw new TypeErrorC('code generation from strings is disabled in the sandbox'); };
  defineProperty(fake, 'prototype', { value: fnProtos[i], writable: false, enumerable: false, configurable: false });
  // Defends against reaching the Function constructors through fn.constructor.
  defineProperty(fnProtos[i], 'constructor', { value: i === 0 ? disabled : fake, writable: false, enumerable: false, configurable: false });
}
defineProperty(disabled, 'prototype', { value: fnProtos[0], writable: false, enumerable: false, configurable: false });
defineProperty(g, 'Function', { value: disabled, writable: false, enumerable: false, configurable: false });

// ---- JSON copies inside the isolate ----
const limitErrors = new WeakSetC();
function limit(message) { const e = new ErrorC(message); limitErrors.add(e); return e; }
function serialize(root, maxLen, maxDepth, what) {
  const parts = [];
  let size = 0;
  function put(s) {
    size += s.length;
    // Defends against huge results: stop before building more than the budget.
    if (size > maxLen) throw limit(what + ' is larger than ' + maxLen + ' bytes');
    parts[parts.length] = s;
  }
  function walk(v, depth, inArray) {
    if (v !== null && typeof v === 'object') {
      const toJSON = v.toJSON;
      if (typeof toJSON === 'function') v = apply(toJSON, v, []);
    }
    switch (typeof v) {
      case 'string': put(jsonStringify(v)); return true;
      case 'number': put(isFinite(v) ? jsonStringify(v) : 'null'); return true;
      case 'boolean': put(v ? 'true' : 'false'); return true;
      case 'bigint': throw limit(what + ' contains a BigInt, which is not JSON');
      case 'object': break;
      default: if (inArray) { put('null'); return true; } return false;
    }
    if (v === null) { put('null'); return true; }
    // Defends against cycles and stack exhaustion: depth is capped before descending.
    if (depth >= maxDepth) throw limit(what + ' is nested deeper than ' + maxDepth);
    if (isArray(v)) {
      const n = v.length;
      put('[');
      for (let i = 0; i < n; i++) { if (i > 0) put(','); walk(v[i], depth + 1, true); }
      put(']');
      return true;
    }
    const keys = objectKeys(v);
    put('{');
    let first = true;
    for (let i = 0; i < keys.length; i++) {
      const k = keys[i];
      // Defends against prototype poisoning downstream: these keys never leave the isolate.
      if (DROPPED.has(k)) continue;
      const item = v[k];
      const mark = parts.length, markSize = size;
      if (!first) put(',');
      put(jsonStringify(k));
      put(':');
      if (walk(item, depth + 1, false)) first = false;
      else { parts.length = mark; size = markSize; }
    }
    put('}');
    return true;
  }
  if (!walk(root, 0, false)) return 'null';
  return parts.join('');
}
function deepFreeze(v) {
  if (v !== null && typeof v === 'object' && !isFrozen(v)) {
    freeze(v);
    const keys = objectKeys(v);
    for (let i = 0; i < keys.length; i++) deepFreeze(v[keys[i]]);
  }
  return v;
}
function parseClean(text) {
  return jsonParse(text, function (k, v) { return DROPPED.has(k) ? undefined : v; });
}

// ---- errors leaving the isolate ----
const refusals = new WeakSetC();
function describe(e) {
  let message = 'the component threw a non-Error value';
  let stack = '';
  let code = '';
  try {
    if (e !== null && (typeof e === 'object' || typeof e === 'function')) {
      const m = e.message;
      if (typeof m === 'string') message = m;
      const s = e.stack;
      if (typeof s === 'string') stack = s;
      if (refusals.has(e)) code = e.code;
    } else if (typeof e === 'string') {
      message = e;
    } else {
      message = 'the component threw a ' + typeof e;
    }
  } catch (_) {
    message = 'the component threw an unreadable value';
    stack = '';
  }
  const body = jsonStringify({ message: StringC(message).slice(0, 4096), stack: StringC(stack).slice(0, 16384), code: code });
  if (code !== '') return 'D' + body;
  if (limitErrors.has(e)) return 'V' + body;
  return 'E' + body;
}

// ---- state of this context ----
let meta = null;
let identityParams = null;
let instance = null;
const methods = new MapC();
const pending = new MapC();
let nextRequest = 0;

function capCall(cap, method, args) {
  let text;
  try {
    text = serialize(args, meta.maxArgBytes, meta.maxJsonDepth, 'capability arguments');
  } catch (e) {
    if (!limitErrors.has(e)) return PromiseC.reject(e);
    return PromiseC.reject(refusal('ERR_ARGS_INVALID', e.message));
  }
  // Defends against a capability flood starving the worker's event loop (measured: a 900 ms loop of
  // un-awaited calls queued millions of bridge messages, the worker missed its timers and was
  // killed, failing another tenant's call): at most maxCapabilityCalls requests are in flight per
  // context; the host would refuse the excess anyway (per-invocation quota).
  if (pending.size >= meta.maxCapabilityCalls) {
    return PromiseC.reject(refusal('ERR_QUOTA_EXCEEDED', 'more than ' + meta.maxCapabilityCalls + ' capability calls in flight'));
  }
  return new PromiseC(function (resolve, reject) {
    const id = ++nextRequest;
    pending.set(id, { resolve: resolve, reject: reject });
    bridge('cap', id, cap, method, text);
  });
}
function makeHost(caps) {
  const host = create(null);
  const names = objectKeys(caps);
  for (let i = 0; i < names.length; i++) {
    const cap = names[i];
    const list = caps[cap];
    const makeStub = function (method) {
      return function () {
        const args = [];
        for (let j = 0; j < arguments.length; j++) args[j] = arguments[j];
        while (args.length > 0 && args[args.length - 1] === undefined) args.length--;
        return capCall(cap, method, args);
      };
    };
    if (list.length === 1 && list[0] === cap) {
      host[cap] = freeze(makeStub(cap));
    } else {
      const obj = create(null);
      for (let j = 0; j < list.length; j++) obj[list[j]] = freeze(makeStub(list[j]));
      host[cap] = freeze(obj);
    }
  }
  return freeze(host);
}

function decodeUtf8(bytes) {
  let s = '';
  for (let i = 0; i < bytes.length; i++) {
    const b = bytes[i];
    s += (b < 16 ? '%0' : '%') + b.toString(16);
  }
  try { return decodeURIComponentC(s); } catch (_) { throw new TypeErrorC('artifact is not valid UTF-8'); }
}

// ---- intrinsics hardening ----
// plan: null, or lists to record how the walk first reached each object (see FREEZE_PLAN).
function harden(roots, seen, plan) {
  const queue = roots.slice();
  const from = [], via = [];
  if (plan !== null) for (let i = 0; i < roots.length; i++) { from[i] = -(i + 1); via[i] = ''; }
  function reach(v, link, key) {
    queue[queue.length] = v;
    if (plan !== null) { from[from.length] = link; via[via.length] = planKey(plan, key); }
  }
  while (queue.length > 0) {
    const o = queue.pop();
    const link = plan !== null ? from.pop() : 0;
    const key = plan !== null ? via.pop() : '';
    if (o === null || (typeof o !== 'object' && typeof o !== 'function') || seen.has(o)) continue;
    seen.add(o);
    const index = plan !== null ? plan.links.length : 0;
    if (plan !== null) { plan.links[index] = link; plan.keys[index] = key; }
    // Policy: RegExp and RegExp.prototype stay unfrozen. V8 takes its fast paths for split, replace,
    // match, matchAll and search only while RegExp.prototype keeps its initial shape, and freezing
    // it made regex-heavy methods 10-20x slower (measured: bench compute-bm25, .probe in
    // docs/performance.md). What this gives up: tenant code can redefine RegExp.prototype methods
    // in its OWN context. That reaches nothing else: every component has a fresh context with its
    // own intrinsics, no bootstrap code runs a regex operation after tenant code starts (the
    // serializer, Component base and capability stubs use captured JSON/Object functions only),
    // and the host never sees anything but JSON text. Their members (exec, flags getters, ...) are
    // still frozen, since freezing a function object does not change the prototype's shape.
    if (o !== RegExpC && o !== RegExpProto) freeze(o);
    reach(getPrototypeOf(o), index * 4 + 3, '');
    const keys = ownKeys(o);
    for (let i = 0; i < keys.length; i++) {
      const d = getOwnPropertyDescriptor(o, keys[i]);
      if (d === undefined) continue;
      if ('value' in d) reach(d.value, index * 4, keys[i]);
      else { reach(d.get, index * 4 + 1, keys[i]); reach(d.set, index * 4 + 2, keys[i]); }
    }
  }
}
// A property key as the plan spells it: a string, or '@' + the name of a well-known symbol. Any
// other key makes the plan unusable (plan.ok = false), and contexts keep the full walk.
function planKey(plan, key) {
  if (typeof key === 'symbol') {
    const d = key.description;
    if (typeof d === 'string' && d.slice(0, 7) === 'Symbol.' && SymbolC[d.slice(7)] === key) return '@' + d.slice(7);
    plan.ok = false;
    return '';
  }
  if (key.charCodeAt(0) === 64) plan.ok = false;
  return key;
}
// Freezes what the plan lists: each object is reached by the one step that first reached it in
// the recording walk, with no descriptor read per property and no queue (measured: ~4x cheaper).
// Returns false, having frozen only intrinsics, when this context's graph does not match the plan
// (a step lands on a primitive or on an object already seen); the caller then runs the full walk.
function hardenByPlan(plan, roots, seen) {
  if (roots.length !== plan[0]) return false;
  const links = plan[1], keys = plan[2];
  const objects = new ArrayC(links.length);
  for (let i = 0; i < links.length; i++) {
    const link = links[i];
    let o;
    if (link < 0) o = roots[-link - 1];
    else {
      const parent = objects[link >> 2], kind = link & 3;
      if (kind === 3) o = getPrototypeOf(parent);
      else {
        let key = keys[i];
        if (key.charCodeAt(0) === 64) key = SymbolC[key.slice(1)];
        if (kind === 0) o = parent[key];
        else { const d = getOwnPropertyDescriptor(parent, key); o = d === undefined ? undefined : kind === 1 ? d.get : d.set; }
      }
    }
    if (o === null || (typeof o !== 'object' && typeof o !== 'function') || seen.has(o)) return false;
    objects[i] = o;
    seen.add(o);
    if (o !== RegExpC && o !== RegExpProto) freeze(o);
  }
  return true;
}
// Counts what is reachable from roots and not frozen (RegExp and RegExp.prototype excepted): the
// worker audits a plan once, in a context hardened by it, before it trusts the plan.
function unfrozenFrom(roots) {
  const seen = new WeakSetC();
  const queue = roots.slice();
  let unfrozen = 0;
  while (queue.length > 0) {
    const o = queue.pop();
    if (o === null || (typeof o !== 'object' && typeof o !== 'function') || seen.has(o)) continue;
    seen.add(o);
    if (!isFrozen(o) && o !== RegExpC && o !== RegExpProto) unfrozen++;
    queue[queue.length] = getPrototypeOf(o);
    const keys = ownKeys(o);
    for (let i = 0; i < keys.length; i++) {
      const d = getOwnPropertyDescriptor(o, keys[i]);
      if (d === undefined) continue;
      if ('value' in d) queue[queue.length] = d.value;
      else { queue[queue.length] = d.get; queue[queue.length] = d.set; }
    }
  }
  return unfrozen;
}
function hiddenIntrinsics() {
  const list = fnProtos.slice();
  list.push(function* () {}.prototype, async function* () {}.prototype);
  list.push(getPrototypeOf(function* () {}.prototype), getPrototypeOf(async function* () {}.prototype));
  list.push(getPrototypeOf([][Symbol.iterator]()), getPrototypeOf(new MapC()[Symbol.iterator]()));
  list.push(getPrototypeOf(new Set()[Symbol.iterator]()), getPrototypeOf(''[Symbol.iterator]()));
  list.push(getPrototypeOf(/a/[Symbol.matchAll]('a')), getPrototypeOf(Int8Array));
  list.push(getPrototypeOf(getPrototypeOf([][Symbol.iterator]())));
  list.push(getPrototypeOf(getPrototypeOf(async function* () {}.prototype)));
  if (typeof Iterator === 'function' && typeof Iterator.from === 'function') {
    try { list.push(getPrototypeOf(Iterator.from({ next: function () { return { done: true }; } }))); } catch (_) {}
    try { list.push(getPrototypeOf([].values().map(function (x) { return x; }))); } catch (_) {}
  }
  // V8's stack accessor, shared by every error instance (an own property of each, not of a
  // prototype): its getter and setter functions are intrinsics too.
  const stack = getOwnPropertyDescriptor(new ErrorC(''), 'stack');
  if (stack !== undefined && !('value' in stack)) list.push(stack.get, stack.set);
  for (let i = 0; i < hiddenIntl.length; i++) list.push(hiddenIntl[i]);
  return list;
}

// Policy: frozen prototypes break plain assignments that shadow an inherited property (the
// "override mistake": this.name = 'MyError' in an Error subclass, X.prototype.toString = fn,
// P.constructor = D in decimal.js). In strict code such an assignment throws; in sloppy code it
// fails silently and the library computes something else. For the properties below, the
// prototype's data property becomes a getter (same value) plus a setter that defines an own
// property on the receiver, as SES's override taming does; the prototype itself still cannot be
// changed (the setter refuses the prototype as receiver, and the accessor is non-configurable).
// Which properties: everything Object.prototype holds as data (every object inherits it), what
// Error prototypes give instances (name, message, toString, constructor), and the few others real
// libraries assign (Function.prototype.toString/bind, Array.prototype.toString,
// Promise.prototype.constructor). Not Array.prototype.push or iterator methods: V8 keys fast
// paths on those staying data properties.
function overridableProperties() {
  const errors = [Error, TypeError, RangeError, SyntaxError, ReferenceError, EvalError, URIError];
  if (typeof AggregateError === 'function') errors.push(AggregateError);
  const objectNames = getOwnPropertyNames(ObjectC.prototype);
  const targets = [[ObjectC.prototype, objectNames]];
  for (let i = 0; i < errors.length; i++) targets.push([errors[i].prototype, ['name', 'message', 'toString', 'constructor']]);
  targets.push([fnProtos[0], ['toString', 'bind']]);
  targets.push([ArrayC.prototype, ['toString', 'toLocaleString']]);
  targets.push([PromiseC.prototype, ['constructor']]);
  return targets;
}
function enableOverrides() {
  const targets = overridableProperties();
  for (let i = 0; i < targets.length; i++) {
    const proto = targets[i][0];
    const names = targets[i][1];
    for (let j = 0; j < names.length; j++) {
      const name = names[j];
      const d = getOwnPropertyDescriptor(proto, name);
      if (d === undefined || !('value' in d) || !d.writable || !d.configurable) continue;
      const value = d.value;
      defineProperty(proto, name, {
        get: function () { return value; },
        set: function (v) {
          // Defends against changing the intrinsic for everyone through the setter itself.
          if (this === proto) throw new TypeErrorC('Cannot assign to read only property ' + StringC(name) + ' of a frozen prototype');
          defineProperty(this, name, { value: v, writable: true, enumerable: true, configurable: true });
        },
        enumerable: d.enumerable,
        configurable: false,
      });
    }
  }
}

// ---- tenant-agnostic hardening: runs now, before init and before any tenant code ----
// Defends against tenant code redefining built-ins the bootstrap and other code rely on
// (prototype poisoning of Array, Object, Promise, JSON, Error.prepareStackTrace, ...).
enableOverrides();
let hardened = new WeakSetC();
// The freeze plan: null in the source as written (the walk then records one), or, in the source
// the worker compiles after auditing a recorded plan (context-pool.ts), the literal
// [root count, links, keys]: per object in walk order, how it is reached (link < 0: root
// -link-1; otherwise (index of the object it hangs off) * 4 + (0 value, 1 getter, 2 setter,
// 3 prototype)) and the property key. Tenant code has no part in it: it is recorded in a context
// of the worker's own that never runs tenant code.
const FREEZE_PLAN = null; // sealbox:freeze-plan
let recorded = null;
let auditRoots = null;
{
  const roots = hiddenIntrinsics();
  const globals = ownKeys(g);
  for (let i = 0; i < globals.length; i++) {
    const d = getOwnPropertyDescriptor(g, globals[i]);
    if (d !== undefined && 'value' in d && d.value !== g) roots.push(d.value);
  }
  // The unwrapped originals are unreachable from tenant code; frozen all the same.
  for (let i = 0; i < offHeap.length; i++) roots.push(offHeap[i]);
  auditRoots = roots;
  if (FREEZE_PLAN === null) {
    recorded = { ok: true, links: [], keys: [] };
    harden(roots, hardened, recorded);
  } else if (!hardenByPlan(FREEZE_PLAN, roots, hardened)) {
    // Defends against a plan that does not fit this context leaving anything unfrozen: start
    // over with the full walk (what the plan froze stays frozen).
    hardened = new WeakSetC();
    harden(roots, hardened, null);
  }
}

// ---- per-component part: identity, params, artifacts, capability stubs, Component base ----
function init(metaText, artifactNames, artifactBytes) {
  if (meta !== null || hardened === null) throw new TypeErrorC('sealbox bootstrap: init twice');
  const m = jsonParse(metaText);
  const params = deepFreeze(parseClean(m.params));
  identityParams = params;
  const store = new MapC();
  for (let i = 0; i < artifactNames.length; i++) store.set(artifactNames[i], artifactBytes[i]);
  const artifacts = create(null);
  for (let i = 0; i < artifactNames.length; i++) {
    const name = artifactNames[i];
    const bytes = artifactBytes[i];
    // Defends against tenants mutating shared artifact bytes: every access returns a fresh copy.
    defineProperty(artifacts, name, { get: function () { return new U8(bytes); }, enumerable: true, configurable: false });
  }
  freeze(artifacts);
  const host = makeHost(m.caps);
  bigintAllowed = m.bigint === true;
  meta = freeze({ tenant: m.tenant, identifier: m.identifier, version: m.version, maxArgBytes: m.maxArgBytes,
    maxResultBytes: m.maxResultBytes, maxJsonDepth: m.maxJsonDepth, maxCapabilityCalls: m.maxCapabilityCalls });
  const identity = { params: params, artifacts: artifacts, host: host, identifier: m.identifier, version: m.version, tenant: m.tenant };
  const fields = ['params', 'artifacts', 'host', 'identifier', 'version', 'tenant'];
  class Component {
    constructor() {
      for (let i = 0; i < fields.length; i++) {
        defineProperty(this, fields[i], { value: identity[fields[i]], writable: false, enumerable: true, configurable: false });
      }
    }
    artifactText(name) {
      const bytes = store.get(StringC(name));
      if (bytes === undefined) throw new TypeErrorC('no artifact named ' + jsonStringify(StringC(name).slice(0, 64)));
      return decodeUtf8(bytes);
    }
    artifactJson(name) { return jsonParse(this.artifactText(name)); }
  }
  defineProperty(g, 'Component', { value: Component, writable: false, enumerable: false, configurable: false });
  // Defends against tenant code changing its own identity, capability stubs or the Component base:
  // the per-component objects are deep-frozen here; the walk stops at the intrinsics, which the
  // tenant-agnostic part already froze (their set is dropped after this, it is needed only once).
  harden([Component, host, params, artifacts], hardened, null);
  hardened = null;
  return 'ok';
}

function construct(Cls) {
  try {
    if (typeof Cls !== 'function') return 'E' + jsonStringify({ message: 'the entry is not a class', stack: '', code: '' });
    const Base = g.Component;
    const proto = Cls.prototype;
    if (proto === null || typeof proto !== 'object' || !(proto instanceof Base)) {
      return 'E' + jsonStringify({ message: 'the entry class does not extend Component', stack: '', code: '' });
    }
    const names = getOwnPropertyNames(proto);
    const list = [];
    for (let i = 0; i < names.length; i++) {
      const name = names[i];
      if (name === 'constructor') continue;
      const d = getOwnPropertyDescriptor(proto, name);
      // Only own data-property functions: no getters, no inherited or private methods.
      if (d !== undefined && 'value' in d && typeof d.value === 'function') { methods.set(name, d.value); list[list.length] = name; }
    }
    const ctx = freeze({ tenant: meta.tenant, identifier: meta.identifier, version: meta.version });
    const made = new Cls(identityParams, ctx);
    if (made === null || typeof made !== 'object') return 'E' + jsonStringify({ message: 'the constructor did not return an object', stack: '', code: '' });
    instance = made;
    return 'R' + jsonStringify(list);
  } catch (e) {
    return describe(e);
  }
}

function finish(value) {
  try {
    return 'R' + serialize(value, meta.maxResultBytes, meta.maxJsonDepth, 'the result');
  } catch (e) {
    return describe(e);
  }
}
function call(callId, method, argsText) {
  const fn = methods.get(method);
  if (fn === undefined || instance === null) return 'M';
  let r;
  try {
    const args = parseClean(argsText);
    r = apply(fn, instance, args);
    if (r !== null && (typeof r === 'object' || typeof r === 'function')) {
      const then = r.then;
      if (typeof then === 'function') {
        PromiseC.resolve(r).then(
          function (value) { const text = finish(value); bridge('done', callId, overLimit ? 'L' : text); },
          function (e) { const text = describe(e); bridge('done', callId, overLimit ? 'L' : text); },
        );
        return 'A';
      }
    }
  } catch (e) {
    return describe(e);
  }
  return finish(r);
}
function refusal(code, message) {
  const e = new ErrorC(message);
  defineProperty(e, 'code', { value: code, enumerable: true });
  refusals.add(e);
  return e;
}
function settle(id, ok, text, code) {
  const p = pending.get(id);
  if (p === undefined) return;
  pending.delete(id);
  if (ok) p.resolve(text === '' ? undefined : jsonParse(text));
  else p.reject(refusal(code, text));
}

function dispatch(op, a, b, c, d) {
  if (op === 'call') return call(a, b, c);
  if (op === 'calls') {
    const out = [];
    for (let i = 0; i < a.length; i++) out[i] = call(a[i], b[i], c[i]);
    return out;
  }
  if (op === 'settle') return settle(a, b, c, d);
  if (op === 'init') return init(a, b, c);
  if (op === 'construct') return construct(a);
  // The worker's own plan context only: never after init, so never once tenant code has run.
  if (op === 'plan') return meta === null && recorded !== null && recorded.ok ? jsonStringify([auditRoots.length, recorded.links, recorded.keys]) : null;
  if (op === 'audit') return meta === null ? unfrozenFrom(auditRoots) : -1;
  throw new TypeErrorC('sealbox bootstrap: unknown op');
}
return function control(op, a, b, c, d) {
  const r = dispatch(op, a, b, c, d);
  return overLimit ? 'L' : r;
};
})()`;

const PLAN_PLACEHOLDER = 'const FREEZE_PLAN = null; // sealbox:freeze-plan';

/**
 * The bootstrap source with a freeze plan in place of the full walk. `plan` is what
 * `control('plan')` returned in a context of the worker's own; it is re-encoded from checked
 * parts, so only numbers and strings ever reach the source text.
 * @throws TypeError when `plan` is not a well-formed plan
 */
export function withFreezePlan(plan: unknown): string {
  let parsed: unknown;
  try {
    parsed = typeof plan === 'string' ? JSON.parse(plan) : undefined;
  } catch {
    throw new TypeError('freeze plan: not JSON');
  }
  if (!Array.isArray(parsed) || parsed.length !== 3)
    throw new TypeError('freeze plan: not [roots, links, keys]');
  const [roots, links, keys] = parsed as unknown[];
  const count = Array.isArray(links) ? links.length : -1;
  const ok =
    Number.isSafeInteger(roots) &&
    (roots as number) > 0 &&
    Array.isArray(keys) &&
    keys.length === count &&
    (links as unknown[]).every(
      (link, i) =>
        Number.isSafeInteger(link) && (link as number) >= -(roots as number) && (link as number) < i * 4,
    ) &&
    keys.every((key) => typeof key === 'string');
  if (!ok) throw new TypeError('freeze plan: malformed links or keys');
  const literal = `const FREEZE_PLAN = ${JSON.stringify([roots, links, keys])};`;
  return BOOTSTRAP_SOURCE.replace(PLAN_PLACEHOLDER, () => literal);
}
