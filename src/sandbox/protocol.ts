/**
 * Messages between the supervisor (host) and a worker process, sent as length-prefixed frames over
 * a dedicated pipe (see the framing section). Worker → host messages are untrusted: the host bounds
 * every frame and checks every field it reads.
 */
import { TAG } from './bootstrap.ts';

/** Load one component into a fresh context of the tenant's isolate. */
export interface LoadMessage {
  readonly t: 'load';
  readonly id: number;
  readonly key: number;
  /** host-assigned small integer naming the tenant inside this worker */
  readonly tenantKey: number;
  readonly memoryMb: number;
  /** the tenant's budget (time-model.ts): CPU ms of its code, plus its capability calls */
  readonly budgetMs: number;
  /** sanitised script filename, `sealbox:<identifier>` */
  readonly filename: string;
  readonly entry: string;
  readonly source: string;
  /** hex SHA-256 of `source`, computed by the host (the worker's compiled-script cache key) */
  readonly sourceSha256: string;
  /** JSON text of the bootstrap meta (identity, params text, capability stubs, JSON caps) */
  readonly meta: string;
  readonly artifactNames: readonly string[];
  readonly artifactBytes: readonly Uint8Array[];
}

/** Call a method of a loaded component. */
export interface CallMessage {
  readonly t: 'call';
  readonly id: number;
  readonly key: number;
  readonly method: string;
  /** JSON text of the argument array */
  readonly args: string;
  /** the tenant's budget (time-model.ts): CPU ms of its code, plus its capability calls */
  readonly budgetMs: number;
  /**
   * Wall ms left to the caller's deadline when sent: a call still waiting in the worker past it is
   * handed back as never started (NOT_STARTED) instead of run.
   */
  readonly deadlineMs: number;
  /** sent while an earlier call of the tenant is still in the worker (see worker-process.ts) */
  readonly pipelined: boolean;
}

/** The answer to a capability request. */
export interface CapResultMessage {
  readonly t: 'capres';
  readonly key: number;
  readonly req: number;
  readonly ok: boolean;
  /** JSON text of the value (ok; '' for undefined) or the refusal message */
  readonly text: string;
  readonly code: string;
}

/** Drop a component's context (and the tenant's isolate when it was the last one). */
export interface UnloadMessage {
  readonly t: 'unload';
  readonly id: number;
  readonly key: number;
}

/** Heartbeat. */
export interface PingMessage {
  readonly t: 'ping';
  readonly n: number;
}

/**
 * Another tenant waits for a turn on this worker: the tenant's pipelined calls that have not
 * started go back to the host (YIELDED) instead of running, so its pipeline drains now.
 */
export interface YieldMessage {
  readonly t: 'yield';
  readonly tenantKey: number;
}

/** Host → worker. */
export type HostMessage =
  LoadMessage | CallMessage | CapResultMessage | UnloadMessage | PingMessage | YieldMessage;

/** Worker → host. */
export type WorkerMessage =
  | { readonly t: 'ready' }
  | { readonly t: 'pong'; readonly n: number }
  /** the answer to a load or call: build it with doneValue/doneFailure, read it with decodeAnswer */
  | DoneMessage
  | {
      readonly t: 'cap';
      readonly key: number;
      readonly req: number;
      readonly cap: string;
      readonly method: string;
      readonly args: string;
      /** the request id of the load or call that made it (its quota pays), -1 when none is in flight */
      readonly op: number;
    }
  /**
   * the tenant isolate holding these components was disposed; `running`: its thread had not
   * returned yet (it may keep running, and allocating, until 'released')
   */
  | {
      readonly t: 'lost';
      readonly keys: readonly number[];
      readonly tenantKey: number;
      readonly running: boolean;
    }
  /** a disposed tenant isolate still holds its thread past STUCK_NOTICE_MS (it ignored termination) */
  | { readonly t: 'stuck'; readonly tenantKey: number }
  /** the disposed isolate of this tenant that was still running has returned its thread */
  | { readonly t: 'released'; readonly tenantKey: number };

