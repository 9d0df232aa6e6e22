/**
 * Entry of a sandbox worker process (forked by the supervisor with an empty environment and
 * --no-node-snapshot). Holds one isolated-vm isolate per tenant and one context per component
 * (context-pool.ts keeps spare contexts, a spare isolate and compiled scripts ahead of time);
 * runs calls with the isolate timeout and its own wall-clock timer; forwards capability requests
 * to the host. Everything here runs tenant code only through the bootstrap's `control` function.
 */
import { writeSync } from 'node:fs';
import { createRequire } from 'node:module';
import { Socket } from 'node:net';
import type IVM from 'isolated-vm';
import { BOOTSTRAP_FILENAME, TAG } from './bootstrap.ts';
import { ContextPool, type PooledIsolate } from './context-pool.ts';
import {
  decodeFrame,
  encodeJsonFrame,
  encodeResultFrame,
  FATAL_MARKER,
  FrameReader,
  HOST_FD,
} from './protocol.ts';
import type { HostMessage, LoadMessage, CallMessage, CapResultMessage, WorkerMessage } from './protocol.ts';

// The supervisor passes the real path of isolated-vm's entry: under the permission model this
// worker may not walk node_modules to resolve a bare specifier (symlinked installs would fail).
const ivm = createRequire(import.meta.url)(process.argv[2] ?? 'isolated-vm') as typeof IVM;

interface LoadedComponent {
  readonly key: number;
  readonly tenantKey: number;
  readonly context: IVM.Context;
  readonly control: IVM.Reference<(...args: unknown[]) => unknown>;
  readonly timeoutMs: number;
}

/** A load or call that has not been answered yet. */
interface InFlight {
  readonly tenantKey: number;
  readonly key: number;
  readonly deadline: number;
  timer: NodeJS.Timeout | undefined;
}

const components = new Map<number, LoadedComponent>();
const inFlight = new Map<number, InFlight>();

// The host's end of a Unix socket pair (fd 3): length-prefixed frames both ways (protocol.ts).
const host = new Socket({ fd: HOST_FD, readable: true, writable: true });

