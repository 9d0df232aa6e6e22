/**
 * Entry of a sandbox worker process (forked by the supervisor with an empty environment and
 * --no-node-snapshot). Holds one isolated-vm isolate per tenant and one context per component
 * (context-pool.ts keeps spare contexts, a spare isolate and compiled scripts ahead of time), and
 * decides what enters an isolate and when; worker-meter.ts keeps the books of what is in flight
 * (one lane per tenant) and meters each op's budget (time-model.ts). Everything here runs tenant
 * code only through the bootstrap's `control` function. In order below: the host pipe, the
 * tenant isolates (disposal, runaway, memory), loads, calls (a lane's calls enter back to back:
 * docs/sandbox.md "Pipelined calls"), capability requests and answers, unload, dispatch.
 */
import { writeSync } from 'node:fs';
import { createRequire } from 'node:module';
import { Socket } from 'node:net';
import type IVM from 'isolated-vm';
import { TAG } from './bootstrap.ts';
import { ContextPool, type BridgeHandler, type PooledIsolate } from './context-pool.ts';
import { Meter, startedBy, type Lane } from './worker-meter.ts';
import {
  decodeFrame,
  doneFailure,
  doneValue,
  encodeJsonFrame,
  encodeResultFrame,
  FATAL_MARKER,
  FrameReader,
  HOST_FD,
  NOT_STARTED,
  RUNAWAY_MARKER,
  YIELDED,
  taggedOf,
} from './protocol.ts';
import type {
  CallMessage,
  CapResultMessage,
  DoneMessage,
  HostMessage,
  LoadMessage,
  WorkerMessage,
} from './protocol.ts';
import { RUNAWAY_GRACE_MS, STUCK_NOTICE_MS, wallCeilingMs } from './time-model.ts';

// The supervisor passes the real path of isolated-vm's entry: under the permission model this
// worker may not walk node_modules to resolve a bare specifier (symlinked installs would fail).
const ivm = createRequire(import.meta.url)(process.argv[2] ?? 'isolated-vm') as typeof IVM;

interface LoadedComponent {
  readonly key: number;
  readonly tenantKey: number;
  readonly context: IVM.Context;
  readonly control: IVM.Reference<(...args: unknown[]) => unknown>;
  readonly budgetMs: number;
  /** the meter slot, shared with the context's bootstrap: the slot of the call that started last */
  readonly slots: Int32Array;
  /**
   * an async call of it was failed here without settling (ERR_TIMEOUT, nothing could settle it):
   * its bootstrap still counts it, so calls behind it go back to the host, which reloads it
   */
  asyncStuck: boolean;
}

const components = new Map<number, LoadedComponent>();
let arrivals = 0;
/** isolate entries (apply/run/eval) not yet returned, per isolate: a runaway isolate keeps one */
const entries = new Map<PooledIsolate, number>();
/** disposed isolates whose entry had not returned yet (the host was told: 'lost' with running) */
const lingering = new Set<PooledIsolate>();

// The host's end of a Unix socket pair (fd 3): length-prefixed frames both ways (protocol.ts).
const host = new Socket({ fd: HOST_FD, readable: true, writable: true });

// Messages produced while handling one read are written together, in one write (one syscall).
let outbox: Buffer[] = [];
let flushScheduled = false;
function send(message: WorkerMessage): void {
  const tagged = message.t === 'done' ? taggedOf(message) : undefined;
  outbox.push(
    message.t === 'done' && tagged !== undefined
      ? encodeResultFrame(message.id, tagged)
      : encodeJsonFrame(message),
  );
  if (!flushScheduled) {
    flushScheduled = true;
    // With more ops in flight, their answers come in separate callbacks of the same event-loop
    // turn (isolated-vm settles each entry on its own): one write at the end of the turn carries
    // them all (measured: one write per result otherwise, its system call the largest cost).
    if (inFlight.size > 1) setImmediate(flush);
    else queueMicrotask(flush);
  }
}
function flush(): void {
  flushScheduled = false;
  const batch = outbox;
  outbox = [];
  if (batch.length === 0 || !host.writable) return;
  host.write(batch.length === 1 ? batch[0]! : Buffer.concat(batch));
}

