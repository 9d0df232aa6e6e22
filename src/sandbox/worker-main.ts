/**
 * Entry of a sandbox worker process (forked by the supervisor with an empty environment and
 * --no-node-snapshot). Holds one isolated-vm isolate per tenant and one context per component;
 * runs calls with the isolate timeout and its own wall-clock timer; forwards capability requests
 * to the host. Everything here runs tenant code only through the bootstrap's `control` function.
 */
import { writeSync } from 'node:fs';
import ivm from 'isolated-vm';
import { BOOTSTRAP_FILENAME, BOOTSTRAP_SOURCE, BRIDGE_GLOBAL } from './bootstrap.ts';
import { FATAL_MARKER } from './protocol.ts';
import type { HostMessage, LoadMessage, CallMessage, CapResultMessage, WorkerMessage } from './protocol.ts';

interface TenantIsolate {
  readonly isolate: ivm.Isolate;
  readonly bootstrap: ivm.Script;
  readonly keys: Set<number>;
}

interface LoadedComponent {
  readonly key: number;
  readonly tenantKey: number;
  readonly context: ivm.Context;
  readonly control: ivm.Reference<(...args: unknown[]) => unknown>;
  readonly timeoutMs: number;
  /** async calls in flight: id → deadline (performance.now() ms) */
  readonly calls: Map<number, number>;
}

const isolates = new Map<number, TenantIsolate>();
const components = new Map<number, LoadedComponent>();
const asyncTimers = new Map<number, { key: number; timer: NodeJS.Timeout }>();

let outbox: WorkerMessage[] = [];
let flushScheduled = false;
function send(message: WorkerMessage): void {
  outbox.push(message);
  if (!flushScheduled) {
    flushScheduled = true;
    queueMicrotask(flush);
  }
}
function flush(): void {
  flushScheduled = false;
  const batch = outbox;
  outbox = [];
  if (batch.length > 0 && process.connected) process.send?.(batch.length === 1 ? batch[0] : batch);
}

function classify(error: unknown): { code: string; message: string } | undefined {
  const message = error instanceof Error ? error.message : '';
  if (message.startsWith('Script execution timed out'))
    return { code: 'ERR_TIMEOUT', message: 'the call overran its time limit' };
  if (message.includes('memory limit'))
    return { code: 'ERR_MEMORY_LIMIT', message: 'the isolate ran out of its memory limit' };
  if (message.startsWith('Isolate is disposed') || message.startsWith('Isolate was disposed')) {
    return { code: 'ERR_SANDBOX_CRASHED', message: 'the isolate was disposed' };
  }
  return undefined;
}

function tenantIsolate(message: LoadMessage): TenantIsolate {
  const existing = isolates.get(message.tenantKey);
  if (existing !== undefined && !existing.isolate.isDisposed) return existing;
  const tenantKey = message.tenantKey;
  const isolate = new ivm.Isolate({
    memoryLimit: message.memoryMb,
    // Defends against a wedged process after V8 loses control of an isolate (measured: it hangs):
    // tell the host which tenant did it, then die at once; the supervisor replaces this worker.
    onCatastrophicError: () => {
      try {
        writeSync(2, `\n${FATAL_MARKER} ${tenantKey}\n`);
      } finally {
        process.kill(process.pid, 'SIGKILL');
      }
    },
  });
  const bootstrap = isolate.compileScriptSync(BOOTSTRAP_SOURCE, { filename: BOOTSTRAP_FILENAME });
  const entry: TenantIsolate = { isolate, bootstrap, keys: new Set() };
  isolates.set(tenantKey, entry);
  return entry;
}

