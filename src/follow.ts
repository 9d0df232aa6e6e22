/**
 * Live updates: a handle that always serves the newest published version of one component that
 * passes trust, rollback and policy. New versions are loaded (verified, checked, instantiated) in
 * the background through the loader's own pipeline and swapped in atomically; calls already
 * running finish on the version they started on, which is disposed once they are done. A refused
 * version leaves the current one serving (the loader reports the refusal as a decision event).
 */
import type { JsonValue } from './envelope/types.ts';
import { EnvelopeError, SandboxError } from './errors.ts';
import type { PublishedEnvelope, Registry } from './store/types.ts';

/** What the loader hands back for one loaded version. */
export interface FollowTarget {
  readonly version: number;
  readonly digest: string;
  call(method: string, ...args: JsonValue[]): Promise<JsonValue>;
  invoke?(
    method: string,
    args: readonly JsonValue[],
    options?: { readonly deadlineMs?: number; readonly signal?: AbortSignal },
  ): Promise<JsonValue>;
  dispose(): Promise<void>;
}

/** Options of `loader.follow`. */
export interface FollowOptions {
  /** Poll period of the registry (PostgreSQL also gets notifications). Default: the store's. */
  readonly pollMs?: number;
  /** How long a refused envelope is left alone before it is tried again (ms, default 60 000). */
  readonly retryRefusedMs?: number;
}

/** A component that follows the registry. */
export interface FollowHandle {
  readonly tenant: string;
  readonly identifier: string;
  /** The version serving now, or undefined. */
  current(): { readonly version: number; readonly digest: string } | undefined;
  /** Resolves once the first look at the registry is done (whether or not a version loaded). */
  ready(): Promise<void>;
  /**
   * Calls the serving version.
   * @throws SandboxError ERR_NO_VERSION when no published version was accepted; whatever the
   *   component's call throws
   */
  call(method: string, ...args: JsonValue[]): Promise<JsonValue>;
  /** Like `call`, with the per-call options of `LoadedComponent.invoke`. */
  invoke(
    method: string,
    args: readonly JsonValue[],
    options?: { readonly deadlineMs?: number; readonly signal?: AbortSignal },
  ): Promise<JsonValue>;
  /** Like `invoke`, also telling which version answered. */
  invokeServing(
    method: string,
    args: readonly JsonValue[],
    options?: { readonly deadlineMs?: number; readonly signal?: AbortSignal },
  ): Promise<{ readonly result: JsonValue; readonly version: number; readonly digest: string }>;
  /** Looks at the registry now (also done on every change notification). */
  refresh(): Promise<void>;
  /** Stops following and disposes the serving version once its calls are done. Idempotent. */
  close(): Promise<void>;
}

/** What {@link createFollow} needs from the loader. */
export interface FollowDeps {
  readonly tenant: string;
  readonly identifier: string;
  readonly registry: Registry;
  /** The loader's whole pipeline for one envelope, as `tenant` (records rollback on success). */
  load(envelope: string): Promise<FollowTarget>;
}

/** Rows read per registry page, pages per refresh, loads tried per refresh. */
const PAGE = 16;
const MAX_PAGES = 8;
const MAX_LOADS_PER_REFRESH = 8;
/** Refused envelopes remembered (oldest forgotten first). */
const MAX_REFUSED = 1024;

/** One loaded version with its in-flight call count. */
class Serving {
  #inflight = 0;
  #retired = false;
  #disposed: Promise<void> | undefined;

  readonly target: FollowTarget;

  constructor(target: FollowTarget) {
    this.target = target;
  }

  async run<T>(work: (target: FollowTarget) => Promise<T>): Promise<T> {
    this.#inflight++;
    try {
      return await work(this.target);
    } finally {
      this.#inflight--;
      if (this.#retired && this.#inflight === 0) void this.#dispose();
    }
  }

  /** No new calls will come: dispose once the running ones are done. */
  retire(): Promise<void> {
    this.#retired = true;
    return this.#inflight === 0 ? this.#dispose() : Promise.resolve();
  }

  #dispose(): Promise<void> {
    this.#disposed ??= this.target.dispose().catch(() => undefined);
    return this.#disposed;
  }
}