/** Answers a load or call once; later answers (after a timeout) are dropped. */
function answer(id: number, message: DoneMessage): void {
  if (!untrack(id)) return;
  send(message);
}

/** Stops metering an op (answered, or handed back to wait); false when it was not in flight. */
function untrack(id: number): boolean {
  return meter.untrack(id) !== undefined;
}

/** Defends against runaway tenant code: the whole tenant isolate is disposed (terminating it). */
function overran(id: number): void {
  const op = inFlight.get(id);
  if (op === undefined) return;
  answer(id, doneFailure(id, 'ERR_TIMEOUT', 'the call used up its time budget'));
  disposeTenant(op.tenantKey, {
    code: 'ERR_SANDBOX_CRASHED',
    message: 'the isolate was disposed after a call overran',
  });
}

/**
 * The tenant isolate's CPU clock in ms (isolated-vm's own accounting); undefined once the isolate
 * is disposed (isolated-vm disposes an isolate that ran out of memory while its code may still run).
 */
function cpuOf(tenantKey: number): number | undefined {
  const entry = isolates.get(tenantKey);
  if (entry === undefined || entry.isolate.isDisposed) return undefined;
  try {
    return Number(entry.isolate.cpuTime) / 1e6;
  } catch {
    return undefined;
  }
}

const meter = new Meter({
  cpuOf,
  overran: (id) => overran(id),
  // An isolate disposed under a running op, by isolated-vm itself: it ran out of memory.
  lost: (tenantKey) => disposeTenant(tenantKey, MEMORY_LIMIT),
  released: (tenantKey, lane) => schedulePump(tenantKey, lane),
});
const inFlight = meter.ops;
const lanes = meter.lanes;

/**
 * Runs one isolate entry of a tenant, counted so that an isolate which keeps running after its
 * termination is noticed (runaway check in disposeTenant).
 */
async function enter<T>(tenantKey: number, work: () => Promise<T>): Promise<T> {
  const isolate = isolates.get(tenantKey);
  if (isolate === undefined) return work();
  entries.set(isolate, (entries.get(isolate) ?? 0) + 1);
  try {
    return await work();
  } finally {
    const left = (entries.get(isolate) ?? 1) - 1;
    if (left === 0) entries.delete(isolate);
    else entries.set(isolate, left);
    if (left === 0 && lingering.delete(isolate)) send({ t: 'released', tenantKey });
  }
}

/** What the bootstrap's TAG.memory answer means: an allocation was refused for memoryLimit. */
const MEMORY_LIMIT = Object.freeze({
  code: 'ERR_MEMORY_LIMIT',
  message: 'the isolate ran out of its memory limit',
});

function classify(error: unknown): { code: string; message: string } | undefined {
  const message = error instanceof Error ? error.message : '';
  if (message.startsWith('Script execution timed out')) {
    return { code: 'ERR_TIMEOUT', message: 'the call overran its wall-clock ceiling' };
  }
  if (message.includes('memory limit')) return MEMORY_LIMIT;
  if (message.startsWith('Isolate is disposed') || message.startsWith('Isolate was disposed')) {
    return { code: 'ERR_SANDBOX_CRASHED', message: 'the isolate was disposed' };
  }
  return undefined;
}

/** Quiet time (no message, nothing in flight) before spares are made. */
const QUIET_MS = 1;
let background: (() => void)[] = [];
let quietTimer: NodeJS.Timeout | undefined;
/**
 * Runs spare-making work once the worker is quiet. Measured: made right after a load, the
 * isolate creation (~0.75 ms on the event loop) and a bootstrap (~2 ms on a second core of a
 * 2-core VM) landed on the component's first call (0.6 -> 2 ms).
 */
function whenQuiet(work: () => void): void {
  background.push(work);
  rearmQuiet();
}
function rearmQuiet(): void {
  if (background.length === 0) return;
  clearTimeout(quietTimer);
  quietTimer = setTimeout(runBackground, QUIET_MS);
  quietTimer.unref();
}
function runBackground(): void {
  if (inFlight.size > 0) {
    rearmQuiet();
    return;
  }
  const list = background;
  background = [];
  for (const work of list) work();
}

