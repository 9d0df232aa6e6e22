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
 * The script is one function body in three files: this one (captures, removals, the Function
 * neutering, JSON copies, capability stubs, the per-component part and `control`),
 * bootstrap-off-heap.ts (memory and BigInt sources nothing else sees) and bootstrap-hardening.ts
 * (freezing the realm). Each spliced part says which names it uses and defines.
 *
 * What it does not defend against: bugs in V8 or isolated-vm themselves. The worker process (no
 * environment, killed and replaced on trouble) is the boundary behind it.
 */
import { HARDENING_SOURCE } from './bootstrap-hardening.ts';
import { OFF_HEAP_SOURCE } from './bootstrap-off-heap.ts';

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
  /**
   * Not run: an async call of this context has not settled yet. The worker runs the call once it
   * has (a tenant's calls never interleave), or hands it back to the host as never started.
   */
  busy: 'B',
  /**
   * Not run: the worker asked this context's pipeline to yield (another tenant waits for a turn).
   * The call goes back to the host, which runs it on the tenant's next turn.
   */
  yielded: 'Y',
  /** An allocation was refused for memoryLimit: the worker disposes the isolate (ERR_MEMORY_LIMIT). */
  memory: 'L',
});

// Plain script text (no substitutions but the spliced parts); runs in strict mode inside the isolate.
export const BOOTSTRAP_SOURCE =
  String.raw`(function () {
'use strict';
const g = globalThis;
const bridge = g.__sealbox_bridge;
// Defends against tenant code calling the host bridge: it lives only in this closure from here on.
delete g.__sealbox_bridge;
if (typeof bridge !== 'function') throw new TypeError('sealbox bootstrap: no bridge');

const ObjectC = Object, ArrayC = Array, MapC = Map, WeakSetC = WeakSet, PromiseC = Promise, ErrorC = Error;
const promiseThen = PromiseC.prototype.then;
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

// The worker's meter slot (init) is a view on a SharedArrayBuffer the worker reads: these three
// stay in this closure only, for it.
const SharedArrayBufferC = g.SharedArrayBuffer, Int32ArrayC = Int32Array;
const atomicsStore = g.Atomics.store, atomicsLoad = g.Atomics.load;
// Defends against unmetered memory and shared memory with the host: wasm memory is not counted by
// memoryLimit, and SharedArrayBuffer/Atomics would allow shared-memory races (and timers built from
// them).
delete g.WebAssembly;
delete g.SharedArrayBuffer;
delete g.Atomics;
// Only ECMAScript built-ins: V8's console is host plumbing (inspector), not part of the contract.
delete g.console;
// Defends against code generation from strings (policy bypass by building source at run time).
delete g.eval;

` +
  OFF_HEAP_SOURCE +
  String.raw`

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
/**
 * The worker's meter slot: each call writes its slot number at [0] as it starts, so the worker can
 * charge the isolate's clock to the call actually running when it has several queued on this
 * isolate; [1] is the worker's yield word (TAG.yielded). Defends against tenant code forging it (to shift its CPU onto another call): the view
 * lives only in this closure, and the buffer is the worker's, never reachable from the global object.
 */
let slotView = null;
/** the slot of the call that started last: capability requests name it (the worker's owner) */
let currentSlot = 0;
/** async calls of this context not settled yet (at most one: later calls answer TAG.busy) */
let asyncPending = 0;

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
    bridge('cap', id, cap, method, text, currentSlot);
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

` +
  HARDENING_SOURCE +
  String.raw`

// ---- per-component part: identity, params, artifacts, capability stubs, Component base ----
function init(metaText, artifactNames, artifactBytes, slots) {
  if (meta !== null || hardened === null) throw new TypeErrorC('sealbox bootstrap: init twice');
  if (slots instanceof SharedArrayBufferC && slots.byteLength >= 8) slotView = new Int32ArrayC(slots, 0, 2);
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
function call(callId, method, argsText, slot) {
  const fn = methods.get(method);
  if (fn === undefined || instance === null) return 'M';
  // Defends against two calls of a tenant interleaving (the second running while the first awaits a
  // capability), which the host's one-call-at-a-time contract rules out: a call queued on this
  // isolate behind an unsettled async call does not run.
  // The worker's yield word (the slot view's second number): set while another tenant waits for a
  // turn, so a pipeline does not hold the worker for all the calls already queued on this isolate.
  // Checked first: a call behind an unsettled async call goes back to the host too, not to the
  // worker's queue, where it would run once that call is answered.
  if (slotView !== null && atomicsLoad(slotView, 1) !== 0) return 'Y';
  if (asyncPending > 0) return 'B';
  currentSlot = slot | 0;
  if (slotView !== null) atomicsStore(slotView, 0, currentSlot);
  let r;
  try {
    const args = parseClean(argsText);
    r = apply(fn, instance, args);
    if (r !== null && (typeof r === 'object' || typeof r === 'function')) {
      const then = r.then;
      if (typeof then === 'function') {
        // Defends against tenant code calling these callbacks itself (an own \`then\` on the returned
        // promise, which Promise.resolve would hand back as is), twice or early, to undo the
        // busy count: the callbacks go only to a promise made here, through the intrinsic then,
        // and each counts once.
        let settled = false;
        const done = function (text) {
          if (settled) return;
          settled = true;
          asyncPending--;
          bridge('done', callId, overLimit ? 'L' : text);
        };
        const own = new PromiseC(function (resolve) { resolve(r); });
        apply(promiseThen, own, [
          function (value) { done(finish(value)); },
          function (e) { done(describe(e)); },
        ]);
        // Counted once the callbacks are in place; they run in a later microtask, never before this.
        asyncPending++;
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
  if (op === 'call') return call(a, b, c, d);
  if (op === 'settle') return settle(a, b, c, d);
  if (op === 'init') return init(a, b, c, d);
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