/** Starts following (tenant, identifier) in `deps.registry`. */
export function createFollow(deps: FollowDeps, options: FollowOptions = {}): FollowHandle {
  const retryRefusedMs = options.retryRefusedMs ?? 60_000;
  let serving: Serving | undefined;
  let closed = false;
  // envelopeHash → time after which it may be tried again (Infinity: never, malformed bytes).
  const refused = new Map<string, number>();
  let running: Promise<void> | undefined;
  let again = false;

  function remember(row: PublishedEnvelope, error: unknown): void {
    // Malformed bytes never become well-formed; anything else (a key added later, a policy
    // reload, a store or sandbox hiccup) may change, so it is retried after a while.
    refused.set(row.envelopeHash, error instanceof EnvelopeError ? Infinity : Date.now() + retryRefusedMs);
    if (refused.size > MAX_REFUSED) refused.delete(refused.keys().next().value!);
  }

  async function refreshOnce(): Promise<void> {
    const above = serving?.target.version ?? 0;
    let loads = 0;
    for (let page = 0; page < MAX_PAGES && loads < MAX_LOADS_PER_REFRESH; page++) {
      const rows = await deps.registry.candidates(deps.tenant, deps.identifier, {
        above,
        limit: PAGE,
        offset: page * PAGE,
      });
      for (const row of rows) {
        if (closed) return;
        // Defends against a row the store mislabels: only rows of this tenant and identifier above
        // the serving version are tried (the loader then checks the statement itself).
        if (row.tenant !== deps.tenant || row.identifier !== deps.identifier || row.version <= above)
          continue;
        if ((refused.get(row.envelopeHash) ?? 0) > Date.now()) continue;
        if (loads >= MAX_LOADS_PER_REFRESH) return;
        loads++;
        let target: FollowTarget;
        try {
          target = await deps.load(row.envelope);
        } catch (error) {
          remember(row, error);
          continue;
        }
        if (closed) {
          await target.dispose().catch(() => undefined);
          return;
        }
        // A statement's tenant/identifier are checked by the loader against the load's tenant, but
        // its identifier could differ from the row's label: such a version is not this component.
        if (target.version <= (serving?.target.version ?? 0)) {
          await target.dispose().catch(() => undefined);
          continue;
        }
        const old = serving;
        serving = new Serving(target);
        void old?.retire();
        return;
      }
      if (rows.length < PAGE) return;
    }
  }

  function refresh(): Promise<void> {
    if (closed) return Promise.resolve();
    if (running !== undefined) {
      again = true;
      return running;
    }
    running = (async () => {
      try {
        do {
          again = false;
          try {
            await refreshOnce();
          } catch {
            // The store is unreachable: the serving version keeps serving; the next notification
            // or poll tries again (new versions fail closed meanwhile).
          }
        } while (again && !closed);
      } finally {
        running = undefined;
      }
    })();
    return running;
  }

  const first = refresh();
  const unwatch = deps.registry.watch(() => void refresh(), {
    ...(options.pollMs !== undefined ? { pollMs: options.pollMs } : {}),
  });

  async function invokeServing(
    method: string,
    args: readonly JsonValue[],
    callOptions?: { readonly deadlineMs?: number; readonly signal?: AbortSignal },
  ): Promise<{ readonly result: JsonValue; readonly version: number; readonly digest: string }> {
    if (serving === undefined && !closed) await first;
    const now = serving;
    if (closed)
      throw new SandboxError('ERR_SANDBOX_CLOSED', `follow ${deps.tenant}/${deps.identifier}: closed`);
    if (now === undefined) {
      throw new SandboxError(
        'ERR_NO_VERSION',
        `${deps.tenant}/${deps.identifier}: no published version was accepted`,
        { tenant: deps.tenant, identifier: deps.identifier },
      );
    }
    return now.run(async (target) => ({
      result: await (target.invoke !== undefined
        ? target.invoke(method, args, callOptions)
        : target.call(method, ...args)),
      version: target.version,
      digest: target.digest,
    }));
  }

  const invoke = async (
    method: string,
    args: readonly JsonValue[],
    callOptions?: { readonly deadlineMs?: number; readonly signal?: AbortSignal },
  ): Promise<JsonValue> => (await invokeServing(method, args, callOptions)).result;

  return Object.freeze({
    tenant: deps.tenant,
    identifier: deps.identifier,
    current: () =>
      serving === undefined ? undefined : { version: serving.target.version, digest: serving.target.digest },
    ready: () => first,
    call: (method: string, ...args: JsonValue[]) => invoke(method, args),
    invoke,
    invokeServing,
    refresh,
    async close() {
      if (closed) return;
      closed = true;
      unwatch();
      await running?.catch(() => undefined);
      const old = serving;
      serving = undefined;
      await old?.retire();
    },
  });
}