/** Writes a marker naming the tenant to stderr for the host, then dies at once. */
function dieWith(marker: string, tenantKey: number): never {
  try {
    writeSync(2, `\n${marker} ${tenantKey}\n`);
  } finally {
    process.kill(process.pid, 'SIGKILL');
  }
  throw new Error('unreachable');
}

const pool = new ContextPool({
  ivm,
  schedule: whenQuiet,
  onBridge: (key, kind, a, b, c, d, e) => onBridge(key, kind, a, b, c, d, e),
  // Defends against a wedged process after V8 loses control of an isolate (measured: it hangs):
  // tell the host which tenant did it, then die at once; the supervisor replaces this worker.
  onCatastrophicError: (tenantKey) => dieWith(FATAL_MARKER, tenantKey),
});
const isolates = pool.isolates;

/** Disposes a tenant's isolate (overrun, memory): every component and pending op in it is lost. */
function disposeTenant(
  tenantKey: number,
  cause: { code: string; message: string },
  only?: PooledIsolate,
): void {
  // A late failure of an entry into an isolate that is already gone must not dispose the tenant's
  // next isolate (a reload may have made one meanwhile).
  if (only !== undefined && isolates.get(tenantKey) !== only) return;
  const entry = isolates.get(tenantKey);
  const lost = entry === undefined ? [] : [...entry.keys];
  for (const key of lost) components.delete(key);
  // Disposed first: from here no call queued on the isolate can start, so the meter slot names the
  // last call that did, and every call after it is handed back to the host as never started.
  if (entry !== undefined) pool.drop(tenantKey);
  const lane = lanes.get(tenantKey);
  if (lane !== undefined) {
    const last = lane.slots === undefined ? undefined : Atomics.load(lane.slots, 0);
    for (const waiting of lane.queue.splice(0)) {
      send(doneFailure(waiting.message.id, NOT_STARTED, 'its isolate was disposed before it started'));
    }
    for (const [id, op] of [...lane.ops]) {
      const started = last === undefined || op.slot === 0 || startedBy(op.slot, last);
      answer(
        id,
        started
          ? doneFailure(id, cause.code, cause.message)
          : doneFailure(id, NOT_STARTED, 'its isolate was disposed before it started'),
      );
    }
  }
  if (entry === undefined) return;
  const running = (entries.get(entry) ?? 0) > 0;
  // `running`: the isolate's thread had not returned when it was disposed; the host counts the
  // tenant as the owner of whatever memory the worker grows until 'released'.
  if (running) lingering.add(entry);
  send({ t: 'lost', keys: lost, tenantKey, running });
  if (running) {
    // Defends against an isolate that ignores termination (one huge BigInt operation keeps its
    // thread and may later take the process down): past the grace, the worker names the tenant
    // and exits, so the host quarantines it instead of guessing.
    setTimeout(() => {
      if ((entries.get(entry) ?? 0) > 0) send({ t: 'stuck', tenantKey });
    }, STUCK_NOTICE_MS).unref();
    setTimeout(() => {
      if ((entries.get(entry) ?? 0) > 0) dieWith(RUNAWAY_MARKER, tenantKey);
    }, RUNAWAY_GRACE_MS).unref();
  }
}

/** isolated-vm options of one entry: its wall ceiling (the meter enforces the budget). */
function entryTimeout(id: number): number {
  const op = inFlight.get(id);
  return op === undefined ? 1 : wallCeilingMs(op.budgetMs);
}

/** The bootstrap answered TAG.memory during a load (top-level code or constructor). */
class OverLimit extends Error {}