/**
 * The failure code of a load or call the worker gives back without running any of it (a pipelined
 * call behind one that lost the isolate, past its deadline, or behind an async call that failed).
 * The host runs it again; it never reaches a caller.
 */
export const NOT_STARTED = 'ERR_NOT_STARTED';

/** Like NOT_STARTED, for a pipelined call given back because its tenant yields its turn. */
export const YIELDED = 'ERR_YIELDED';

/** Marker a worker writes to stderr right before killing itself on a catastrophic isolate error. */
export const FATAL_MARKER = 'SEALBOX_FATAL';
/** Marker a worker writes to stderr before killing itself: an isolate kept running after termination. */
export const RUNAWAY_MARKER = 'SEALBOX_RUNAWAY';

// ---------------------------------------------------------------- answers

/**
 * `done` on the wire: `r` carries the bootstrap's tagged result text (first character: a TAG from
 * bootstrap.ts), or `x`/`m` carry a sandbox error code and message. Only this module reads or
 * writes these letters.
 */
export interface DoneMessage {
  readonly t: 'done';
  readonly id: number;
  readonly r?: string;
  readonly x?: string;
  readonly m?: string;
}

/** A load or call answered with the bootstrap's tagged text. */
export function doneValue(id: number, tagged: string): DoneMessage {
  return { t: 'done', id, r: tagged };
}

/** A load or call ended by the sandbox itself (timeout, memory, crash) with a code and message. */
export function doneFailure(id: number, code: string, message: string): DoneMessage {
  return { t: 'done', id, x: code, m: message };
}

/** The tagged text of a `done` built by doneValue, or undefined. */
export function taggedOf(message: DoneMessage): string | undefined {
  return message.x === undefined ? message.r : undefined;
}

/** Error details the bootstrap sends with an error-like answer (all tenant-controlled text). */
export interface AnswerBody {
  readonly message: string;
  readonly stack: string;
  readonly code: string;
}

/** A worker's answer to a load or call, decoded (nothing in it is trusted yet). */
export type Answer =
  /** the method's result JSON text (call), or the method-name array JSON text (load) */
  | { readonly kind: 'value'; readonly text: string }
  /** the component threw */
  | { readonly kind: 'threw'; readonly body: AnswerBody }
  /** the bootstrap refused (a capability refusal reached the top, bad arguments) */
  | { readonly kind: 'refused'; readonly body: AnswerBody }
  /** the result could not be turned into JSON within the caps */
  | { readonly kind: 'invalid'; readonly body: AnswerBody }
  /** no such method */
  | { readonly kind: 'missing' }
  /** the sandbox ended it: `code` is the worker's claim, checked by the host */
  | { readonly kind: 'failed'; readonly code: string; readonly message: string }
  /** anything else: a broken or compromised worker */
  | { readonly kind: 'garbage' };

/** Decodes a worker's `done` (an untrusted object) into an {@link Answer}. */
export function decodeAnswer(raw: unknown): Answer {
  if (raw === null || typeof raw !== 'object') return { kind: 'garbage' };
  const message = raw as Record<string, unknown>;
  if (typeof message['x'] === 'string') {
    const m = message['m'];
    return { kind: 'failed', code: message['x'], message: typeof m === 'string' ? m : '' };
  }
  const r = message['r'];
  if (typeof r !== 'string' || r.length === 0) return { kind: 'garbage' };
  const rest = r.slice(1);
  switch (r[0]) {
    case TAG.result:
      return { kind: 'value', text: rest };
    case TAG.missing:
      return { kind: 'missing' };
    case TAG.error:
      return { kind: 'threw', body: parseAnswerBody(rest) };
    case TAG.refused:
      return { kind: 'refused', body: parseAnswerBody(rest) };
    case TAG.invalid:
      return { kind: 'invalid', body: parseAnswerBody(rest) };
    default:
      return { kind: 'garbage' };
  }
}

