/**
 * The part of the bootstrap script (bootstrap.ts) that hardens the realm: the walk that freezes
 * every intrinsic reachable from the roots (recording a freeze plan, or following one), the
 * audit of a plan, the hidden intrinsics no property path reaches, the override taming, and the
 * tenant-agnostic run of all of it. freeze-plan.ts records, audits and applies the plan.
 *
 * Script text, spliced into the bootstrap's function body in order, after the off-heap part and
 * the Function neutering: it uses their offHeap, hiddenIntl and fnProtos, and defines hardened
 * (the set init's walk stops at), recorded and auditRoots (the 'plan' and 'audit' ops), and harden
 * and unfrozenFrom (used by init and those ops).
 */

/** The line of the hardening part that withFreezePlan replaces with a plan literal. */
export const PLAN_PLACEHOLDER = 'const FREEZE_PLAN = null; // sealbox:freeze-plan';

export const HARDENING_SOURCE = String.raw`// ---- intrinsics hardening ----
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
}`;
