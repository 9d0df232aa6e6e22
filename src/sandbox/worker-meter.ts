/**
 * The worker's ops in flight, grouped into one lane per tenant, and the budget meter that charges
 * each op the isolate time it used (time-model.ts, docs/sandbox.md "Time" and "Pipelined calls").
 * worker-main.ts decides what enters an isolate and when; this module only keeps the books.
 */
import type { CallMessage } from './protocol.ts';
import { METER_PERIOD_MS, pipelinedBackstopMs, wallCeilingMs } from './time-model.ts';

/** A load or call that has not been answered yet, with what its budget has used. */
export interface InFlight {
  /** the host's request id */
  readonly id: number;
  readonly tenantKey: number;
  readonly key: number;
  readonly budgetMs: number;
  /** a call's number in its component's meter slot; 0 for a load */
  readonly slot: number;
  /** the call as it arrived (a call handed back by the bootstrap waits in its lane again) */
  readonly waiting: Waiting | undefined;
  /** budget used so far (ms): metered isolate CPU + capability wall time */
  used: number;
  /** capability requests of this op the host has not answered yet */
  capsOutstanding: number;
  /** an async call whose outcome arrives through the bridge */
  async: boolean;
  /** bumped by every capability request and answer of this op (see checkSettleable) */
  activity: number;
  /** wall-clock backstop (ceiling) */
  readonly ceiling: NodeJS.Timeout;
}

/** A call that arrived and has not entered its isolate. */
export interface Waiting {
  readonly message: CallMessage;
  /** the caller's deadline on this process's clock (performance.now()) */
  readonly deadline: number;
  /** arrival order */
  readonly order: number;
}

/**
 * A tenant's ops in this worker: one load, or calls of one component. The host pipelines a
 * component's calls: they arrive while earlier ones run, and enter the isolate at once
 * (isolated-vm runs an isolate's entries in order, back to back, without a hop through the
 * worker's event loop between them). A call of another component, or any call behind an
 * unsettled async call, waits in `queue` until the ops in flight are answered.
 *
 * The meter charges the isolate's clock to the call running: each call writes its slot number into
 * the component's meter slot as it starts, and a period's growth is charged to the call the slot
 * named at both ends of it. A call that started within the period is charged from the next one on
 * (it may run one period past its budget before the meter sees it), never for another's time.
 */
export interface Lane {
  /** ops tracked (in flight) */
  readonly ops: Map<number, InFlight>;
  /** the component whose calls are in flight, undefined while a load is */
  key: number | undefined;
  /** its meter slot */
  slots: Int32Array | undefined;
  /** the in-flight async call of `key`, if any (calls behind it wait) */
  asyncOp: number | undefined;
  /** calls that arrived and wait to enter, in arrival order */
  readonly queue: Waiting[];
  /** isolate CPU clock (ms) at the last meter reading */
  lastCpu: number;
  /** the meter slot at the last reading */
  lastSlot: number;
  pumpScheduled: boolean;
}

/** What the meter needs from the worker. */
export interface MeterHooks {
  /** the tenant isolate's CPU clock in ms; undefined once it is disposed */
  readonly cpuOf: (tenantKey: number) => number | undefined;
  /** an op used up its budget, or its wall ceiling passed */
  readonly overran: (id: number) => void;
  /** isolated-vm disposed the tenant's isolate under a running op (it ran out of memory) */
  readonly lost: (tenantKey: number) => void;
  /** an op of the lane stopped being tracked: its waiting calls may enter now */
  readonly released: (tenantKey: number, lane: Lane) => void;
}

/** A call's part in tracking: its slot, how it arrived, its component's meter slot. */
export interface CallTracking {
  readonly slot: number;
  readonly waiting: Waiting;
  readonly slots: Int32Array;
}

/** Whether a call with this slot entered its isolate, given the slot of the call that started last. */
export function startedBy(slot: number, last: number): boolean {
  // Serial-number order on 31 bits: slots grow by one per call and wrap; a lane's live calls span
  // far less than half the range.
  return ((last - slot) & 0x7fffffff) < 0x40000000;
}