/** Disposes a tenant's isolate after an overrun; every component in it is lost. */
function disposeTenant(
  tenantKey: number,
  cause: { code: string; message: string },
  exceptCall?: number,
): void {
  const entry = isolates.get(tenantKey);
  if (entry === undefined) return;
  isolates.delete(tenantKey);
  const lost: number[] = [];
  for (const key of entry.keys) {
    const component = components.get(key);
    components.delete(key);
    lost.push(key);
    if (component === undefined) continue;
    for (const id of component.calls.keys()) {
      const timer = asyncTimers.get(id);
      if (timer !== undefined) clearTimeout(timer.timer);
      asyncTimers.delete(id);
      if (id === exceptCall) continue;
      send({ t: 'done', id, x: cause.code, m: cause.message });
    }
  }
  try {
    if (!entry.isolate.isDisposed) entry.isolate.dispose();
  } catch {
    // already gone
  }
  send({ t: 'lost', keys: lost });
}

function load(message: LoadMessage): void {
  const deadline = performance.now() + message.timeoutMs;
  const remaining = (): number => Math.max(1, Math.ceil(deadline - performance.now()));
  let entry: TenantIsolate | undefined;
  let context: ivm.Context | undefined;
  try {
    entry = tenantIsolate(message);
    context = entry.isolate.createContextSync();
    const key = message.key;
    const bridge = new ivm.Callback(
      (kind: unknown, a: unknown, b: unknown, c: unknown, d: unknown) => onBridge(key, kind, a, b, c, d),
      { ignored: true },
    );
    context.global.setSync(BRIDGE_GLOBAL, bridge);
    const control = entry.bootstrap.runSync(context, {
      reference: true,
      timeout: remaining(),
    }) as ivm.Reference<(...args: unknown[]) => unknown>;
    control.applySync(undefined, ['init', message.meta, message.artifactNames, message.artifactBytes], {
      arguments: { copy: true },
      timeout: remaining(),
    });
    const script = entry.isolate.compileScriptSync(message.source, { filename: message.filename });
    script.runSync(context, { timeout: remaining() });
    script.release();
    const cls = context.evalSync(message.entry, {
      reference: true,
      timeout: remaining(),
      filename: BOOTSTRAP_FILENAME,
    }) as ivm.Reference;
    const r = control.applySync(undefined, ['construct', cls.derefInto()], { timeout: remaining() });
    cls.release();
    if (typeof r !== 'string' || r[0] !== 'R') {
      context.release();
      send({ t: 'done', id: message.id, r: typeof r === 'string' ? r : 'E{}' });
      if (entry.keys.size === 0) disposeIdle(message.tenantKey);
      return;
    }
    entry.keys.add(key);
    components.set(key, {
      key,
      tenantKey: message.tenantKey,
      context,
      control,
      timeoutMs: message.timeoutMs,
      calls: new Map(),
    });
    send({ t: 'done', id: message.id, r });
  } catch (error) {
    const known = classify(error);
    if (known !== undefined) {
      if (entry !== undefined) disposeTenant(message.tenantKey, known);
      send({ t: 'done', id: message.id, x: known.code, m: known.message });
      return;
    }
    try {
      context?.release();
    } catch {
      // isolate gone
    }
    if (entry !== undefined && entry.keys.size === 0) disposeIdle(message.tenantKey);
    // A compile or top-level error of the tenant's own script: its message and stack are the tenant's.
    const e = error as { message?: unknown; stack?: unknown } | null;
    const text = JSON.stringify({
      message:
        typeof e?.message === 'string' ? e.message.slice(0, 4096) : 'the component could not be loaded',
      stack: typeof e?.stack === 'string' ? e.stack.slice(0, 16384) : '',
      code: '',
    });
    send({ t: 'done', id: message.id, x: 'ERR_INSTANTIATE', m: text });
  }
}

function disposeIdle(tenantKey: number): void {
  const entry = isolates.get(tenantKey);
  if (entry === undefined || entry.keys.size > 0) return;
  isolates.delete(tenantKey);
  if (!entry.isolate.isDisposed) entry.isolate.dispose();
}