/** Parses an error body `{ message, stack, code }`, bounding every field. */
export function parseAnswerBody(text: string): AnswerBody {
  try {
    const body = JSON.parse(text) as { message?: unknown; stack?: unknown; code?: unknown } | null;
    return {
      message: typeof body?.message === 'string' ? body.message.slice(0, 4096) : 'unknown error',
      stack: typeof body?.stack === 'string' ? body.stack.slice(0, 16384) : '',
      code: typeof body?.code === 'string' ? body.code.slice(0, 64) : '',
    };
  } catch {
    return { message: 'unknown error', stack: '', code: '' };
  }
}

// ---------------------------------------------------------------- framing

/*
 * Wire format of the dedicated pipe between host and worker (fd 3 of the worker, a Unix socket
 * pair): frames of `u32 LE length` (of what follows) + `u8 kind` + body. The hot messages (a call,
 * its string result) are binary so their JSON text crosses as-is, never escaped into another JSON
 * string; every other message is one JSON text. Numbers in binary headers are f64 (ids never wrap).
 */
const KIND_JSON = 1;
const KIND_CALL = 2;
const KIND_RESULT = 3;
const KIND_LOAD = 4;
const HEADER = 5;

function frame(kind: number, bodyBytes: number): Buffer {
  const buf = Buffer.allocUnsafe(HEADER + bodyBytes);
  buf.writeUInt32LE(bodyBytes + 1, 0);
  buf[4] = kind;
  return buf;
}

/** A frame carrying one message as JSON text. */
export function encodeJsonFrame(message: HostMessage | WorkerMessage): Buffer {
  const text = JSON.stringify(message);
  const buf = frame(KIND_JSON, Buffer.byteLength(text));
  buf.write(text, HEADER, 'utf8');
  return buf;
}

/** Bytes of a call frame's fixed part: id, key, budget, deadline (f64), pipelined flag, method length (u32). */
const CALL_HEAD = 40;

/** A call frame: the arguments' JSON text travels unescaped. */
export function encodeCallFrame(message: CallMessage): Buffer {
  const methodBytes = Buffer.byteLength(message.method);
  const argsBytes = Buffer.byteLength(message.args);
  const buf = frame(KIND_CALL, CALL_HEAD + methodBytes + argsBytes);
  buf.writeDoubleLE(message.id, HEADER);
  buf.writeDoubleLE(message.key, HEADER + 8);
  buf.writeDoubleLE(message.budgetMs, HEADER + 16);
  buf.writeDoubleLE(message.deadlineMs, HEADER + 24);
  buf.writeUInt32LE(message.pipelined ? 1 : 0, HEADER + 32);
  buf.writeUInt32LE(methodBytes, HEADER + 36);
  buf.write(message.method, HEADER + CALL_HEAD, 'utf8');
  buf.write(message.args, HEADER + CALL_HEAD + methodBytes, 'utf8');
  return buf;
}

/** The answer `{ t: 'done', id, r }` with the bootstrap's tagged result text unescaped. */
export function encodeResultFrame(id: number, r: string): Buffer {
  const buf = frame(KIND_RESULT, 8 + Buffer.byteLength(r));
  buf.writeDoubleLE(id, HEADER);
  buf.write(r, HEADER + 8, 'utf8');
  return buf;
}

/** A load frame: JSON of the message without the artifact bytes, then the bytes back to back. */
export function encodeLoadFrame(message: LoadMessage): Buffer {
  const { artifactBytes, ...rest } = message;
  const text = JSON.stringify({ ...rest, artifactSizes: artifactBytes.map((b) => b.byteLength) });
  const textBytes = Buffer.byteLength(text);
  let total = 4 + textBytes;
  for (const bytes of artifactBytes) total += bytes.byteLength;
  const buf = frame(KIND_LOAD, total);
  buf.writeUInt32LE(textBytes, HEADER);
  buf.write(text, HEADER + 4, 'utf8');
  let offset = HEADER + 4 + textBytes;
  for (const bytes of artifactBytes) {
    buf.set(bytes, offset);
    offset += bytes.byteLength;
  }
  return buf;
}