async function load(message: LoadMessage): Promise<void> {
  const { id, key, tenantKey } = message;
  let entry: PooledIsolate | undefined;
  let context: IVM.Context | undefined;
  try {
    entry = pool.isolateFor(tenantKey, message.memoryMb);
    meter.track(id, tenantKey, key, message.budgetMs, undefined);
    const isolateEntry = entry;
    const taken = await enter(tenantKey, () => pool.takeContext(isolateEntry, key, entryTimeout(id)));
    context = taken.context;
    const loaded = context;
    const control = taken.control;
    // The meter slot (see Lane): shared with this context's bootstrap, which writes each call's slot.
    const slots = new Int32Array(new SharedArrayBuffer(8));
    const init = ['init', message.meta, message.artifactNames, message.artifactBytes, slots.buffer];
    const initialised: unknown = await enter(tenantKey, () =>
      control.apply(undefined, init, { arguments: { copy: true }, timeout: entryTimeout(id) }),
    );
    if (initialised === TAG.memory) throw new OverLimit();
    // The script ends with the entry's name, so its completion value is the entry class: one
    // isolate entry instead of a run and an eval. The name matches the identifier grammar
    // (component-spec.ts); the newline ends any line comment the source ends with.
    // Defends against a keyword as the entry changing what the script yields (`;debugger` has no
    // value, so the completion would fall back to the source's last expression, and it adds a
    // statement the policy never saw): in parentheses it can only be an expression, or a
    // SyntaxError (ERR_INSTANTIATE).
    const script = await pool.compiled(
      entry,
      `${message.sourceSha256}\u0000${message.entry}`,
      message.filename,
      `${message.source}\n;(${message.entry})`,
    );
    const cls = (await enter(tenantKey, () =>
      script.run(loaded, { reference: true, timeout: entryTimeout(id) }),
    )) as IVM.Reference;
    const construct = ['construct', cls.derefInto()];
    const r = await enter(tenantKey, () =>
      control.apply(undefined, construct, { timeout: entryTimeout(id) }),
    );
    cls.release();
    if (r === TAG.memory) throw new OverLimit();
    if (!inFlight.has(id)) return;
    if (typeof r !== 'string' || r[0] !== TAG.result) {
      context.release();
      if (entry.keys.size === 0) disposeIdle(tenantKey);
      answer(id, doneValue(id, typeof r === 'string' ? r : `${TAG.error}{}`));
      return;
    }
    entry.keys.add(key);
    components.set(key, {
      key,
      tenantKey,
      context,
      control,
      budgetMs: message.budgetMs,
      slots,
      asyncStuck: false,
    });
    answer(id, doneValue(id, r));
    pool.afterLoad(entry, message.memoryMb);
  } catch (error) {
    if (!inFlight.has(id)) {
      if (entry === undefined) send(doneFailure(id, 'ERR_SANDBOX_CRASHED', 'no isolate could be created'));
      return;
    }
    const known = error instanceof OverLimit ? MEMORY_LIMIT : classify(error);
    if (known !== undefined) {
      answer(id, doneFailure(id, known.code, known.message));
      disposeTenant(tenantKey, known, entry);
      return;
    }
    try {
      context?.release();
    } catch {
      // isolate gone
    }
    if (entry !== undefined && entry.keys.size === 0) disposeIdle(tenantKey);
    // A compile or top-level error of the tenant's own script: its message and stack are the tenant's.
    const e = error as { message?: unknown; stack?: unknown } | null;
    const text = JSON.stringify({
      message:
        typeof e?.message === 'string' ? e.message.slice(0, 4096) : 'the component could not be loaded',
      stack: typeof e?.stack === 'string' ? e.stack.slice(0, 16384) : '',
      code: '',
    });
    answer(id, doneFailure(id, 'ERR_INSTANTIATE', text));
  }
}

function disposeIdle(tenantKey: number): void {
  const entry = isolates.get(tenantKey);
  if (entry === undefined || entry.keys.size > 0) return;
  for (const op of inFlight.values()) if (op.tenantKey === tenantKey) return;
  pool.drop(tenantKey);
}

/** A call arrives: it waits in its tenant's lane until it may enter (see Lane). */
function call(message: CallMessage): void {
  const component = components.get(message.key);
  if (component === undefined) {
    // A pipelined call never ran here: the host runs it again (it reloads the component first).
    send(
      doneFailure(
        message.id,
        message.pipelined ? NOT_STARTED : 'ERR_SANDBOX_CRASHED',
        'the component is not loaded',
      ),
    );
    return;
  }
  const lane = meter.laneOf(component.tenantKey);
  lane.queue.push({ message, deadline: performance.now() + message.deadlineMs, order: ++arrivals });
  // Pumped once the whole read is handled: calls that arrived together enter together.
  schedulePump(component.tenantKey, lane);
}