// Messages produced while handling one read are written together, in one write (one syscall).
let outbox: Buffer[] = [];
let flushScheduled = false;
function send(message: WorkerMessage): void {
  outbox.push(
    message.t === 'done' && message.r !== undefined && message.x === undefined
      ? encodeResultFrame(message.id, message.r)
      : encodeJsonFrame(message),
  );
  if (!flushScheduled) {
    flushScheduled = true;
    queueMicrotask(flush);
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
function answer(id: number, message: WorkerMessage): void {
  const op = inFlight.get(id);
  if (op === undefined) return;
  inFlight.delete(id);
  clearTimeout(op.timer);
  send(message);
}

/**
 * Registers a load or call with its own wall-clock timer. The isolate timeout alone is not enough
 * (host-callback time is not counted, BigInt work overruns it, promise chains run outside it).
 * `armed: false` defers the timer (a synchronous entry cannot be interrupted by it anyway).
 */
function track(id: number, tenantKey: number, key: number, timeoutMs: number, armed = true): void {
  inFlight.set(id, { tenantKey, key, deadline: performance.now() + timeoutMs, timer: undefined });
  if (armed) arm(id);
}

function arm(id: number): void {
  const op = inFlight.get(id);
  if (op === undefined || op.timer !== undefined) return;
  op.timer = setTimeout(
    () => {
      answer(id, { t: 'done', id, x: 'ERR_TIMEOUT', m: 'the call overran its time limit' });
      // Defends against runaway tenant code: the whole tenant isolate is disposed (terminating it).
      disposeTenant(op.tenantKey, {
        code: 'ERR_SANDBOX_CRASHED',
        message: 'the isolate was disposed after a call overran',
      });
    },
    Math.max(1, op.deadline - performance.now()),
  );
}

/** What the bootstrap's TAG.memory answer means: an allocation was refused for memoryLimit. */
const MEMORY_LIMIT = Object.freeze({
  code: 'ERR_MEMORY_LIMIT',
  message: 'the isolate ran out of its memory limit',
});

function classify(error: unknown): { code: string; message: string } | undefined {
  const message = error instanceof Error ? error.message : '';
  if (message.startsWith('Script execution timed out')) {
    return { code: 'ERR_TIMEOUT', message: 'the call overran its time limit' };
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

const pool = new ContextPool({
  ivm,
  schedule: whenQuiet,
  onBridge: (key, kind, a, b, c, d) => onBridge(key, kind, a, b, c, d),
  // Defends against a wedged process after V8 loses control of an isolate (measured: it hangs):
  // tell the host which tenant did it, then die at once; the supervisor replaces this worker.
  onCatastrophicError: (tenantKey) => {
    try {
      writeSync(2, `\n${FATAL_MARKER} ${tenantKey}\n`);
    } finally {
      process.kill(process.pid, 'SIGKILL');
    }
  },
});
const isolates = pool.isolates;

/** Disposes a tenant's isolate (overrun, memory): every component and pending op in it is lost. */
function disposeTenant(tenantKey: number, cause: { code: string; message: string }): void {
  for (const [id, op] of inFlight) {
    if (op.tenantKey === tenantKey) answer(id, { t: 'done', id, x: cause.code, m: cause.message });
  }
  const entry = isolates.get(tenantKey);
  if (entry === undefined) return;
  const lost = [...entry.keys];
  for (const key of lost) components.delete(key);
  pool.drop(tenantKey);
  send({ t: 'lost', keys: lost });
}

function remainingOf(id: number): number {
  const op = inFlight.get(id);
  return op === undefined ? 1 : Math.max(1, Math.ceil(op.deadline - performance.now()));
}

/** The bootstrap answered TAG.memory during a load (top-level code or constructor). */
class OverLimit extends Error {}

async function load(message: LoadMessage): Promise<void> {
  const { id, key, tenantKey } = message;
  track(id, tenantKey, key, message.timeoutMs);
  let entry: PooledIsolate | undefined;
  let context: IVM.Context | undefined;
  try {
    entry = pool.isolateFor(tenantKey, message.memoryMb);
    const taken = await pool.takeContext(entry, key, remainingOf(id));
    context = taken.context;
    const control = taken.control;
    // Policy: as for calls, a worker serving a single tenant enters the isolate synchronously (no
    // thread hop per step); the isolate timeouts still apply, the host's deadline kills the worker
    // for anything that ignores them.
    const sync = isolates.size === 1;
    const init = ['init', message.meta, message.artifactNames, message.artifactBytes];
    const initOptions = { arguments: { copy: true }, timeout: remainingOf(id) } as const;
    const initialised: unknown = sync
      ? control.applySync(undefined, init, initOptions)
      : await control.apply(undefined, init, initOptions);
    if (initialised === TAG.memory) throw new OverLimit();
    const script = await pool.compiled(entry, message.sourceSha256, message.filename, message.source);
    if (sync) script.runSync(context, { timeout: remainingOf(id) });
    else await script.run(context, { timeout: remainingOf(id) });
    const evalOptions = { reference: true, timeout: remainingOf(id), filename: BOOTSTRAP_FILENAME } as const;
    const cls = (
      sync ? context.evalSync(message.entry, evalOptions) : await context.eval(message.entry, evalOptions)
    ) as IVM.Reference;
    const construct = ['construct', cls.derefInto()];
    const r = sync
      ? control.applySync(undefined, construct, { timeout: remainingOf(id) })
      : await control.apply(undefined, construct, { timeout: remainingOf(id) });
    cls.release();
    if (r === TAG.memory) throw new OverLimit();
    if (!inFlight.has(id)) return;
    if (typeof r !== 'string' || r[0] !== 'R') {
      context.release();
      if (entry.keys.size === 0) disposeIdle(tenantKey);
      answer(id, { t: 'done', id, r: typeof r === 'string' ? r : 'E{}' });
      return;
    }
    entry.keys.add(key);
    components.set(key, { key, tenantKey, context, control, timeoutMs: message.timeoutMs });
    answer(id, { t: 'done', id, r });
    pool.afterLoad(entry, message.memoryMb);
  } catch (error) {
    if (!inFlight.has(id)) return;
    const known = error instanceof OverLimit ? MEMORY_LIMIT : classify(error);
    if (known !== undefined) {
      answer(id, { t: 'done', id, x: known.code, m: known.message });
      disposeTenant(tenantKey, known);
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
    answer(id, { t: 'done', id, x: 'ERR_INSTANTIATE', m: text });
  }
}

function disposeIdle(tenantKey: number): void {
  const entry = isolates.get(tenantKey);
  if (entry === undefined || entry.keys.size > 0) return;
  for (const op of inFlight.values()) if (op.tenantKey === tenantKey) return;
  pool.drop(tenantKey);
}

/**
 * Runs a group of calls to one component (one IPC batch) in a single isolate entry.
 * Policy: while this worker serves a single tenant, calls run synchronously (no thread hop: the
 * fastest round trip); the isolate timeout stops loops and the host's wall clock kills the worker
 * for anything that ignores it (BigInt). As soon as a second tenant is here, calls run async so
 * one tenant's long call never blocks another tenant, this event loop or its timers.
 */
async function callGroup(key: number, group: readonly CallMessage[]): Promise<void> {
  const component = components.get(key);
  if (component === undefined) {
    for (const { id } of group)
      send({ t: 'done', id, x: 'ERR_SANDBOX_CRASHED', m: 'the component is not loaded' });
    return;
  }
  const sync = isolates.size === 1;
  let timeout = 1;
  for (const message of group) {
    track(message.id, component.tenantKey, key, message.timeoutMs, !sync);
    timeout = Math.max(timeout, message.timeoutMs);
  }
  const ids = group.map((m) => m.id);
  let results: unknown;
  try {
    if (group.length === 1) {
      // One call: primitives only, nothing to copy.
      const { id, method, args } = group[0]!;
      const run = ['call', id, method, args];
      results = [
        sync
          ? component.control.applySync(undefined, run, { timeout })
          : await component.control.apply(undefined, run, { timeout }),
      ];
    } else {
      const run = ['calls', ids, group.map((m) => m.method), group.map((m) => m.args)];
      const transfer = { arguments: { copy: true }, result: { copy: true }, timeout } as const;
      results = sync
        ? component.control.applySync(undefined, run, transfer)
        : await component.control.apply(undefined, run, transfer);
    }
  } catch (error) {
    const known = classify(error) ?? {
      code: 'ERR_SANDBOX_CRASHED',
      message: 'the call failed inside the sandbox',
    };
    for (const id of ids) answer(id, { t: 'done', id, x: known.code, m: known.message });
    disposeTenant(component.tenantKey, known);
    return;
  }
  // Defends against a tenant that caught the refusal of an allocation and returned normally: the
  // whole group fails with ERR_MEMORY_LIMIT and the isolate goes (its memory is spent).
  if (results === TAG.memory || (Array.isArray(results) && results.includes(TAG.memory))) {
    disposeTenant(component.tenantKey, MEMORY_LIMIT);
    return;
  }
  for (let i = 0; i < ids.length; i++) {
    const id = ids[i]!;
    const r: unknown = Array.isArray(results) ? results[i] : undefined;
    // 'A': an async method; its outcome arrives through the bridge ('done'), under its own timer.
    if (r === 'A') arm(id);
    else answer(id, { t: 'done', id, r: typeof r === 'string' ? r : 'E{}' });
  }
}

function onBridge(key: number, kind: unknown, a: unknown, b: unknown, c: unknown, d: unknown): void {
  const component = components.get(key);
  if (component === undefined) return;
  if (kind === 'done' && typeof a === 'number' && typeof b === 'string') {
    const op = inFlight.get(a);
    if (op === undefined || op.key !== key) return;
    if (b === TAG.memory) disposeTenant(component.tenantKey, MEMORY_LIMIT);
    else answer(a, { t: 'done', id: a, r: b });
    return;
  }
  if (
    kind === 'cap' &&
    typeof a === 'number' &&
    typeof b === 'string' &&
    typeof c === 'string' &&
    typeof d === 'string'
  ) {
    send({ t: 'cap', key, req: a, cap: b, method: c, args: d });
  }
}

async function capResult(message: CapResultMessage): Promise<void> {
  const component = components.get(message.key);
  if (component === undefined) return;
  // Promise continuations run inside this settle call: give them the furthest live deadline.
  let deadline = 0;
  for (const op of inFlight.values())
    if (op.key === component.key) deadline = Math.max(deadline, op.deadline);
  if (deadline === 0) deadline = performance.now() + component.timeoutMs;
  const timeout = Math.max(1, Math.ceil(deadline - performance.now()));
  try {
    const settled: unknown = await component.control.apply(
      undefined,
      ['settle', message.req, message.ok, message.text, message.code],
      {
        timeout,
      },
    );
    if (settled === TAG.memory) disposeTenant(component.tenantKey, MEMORY_LIMIT);
  } catch (error) {
    const known = classify(error) ?? { code: 'ERR_SANDBOX_CRASHED', message: 'the isolate failed' };
    disposeTenant(component.tenantKey, known);
  }
}

function unload(id: number, key: number): void {
  const component = components.get(key);
  if (component !== undefined) {
    components.delete(key);
    for (const [callId, op] of inFlight) {
      if (op.key === key)
        answer(callId, { t: 'done', id: callId, x: 'ERR_SANDBOX_CLOSED', m: 'the component was disposed' });
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
  send({ t: 'done', id, r: 'R0' });
}

function handle(message: HostMessage): void {
  switch (message.t) {
    case 'call':
      void callGroup(message.key, [message]);
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
  }
}

const reader = new FrameReader(() => 0xffffffff);
host.on('data', (chunk: Buffer) => {
  rearmQuiet();
  const messages = reader.push(chunk).map((body) => decodeFrame(body) as HostMessage);
  // Consecutive calls to the same component in one read enter the isolate once (pipelined
  // throughput); any other message first flushes them, so order is kept (call, then unload).
  let groups = new Map<number, CallMessage[]>();
  const flushGroups = (): void => {
    for (const [key, group] of groups) void callGroup(key, group);
    groups = new Map();
  };
  for (const message of messages) {
    if (message.t !== 'call') {
      flushGroups();
      handle(message);
      continue;
    }
    const group = groups.get(message.key);
    if (group === undefined) groups.set(message.key, [message]);
    else group.push(message);
  }
  flushGroups();
});
// The host went away (or sent garbage): nothing to serve, leave nothing behind.
host.on('end', () => process.exit(0));
host.on('close', () => process.exit(0));
host.on('error', () => process.exit(0));
send({ t: 'ready' });