/**
 * Decodes one frame body (kind byte first) into a message. The shape is not checked here: the
 * host checks every field of a worker message it reads; the worker trusts the host.
 * @throws RangeError or SyntaxError for a malformed frame (the caller treats the peer as broken)
 */
export function decodeFrame(body: Buffer): unknown {
  switch (body[0]) {
    case KIND_JSON:
      return JSON.parse(body.toString('utf8', 1)) as unknown;
    case KIND_RESULT:
      return { t: 'done', id: body.readDoubleLE(1), r: body.toString('utf8', 9) };
    case KIND_CALL: {
      const methodEnd = 1 + CALL_HEAD + body.readUInt32LE(37);
      if (methodEnd > body.length) throw new RangeError('call frame: method overruns the frame');
      return {
        t: 'call',
        id: body.readDoubleLE(1),
        key: body.readDoubleLE(9),
        budgetMs: body.readDoubleLE(17),
        deadlineMs: body.readDoubleLE(25),
        pipelined: body.readUInt32LE(33) === 1,
        method: body.toString('utf8', 1 + CALL_HEAD, methodEnd),
        args: body.toString('utf8', methodEnd),
      } satisfies CallMessage;
    }
    case KIND_LOAD: {
      const textEnd = 5 + body.readUInt32LE(1);
      const head = JSON.parse(body.toString('utf8', 5, textEnd)) as Omit<LoadMessage, 'artifactBytes'> & {
        artifactSizes: number[];
      };
      const artifactBytes: Uint8Array[] = [];
      let offset = textEnd;
      for (const size of head.artifactSizes) {
        if (offset + size > body.length) throw new RangeError('load frame: artifact overruns the frame');
        // A copy: the frame's buffer may be a slice of a larger pooled read buffer.
        const bytes = new Uint8Array(size);
        bytes.set(body.subarray(offset, offset + size));
        artifactBytes.push(bytes);
        offset += size;
      }
      const { artifactSizes: _sizes, ...rest } = head;
      return { ...rest, artifactBytes } satisfies LoadMessage;
    }
    default:
      throw new RangeError('unknown frame kind');
  }
}

/**
 * Splits a byte stream into frame bodies. `maxFrame()` bounds one frame: a peer announcing more
 * is broken or hostile, and `push` throws before buffering it.
 */
export class FrameReader {
  #chunks: Buffer[] = [];
  #buffered = 0;
  /** bytes the next frame needs in the buffer (header included), 0 when unknown */
  #need = 0;
  readonly #maxFrame: () => number;

  constructor(maxFrame: () => number) {
    this.#maxFrame = maxFrame;
  }

  /**
   * Adds a chunk; returns the complete frame bodies it finished, in order.
   * @throws RangeError when a frame is empty or larger than `maxFrame()`
   */
  push(chunk: Buffer): Buffer[] {
    this.#chunks.push(chunk);
    this.#buffered += chunk.length;
    // A large frame arriving in many chunks is joined once, when it is complete.
    if (this.#buffered < this.#need) return [];
    const data = this.#chunks.length === 1 ? chunk : Buffer.concat(this.#chunks, this.#buffered);
    const frames: Buffer[] = [];
    let offset = 0;
    this.#need = 0;
    while (data.length - offset >= 4) {
      const size = data.readUInt32LE(offset);
      // Defends against memory exhaustion by a broken or compromised peer: one frame is bounded.
      if (size === 0 || size > this.#maxFrame()) throw new RangeError(`frame of ${size} bytes refused`);
      if (data.length - offset - 4 < size) {
        this.#need = 4 + size;
        break;
      }
      frames.push(data.subarray(offset + 4, offset + 4 + size));
      offset += 4 + size;
    }
    if (offset < data.length) {
      const rest = data.subarray(offset);
      this.#chunks = [rest];
      this.#buffered = rest.length;
    } else {
      this.#chunks = [];
      this.#buffered = 0;
    }
    return frames;
  }
}

/** The worker's file descriptor of its pipe to the host (stdio index 3). */
export const HOST_FD = 3;