function schedulePump(tenantKey: number, lane: Lane): void {
  if (lane.pumpScheduled) return;
  if (lane.queue.length === 0) {
    if (lane.ops.size === 0 && lanes.get(tenantKey) === lane) lanes.delete(tenantKey);
    return;
  }
  lane.pumpScheduled = true;
  // After the current turn: answers are often given while walking the ops of a lane.
  queueMicrotask(() => {
    lane.pumpScheduled = false;
    if (lanes.get(tenantKey) === lane) pump(tenantKey, lane);
  });
}

/**
 * Lets the lane's waiting calls enter their isolate: calls of the component already in flight, none
 * behind an unsettled async call, one component at a time.
 */
function pump(tenantKey: number, lane: Lane): void {
  const entering: {
    readonly message: CallMessage;
    readonly component: LoadedComponent;
    readonly slot: number;
  }[] = [];
  while (lane.queue.length > 0) {
    const waiting = lane.queue[0]!;
    const { message } = waiting;
    const component = components.get(message.key);
    if (component === undefined || component.tenantKey !== tenantKey) {
      lane.queue.shift();
      send(
        doneFailure(
          message.id,
          message.pipelined ? NOT_STARTED : 'ERR_SANDBOX_CRASHED',
          'the component is not loaded',
        ),
      );
      continue;
    }
    if (lane.ops.size > 0 && (lane.key !== message.key || lane.asyncOp !== undefined)) break;
    lane.queue.shift();
    if (component.asyncStuck) {
      send(doneFailure(message.id, NOT_STARTED, 'it waited behind an async call that never settled'));
      continue;
    }
    // Defends against running a call whose caller was already told ERR_DEADLINE ("cancelled"):
    // handed back unrun; the host drops it.
    if (performance.now() > waiting.deadline) {
      send(doneFailure(message.id, NOT_STARTED, 'its deadline passed before it started'));
      continue;
    }
    const slot = meter.nextSlot();
    meter.track(message.id, tenantKey, message.key, message.budgetMs, {
      slot,
      waiting,
      slots: component.slots,
    });
    entering.push({ message, component, slot });
  }
  for (const e of entering) void enterCall(e.message, e.component, e.slot);
}

/**
 * Runs one call in the component's isolate, always off this thread (isolated-vm's async apply):
 * the event loop stays free for heartbeats, the meter and other tenants, and time waiting for an
 * isolate thread is never charged to the budget.
 */
async function enterCall(message: CallMessage, component: LoadedComponent, slot: number): Promise<void> {
  const { id } = message;
  // Answered meanwhile (the isolate was disposed, the component unloaded): nothing to run.
  if (!inFlight.has(id)) return;
  const isolate = isolates.get(component.tenantKey);
  let r: unknown;
  try {
    r = await enter(component.tenantKey, () =>
      component.control.apply(undefined, ['call', id, message.method, message.args, slot], {
        timeout: entryTimeout(id),
      }),
    );
  } catch (error) {
    const known = classify(error) ?? {
      code: 'ERR_SANDBOX_CRASHED',
      message: 'the call failed inside the sandbox',
    };
    answer(id, doneFailure(id, known.code, known.message));
    disposeTenant(component.tenantKey, known, isolate);
    return;
  }
  // Defends against a tenant that caught the refusal of an allocation and returned normally: the
  // call fails with ERR_MEMORY_LIMIT and the isolate goes (its memory is spent).
  if (r === TAG.memory) {
    disposeTenant(component.tenantKey, MEMORY_LIMIT, isolate);
    return;
  }
  if (r === TAG.busy) {
    handBack(id);
    return;
  }
  if (r === TAG.yielded) {
    if (untrack(id)) send(doneFailure(id, YIELDED, 'its tenant yielded its turn'));
    return;
  }
  // 'A': an async method; its outcome arrives through the bridge ('done'), still metered.
  if (r !== TAG.async) {
    finish(id, typeof r === 'string' ? r : `${TAG.error}{}`);
    return;
  }
  const op = inFlight.get(id);
  if (op === undefined) return;
  op.async = true;
  const lane = lanes.get(op.tenantKey);
  if (lane !== undefined) lane.asyncOp = id;
  checkSettleable(id);
}

/**
 * A pipelined call the bootstrap did not run (TAG.busy: it entered behind an async call that has
 * not settled). It waits in its lane for that call's answer; if that call is already answered
 * (it failed, and the bootstrap may never see it settle), it goes back to the host unrun.
 */