function processCpuMs(): number {
  const { user, system } = process.cpuUsage();
  return (user + system) / 1000;
}

/*
 * The budget meter. isolated-vm's per-isolate clock (`cpuTime`) advances while the isolate holds
 * its thread, never while it waits for the lock or for a thread; but it advances with the wall
 * clock (measured: this build reports ~730 ms for a loop that used 113 ms of CPU on a busy
 * machine), so a descheduled isolate would be charged for time it did not get. Each period, the
 * growth of the running isolates' clocks is scaled by the share of CPU this process really got
 * (process CPU time over the summed growth, at most 1): on a quiet machine the meter charges the
 * clock as is, on a busy one what the code ran. Capability calls are charged at wall time.
 */
export class Meter {
  /** every op in flight, by request id */
  readonly ops = new Map<number, InFlight>();
  /** every tenant with ops in flight or calls waiting */
  readonly lanes = new Map<number, Lane>();
  readonly #hooks: MeterHooks;
  #timer: NodeJS.Timeout | undefined;
  #wall = 0;
  #cpu = 0;
  #nextSlot = 0;

  constructor(hooks: MeterHooks) {
    this.#hooks = hooks;
  }

  /** A fresh slot number for a call (never 0: a load's). */
  nextSlot(): number {
    this.#nextSlot = (this.#nextSlot % 0x7ffffffe) + 1;
    return this.#nextSlot;
  }

  /** The tenant's lane, made when it has none. */
  laneOf(tenantKey: number): Lane {
    let lane = this.lanes.get(tenantKey);
    if (lane === undefined) {
      lane = {
        ops: new Map(),
        key: undefined,
        slots: undefined,
        asyncOp: undefined,
        queue: [],
        lastCpu: 0,
        lastSlot: 0,
        pumpScheduled: false,
      };
      this.lanes.set(tenantKey, lane);
    }
    return lane;
  }

  /** Starts metering an op's budget; its wall ceiling is the backstop. */
  track(id: number, tenantKey: number, key: number, budgetMs: number, call: CallTracking | undefined): void {
    const lane = this.laneOf(tenantKey);
    if (lane.ops.size === 0) {
      // First op of the lane: the clock is the lane's from now, and the slot already names the
      // call, so the meter charges it from its first period (the isolate writes the same number
      // as it starts).
      lane.lastCpu = this.#hooks.cpuOf(tenantKey) ?? 0;
      lane.slots = call?.slots;
      if (call !== undefined) {
        Atomics.store(call.slots, 0, call.slot);
        // A new turn (the host sends a turn's first call unpipelined, and nothing more to a
        // yielding tenant until its ops are back): a yield asked of the last one is over. Not on
        // a pipelined call that merely finds the lane empty, which is still the yielding turn's.
        if (!call.waiting.message.pipelined) Atomics.store(call.slots, 1, 0);
        lane.lastSlot = call.slot;
      }
    }
    lane.key = call === undefined ? undefined : key;
    // A pipelined call may wait on its isolate behind the calls ahead of it, each ended by its own
    // ceiling at the latest: its backstop counts theirs too (isolated-vm's timeout of the entry
    // itself starts only when the entry runs).
    const ceiling = setTimeout(
      () => this.#hooks.overran(id),
      pipelinedBackstopMs(wallCeilingMs(budgetMs), lane.ops.size),
    );
    const op: InFlight = {
      id,
      tenantKey,
      key,
      budgetMs,
      slot: call?.slot ?? 0,
      waiting: call?.waiting,
      used: 0,
      capsOutstanding: 0,
      async: false,
      activity: 0,
      ceiling,
    };
    this.ops.set(id, op);
    lane.ops.set(id, op);
    this.#start();
  }

