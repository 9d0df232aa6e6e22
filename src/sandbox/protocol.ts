/**
 * Messages between the supervisor (host) and a worker process. Sent in batches (arrays) over the
 * IPC channel. Worker → host messages are untrusted: the host checks every field it reads.
 */

/** Load one component into a fresh context of the tenant's isolate. */
export interface LoadMessage {
  readonly t: 'load';
  readonly id: number;
  readonly key: number;
  /** host-assigned small integer naming the tenant inside this worker */
  readonly tenantKey: number;
  readonly memoryMb: number;
  readonly timeoutMs: number;
  /** sanitised script filename, `sealbox:<identifier>` */
  readonly filename: string;
  readonly entry: string;
  readonly source: string;
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
  readonly timeoutMs: number;
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

/** Host → worker. */
export type HostMessage = LoadMessage | CallMessage | CapResultMessage | UnloadMessage | PingMessage;

/** Worker → host. */
export type WorkerMessage =
  | { readonly t: 'ready' }
  | { readonly t: 'pong'; readonly n: number }
  /** `r`: the bootstrap's tagged result string; or `x`/`m`: a sandbox error code and message */
  | { readonly t: 'done'; readonly id: number; readonly r?: string; readonly x?: string; readonly m?: string }
  | {
      readonly t: 'cap';
      readonly key: number;
      readonly req: number;
      readonly cap: string;
      readonly method: string;
      readonly args: string;
    }
  /** the tenant isolate holding these components was disposed */
  | { readonly t: 'lost'; readonly keys: readonly number[] };

/** Marker a worker writes to stderr right before killing itself on a catastrophic isolate error. */
export const FATAL_MARKER = 'SEALBOX_FATAL';