function handBack(id: number): void {
  const op = inFlight.get(id);
  if (op === undefined || op.waiting === undefined) return;
  const lane = lanes.get(op.tenantKey);
  const component = components.get(op.key);
  if (lane !== undefined && component !== undefined && !component.asyncStuck) {
    // Back in its place before it stops being tracked (which may pump the lane).
    const { waiting } = op;
    let index = lane.queue.findIndex((other) => other.order > waiting.order);
    if (index < 0) index = lane.queue.length;
    lane.queue.splice(index, 0, waiting);
    untrack(id);
    if (lane.asyncOp !== undefined) checkSettleable(lane.asyncOp);
    return;
  }
  untrack(id);
  send(doneFailure(id, NOT_STARTED, 'it entered behind an async call that did not settle'));
}

/**
 * Defends against an async call that can never settle (a thenable that never calls back, a
 * promise whose resolver was dropped) holding its component's queue until the wall ceiling:
 * the sandbox has no timers or I/O, so tenant code runs only inside an isolate entry (the call,
 * or the settle of a capability answer). An async call with no entry running in its isolate and
 * no capability request outstanding has nothing left that could settle it: it fails at once with
 * ERR_TIMEOUT (the host then re-instantiates the component, as after any overrun). The check
 * waits one turn of the event loop, so a bridge message the isolate posted before its entry
 * returned is seen first.
 */
function checkSettleable(id: number): void {
  const op = inFlight.get(id);
  if (op === undefined || !op.async || op.capsOutstanding > 0) return;
  const mark = op.activity;
  setImmediate(() => {
    const now = inFlight.get(id);
    if (now !== op || op.capsOutstanding > 0 || op.activity !== mark) return;
    const isolate = isolates.get(op.tenantKey);
    if (isolate !== undefined && (entries.get(isolate) ?? 0) > 0) return;
    const component = components.get(op.key);
    if (component !== undefined) component.asyncStuck = true;
    answer(id, doneFailure(id, 'ERR_TIMEOUT', 'the async call can never settle: nothing is left to run it'));
  });
}

/** Answers a call with its tagged result, unless its metered time went past the budget. */
function finish(id: number, tagged: string): void {
  const op = inFlight.get(id);
  if (op === undefined) return;
  // A last reading covers the stretch since the meter's previous period (skipped when that stretch
  // cannot have used up the budget).
  if (meter.mayBeOver(op)) meter.read();
  if (!inFlight.has(id)) return;
  if (op.used > op.budgetMs) {
    overran(id);
    return;
  }
  answer(id, doneValue(id, tagged));
}

const onBridge: BridgeHandler = (key, kind, a, b, c, d, e) => {
  const component = components.get(key);
  if (component === undefined) return;
  if (kind === 'done' && typeof a === 'number' && typeof b === 'string') {
    const op = inFlight.get(a);
    if (op === undefined || op.key !== key) return;
    if (b === TAG.memory) disposeTenant(component.tenantKey, MEMORY_LIMIT);
    else finish(a, b);
    return;
  }
  if (
    kind === 'cap' &&
    typeof a === 'number' &&
    typeof b === 'string' &&
    typeof c === 'string' &&
    typeof d === 'string'
  ) {
    // Owned (its wall time charged, its quota counted) by the call whose slot the bootstrap named
    // when the request was made, not by whichever call runs when this message is read (a pipelined
    // call may have started meanwhile). A request of work left running after its call was answered
    // names no op in flight: the host refuses it (capabilities only while a call runs), and no
    // call in flight pays its wall time.
    const lane = lanes.get(component.tenantKey);
    const owner = lane === undefined || typeof e !== 'number' ? undefined : meter.withSlot(lane, e, key);
    if (owner !== undefined) {
      capOwners.set(`${key}:${a}`, owner.id);
      owner.capsOutstanding++;
      owner.activity++;
    }
    send({ t: 'cap', key, req: a, cap: b, method: c, args: d, op: owner?.id ?? -1 });
  }
};