  /** Stops metering an op (answered, or handed back to wait); undefined when it was not in flight. */
  untrack(id: number): InFlight | undefined {
    const op = this.ops.get(id);
    if (op === undefined) return undefined;
    this.ops.delete(id);
    clearTimeout(op.ceiling);
    if (this.ops.size === 0) this.#stop();
    const lane = this.lanes.get(op.tenantKey);
    if (lane !== undefined) {
      lane.ops.delete(id);
      if (lane.asyncOp === id) lane.asyncOp = undefined;
      if (lane.ops.size === 0) lane.key = undefined;
      this.#hooks.released(op.tenantKey, lane);
    }
    return op;
  }

  /**
   * The op that pays for what runs in the lane's isolate under this meter slot: the call the slot
   * names. When that call has already been answered, what runs is a continuation it left behind
   * (a capability answer settling after it ended); the lane's first op in flight pays, as the one
   * op in flight did before calls were pipelined (docs/sandbox.md "Time", known limit).
   */
  ownerOf(lane: Lane, slot: number): InFlight | undefined {
    let first: InFlight | undefined;
    for (const op of lane.ops.values()) {
      if (op.slot === slot) return op;
      first ??= op;
    }
    return first;
  }

  /** The op of component `key` in flight with this slot (a load's is 0), if any. */
  withSlot(lane: Lane, slot: number, key: number): InFlight | undefined {
    for (const op of lane.ops.values()) if (op.key === key && op.slot === slot) return op;
    return undefined;
  }

  /**
   * Whether a reading now could push `op` past its budget: a reading adds at most its wall time as
   * CPU (the isolate clock grows no faster than the wall clock, the share is at most 1) plus its
   * wall time for capability calls outstanding.
   */
  mayBeOver(op: InFlight): boolean {
    return this.#timer === undefined || op.used + 2 * (performance.now() - this.#wall) > op.budgetMs;
  }

  /** One reading: charges each lane's isolate-clock growth, then ends the ops past their budget. */
  read(): void {
    const wall = performance.now();
    const cpu = processCpuMs();
    const dWall = wall - this.#wall;
    const dProcess = cpu - this.#cpu;
    this.#wall = wall;
    this.#cpu = cpu;
    const growth = new Map<InFlight, number>();
    const lost: number[] = [];
    let total = 0;
    for (const [tenantKey, lane] of this.lanes) {
      if (lane.ops.size === 0) continue;
      const now = this.#hooks.cpuOf(tenantKey);
      if (now === undefined) {
        lost.push(tenantKey);
        continue;
      }
      const grew = Math.max(0, now - lane.lastCpu);
      lane.lastCpu = now;
      total += grew;
      // Charged to the call the slot named at both ends of the period (see Lane), or to the
      // lane's only op when it has no slot (a load).
      let target: InFlight | undefined;
      if (lane.slots === undefined) {
        target = lane.ops.size === 1 ? lane.ops.values().next().value : undefined;
      } else {
        const slot = Atomics.load(lane.slots, 0);
        if (slot === lane.lastSlot) target = this.ownerOf(lane, slot);
        lane.lastSlot = slot;
      }
      if (target !== undefined) growth.set(target, grew);
    }
    for (const tenantKey of lost) this.#hooks.lost(tenantKey);
    const share = total > 0 ? Math.min(1, Math.max(0.05, dProcess / total)) : 1;
    for (const op of this.ops.values()) {
      op.used += (growth.get(op) ?? 0) * share + (op.capsOutstanding > 0 ? dWall : 0);
    }
    for (const [id, op] of [...this.ops]) if (op.used > op.budgetMs) this.#hooks.overran(id);
  }

  #start(): void {
    if (this.#timer !== undefined) return;
    this.#wall = performance.now();
    this.#cpu = processCpuMs();
    this.#timer = setInterval(() => this.read(), METER_PERIOD_MS);
  }

  #stop(): void {
    clearInterval(this.#timer);
    this.#timer = undefined;
  }
}