function call(message: CallMessage): void {
  const component = components.get(message.key);
  if (component === undefined) {
    send({
      t: 'done',
      id: message.id,
      x: 'ERR_SANDBOX_CRASHED',
      m: 'the component is not loaded in this worker',
    });
    return;
  }
  const deadline = performance.now() + message.timeoutMs;
  component.calls.set(message.id, deadline);
  let r: unknown;
  try {
    r = component.control.applySync(undefined, ['call', message.id, message.method, message.args], {
      timeout: message.timeoutMs,
    });
  } catch (error) {
    component.calls.delete(message.id);
    const known = classify(error) ?? {
      code: 'ERR_SANDBOX_CRASHED',
      message: 'the call failed inside the sandbox',
    };
    send({ t: 'done', id: message.id, x: known.code, m: known.message });
    disposeTenant(component.tenantKey, known, message.id);
    return;
  }
  if (r === 'A') {
    // Already finished inside the same turn (the bridge reported it while we were in applySync).
    if (!component.calls.has(message.id)) return;
    // Async method: the wall-clock timer covers promise chains and time spent in capabilities.
    const remaining = Math.max(1, deadline - performance.now());
    const timer = setTimeout(() => {
      asyncTimers.delete(message.id);
      component.calls.delete(message.id);
      send({ t: 'done', id: message.id, x: 'ERR_TIMEOUT', m: 'the call overran its time limit' });
      disposeTenant(component.tenantKey, {
        code: 'ERR_SANDBOX_CRASHED',
        message: 'the isolate was disposed after a call overran',
      });
    }, remaining);
    asyncTimers.set(message.id, { key: component.key, timer });
    return;
  }
  component.calls.delete(message.id);
  send({ t: 'done', id: message.id, r: typeof r === 'string' ? r : 'E{}' });
}

function onBridge(key: number, kind: unknown, a: unknown, b: unknown, c: unknown, d: unknown): void {
  const component = components.get(key);
  if (component === undefined) return;
  if (kind === 'done' && typeof a === 'number' && typeof b === 'string') {
    if (!component.calls.has(a)) return;
    component.calls.delete(a);
    const timer = asyncTimers.get(a);
    if (timer !== undefined) clearTimeout(timer.timer);
    asyncTimers.delete(a);
    send({ t: 'done', id: a, r: b });
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

function capResult(message: CapResultMessage): void {
  const component = components.get(message.key);
  if (component === undefined) return;
  // Promise continuations run inside this settle call: give them the furthest live deadline.
  let deadline = performance.now() + component.timeoutMs;
  if (component.calls.size > 0) {
    deadline = 0;
    for (const d of component.calls.values()) deadline = Math.max(deadline, d);
  }
  const timeout = Math.max(1, Math.ceil(deadline - performance.now()));
  try {
    component.control.applySync(undefined, ['settle', message.req, message.ok, message.text, message.code], {
      timeout,
    });
  } catch (error) {
    const known = classify(error) ?? { code: 'ERR_SANDBOX_CRASHED', message: 'the isolate failed' };
    disposeTenant(component.tenantKey, known);
  }
}

function unload(id: number, key: number): void {
  const component = components.get(key);
  if (component !== undefined) {
    components.delete(key);
    for (const callId of component.calls.keys()) {
      const timer = asyncTimers.get(callId);
      if (timer !== undefined) clearTimeout(timer.timer);
      asyncTimers.delete(callId);
      send({ t: 'done', id: callId, x: 'ERR_SANDBOX_CLOSED', m: 'the component was disposed' });
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
      call(message);
      return;
    case 'capres':
      capResult(message);
      return;
    case 'load':
      load(message);
      return;
    case 'unload':
      unload(message.id, message.key);
      return;
    case 'ping':
      send({ t: 'pong', n: message.n });
      return;
  }
}

process.on('message', (batch: unknown) => {
  if (!Array.isArray(batch)) handle(batch as HostMessage);
  else for (const message of batch as HostMessage[]) handle(message);
});
// The host went away: nothing to serve, leave nothing behind.
process.on('disconnect', () => process.exit(0));
send({ t: 'ready' });