async function capResult(message: CapResultMessage): Promise<void> {
  const request = `${message.key}:${message.req}`;
  const ownerId = capOwners.get(request);
  capOwners.delete(request);
  const component = components.get(message.key);
  if (component === undefined) return;
  // Promise continuations run inside this settle entry, charged to the call that is running;
  // continuations after the call ended (no caller, no meter) get the bare budget as wall time.
  // Only the op that made the request counts it as answered: an answer to an ended call's
  // request (fire-and-forget log, say) must not make the running op look settled-for-good.
  let timeout = component.budgetMs;
  const waiting: number[] = [];
  for (const [id, op] of inFlight) {
    if (op.key !== component.key) continue;
    if (id === ownerId) {
      op.capsOutstanding = Math.max(0, op.capsOutstanding - 1);
      op.activity++;
    }
    timeout = entryTimeout(id);
    waiting.push(id);
  }
  const isolate = isolates.get(component.tenantKey);
  try {
    const settled: unknown = await enter(component.tenantKey, () =>
      component.control.apply(undefined, ['settle', message.req, message.ok, message.text, message.code], {
        timeout,
      }),
    );
    if (settled === TAG.memory) disposeTenant(component.tenantKey, MEMORY_LIMIT, isolate);
  } catch (error) {
    const known = classify(error) ?? { code: 'ERR_SANDBOX_CRASHED', message: 'the isolate failed' };
    disposeTenant(component.tenantKey, known, isolate);
    return;
  }
  for (const id of waiting) checkSettleable(id);
}

/** Capability request (`component key:request id`) → the op that made it. */
const capOwners = new Map<string, number>();

function unload(id: number, key: number): void {
  const component = components.get(key);
  if (component !== undefined) {
    components.delete(key);
    for (const [callId, op] of inFlight) {
      if (op.key === key)
        answer(callId, doneFailure(callId, 'ERR_SANDBOX_CLOSED', 'the component was disposed'));
    }
    const lane = lanes.get(component.tenantKey);
    if (lane !== undefined) {
      for (let i = lane.queue.length - 1; i >= 0; i--) {
        const { message } = lane.queue[i]!;
        if (message.key !== key) continue;
        lane.queue.splice(i, 1);
        send(doneFailure(message.id, 'ERR_SANDBOX_CLOSED', 'the component was disposed'));
      }
    }
    const entry = isolates.get(component.tenantKey);
    entry?.keys.delete(key);
    try {
      component.control.release();
      component.context.release();
    } catch {
      // isolate already gone
    }
    disposeIdle(component.tenantKey);
  }
  send(doneValue(id, `${TAG.result}0`));
}

/**
 * Another tenant waits for a turn: the tenant's pipelined calls that have not entered yet go back
 * to the host, and those already queued on its isolate go back as they reach it (the yield word,
 * which the tenant's next turn clears). The call running, and a turn's first call, go on.
 */
function yieldTurn(tenantKey: number): void {
  const lane = lanes.get(tenantKey);
  if (lane === undefined) return;
  if (lane.slots !== undefined) Atomics.store(lane.slots, 1, 1);
  // A turn's first call (unpipelined) stays: the yield is about the calls behind it.
  for (let i = lane.queue.length - 1; i >= 0; i--) {
    const { message } = lane.queue[i]!;
    if (!message.pipelined) continue;
    lane.queue.splice(i, 1);
    send(doneFailure(message.id, YIELDED, 'its tenant yielded its turn'));
  }
}

function handle(message: HostMessage): void {
  switch (message.t) {
    case 'call':
      void call(message);
      return;
    case 'capres':
      void capResult(message);
      return;
    case 'load':
      void load(message);
      return;
    case 'unload':
      unload(message.id, message.key);
      return;
    case 'ping':
      send({ t: 'pong', n: message.n });
      return;
    case 'yield':
      yieldTurn(message.tenantKey);
      return;
  }
}

const reader = new FrameReader(() => 0xffffffff);
host.on('data', (chunk: Buffer) => {
  rearmQuiet();
  for (const body of reader.push(chunk)) handle(decodeFrame(body) as HostMessage);
});
// The host went away (or sent garbage): nothing to serve, leave nothing behind.
host.on('end', () => process.exit(0));
host.on('close', () => process.exit(0));
host.on('error', () => process.exit(0));
send({ t: 'ready' });
