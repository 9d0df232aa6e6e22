/**
 * The isolates of one worker process, with what it keeps ahead of time to make loads cheap:
 * per tenant isolate one spare context already through the tenant-agnostic bootstrap, a bounded
 * cache of compiled tenant scripts, and one spare tenant-less isolate for the next new tenant.
 *
 * Guarantees kept: two tenants never share an isolate (a spare isolate has never run tenant code
 * and belongs to the first tenant that takes it, for good); every component gets a fresh context
 * (a spare context is taken once, from its own isolate, and a context used by a component is never
 * handed out again); the bootstrap runs before any tenant code; spares and compiled scripts die
 * with their isolate. Spares are made outside loads and calls: a tenant isolate's next spare
 * context starts as soon as a load has answered, the spare isolate through `schedule`
 * (setImmediate by default); a load whose spare is not ready waits for the one being made or
 * bootstraps its own. Every isolate compiles the process's bootstrap (freeze-plan.ts): hardened by
 * an audited freeze plan, from V8's code cache of it.
 *
 * What it does not defend against: a slower load while a spare is being made in the same isolate
 * (isolated-vm runs one thing per isolate at a time; the wait is one bootstrap, ~1-2 ms).
 */
import type IVM from 'isolated-vm';
import { BOOTSTRAP_FILENAME, BRIDGE_GLOBAL } from './bootstrap.ts';
import { CodeCache } from './code-cache.ts';
import { planBootstrap } from './freeze-plan.ts';
import type { BootstrapPlan } from './freeze-plan.ts';

/** A context through the tenant-agnostic bootstrap; `owner.key` is -1 until a load takes it. */
/** Receives a bridge call of a component's context: (component key, kind, its arguments). */
export type BridgeHandler = (
  key: number,
  kind: unknown,
  a: unknown,
  b: unknown,
  c: unknown,
  d: unknown,
  e: unknown,
) => void;

export interface PooledContext {
  readonly context: IVM.Context;
  /** the bootstrap's `control` function (tenant code cannot reach it) */
  readonly control: IVM.Reference<(...args: unknown[]) => unknown>;
  /** the component key its bridge reports for */
  readonly owner: { key: number };
}

/** One isolate: a tenant's, or the pool's spare (tenant key 0) until a new tenant takes it. */
export interface PooledIsolate {
  readonly isolate: IVM.Isolate;
  readonly bootstrap: IVM.Script;
  /** keys of the components loaded in it */
  readonly keys: Set<number>;
  readonly memoryMb: number;
  /** the tenant it serves; 0 while it is the spare isolate */
  readonly owner: { tenantKey: number };
  /** at most one spare context, used at most once */
  spare: PooledContext | undefined;
  /** the background bootstrap of the next spare, while it runs */
  refilling: Promise<void> | undefined;
  /** compiled tenant scripts by `sourceSha256 \0 filename`, least recently used first */
  readonly scripts: Map<string, IVM.Script>;
}

/** Options of {@link ContextPool}. */
export interface ContextPoolOptions {
  /** the isolated-vm module */
  readonly ivm: typeof IVM;
  /** receives every bridge call of a component's context: (component key, kind, ...args) */
  readonly onBridge: BridgeHandler;
  /** V8 lost control of an isolate of this tenant (0: the spare isolate); the process must die */
  readonly onCatastrophicError: (tenantKey: number) => void;
  /** tenants keeping a spare context, most recently re-loading ones (default 8) */
  readonly maxSpareTenants?: number;
  /** compiled scripts kept per isolate (default 64) */
  readonly maxScripts?: number;
  /** runs background work (default setImmediate) */
  readonly schedule?: (work: () => void) => void;
}

/** Time limit of the bootstrap of a spare context (our own code: only a starved machine is slow). */
const SPARE_TIMEOUT_MS = 5000;

function releaseContext(made: PooledContext): void {
  try {
    made.control.release();
    made.context.release();
  } catch {
    // isolate gone
  }
}

/** The isolates of one worker and their spares; see the module comment. */
export class ContextPool {
  /** tenant key → that tenant's isolate */
  readonly isolates = new Map<number, PooledIsolate>();
  /** the spare tenant-less isolate, with the memory limit of the last load */
  spareIsolate: PooledIsolate | undefined;
  /** tenants holding a spare context, least recently loaded first */
  readonly #spareTenants = new Map<number, true>();
  readonly #options: ContextPoolOptions;
  readonly #maxSpareTenants: number;
  readonly #maxScripts: number;
  readonly #schedule: (work: () => void) => void;
  #scheduled = 0;
  /** the bootstrap every isolate compiles (freeze-plan.ts) */
  readonly bootstrapPlan: BootstrapPlan;
  /** V8 code caches of tenant scripts, by the digest of their text (code-cache.ts) */
  readonly codeCache = new CodeCache();

  constructor(options: ContextPoolOptions) {
    this.#options = options;
    this.bootstrapPlan = planBootstrap(options.ivm);
    this.#maxSpareTenants = options.maxSpareTenants ?? 8;
    this.#maxScripts = options.maxScripts ?? 64;
    this.#schedule = options.schedule ?? ((work) => setImmediate(work));
  }

  /**
   * The tenant's isolate: its resident one, the spare isolate when its memory limit matches, or a
   * new one. A tenant that loads into its resident isolate starts keeping a spare context.
   * @throws Error from isolated-vm when the isolate cannot be created
   */
  isolateFor(tenantKey: number, memoryMb: number): PooledIsolate {
    const existing = this.isolates.get(tenantKey);
    if (existing !== undefined && !existing.isolate.isDisposed) {
      // A tenant loading into its resident isolate is likely to load again: it keeps a spare.
      // A tenant loading once gets none (measured: 200 one-component tenants each left a released
      // spare context in an idle heap that never collected it, +0.6 MB RSS per component).
      if (existing.keys.size > 0) this.#touch(tenantKey);
      return existing;
    }
    if (existing !== undefined) this.drop(tenantKey);
    let entry: PooledIsolate;
    const spare = this.spareIsolate;
    if (spare !== undefined && !spare.isolate.isDisposed && spare.memoryMb === memoryMb) {
      // Defends against sharing an isolate between tenants: the spare has never run tenant code
      // and leaves the pool here, for this tenant only.
      this.spareIsolate = undefined;
      spare.owner.tenantKey = tenantKey;
      entry = spare;
    } else {
      entry = this.#newIsolate(memoryMb, tenantKey);
    }
    this.isolates.set(tenantKey, entry);
    return entry;
  }

  /**
   * A fresh context for component `key`: the isolate's spare (waiting for the one being made), or
   * a newly bootstrapped one. Never one that another component used.
   * @throws Error from isolated-vm (timeout, memory limit, disposed isolate)
   */
  async takeContext(entry: PooledIsolate, key: number, timeoutMs: number): Promise<PooledContext> {
    if (entry.spare === undefined && entry.refilling !== undefined) await entry.refilling;
    let taken = entry.spare;
    // Defends against sharing a context: a spare is handed out once, then forgotten by the pool.
    entry.spare = undefined;
    if (taken === undefined || entry.isolate.isDisposed) taken = await this.#bootstrap(entry, timeoutMs);
    taken.owner.key = key;
    return taken;
  }

  /**
   * The tenant script compiled once per isolate. `sourceSha256` names `source` for the isolate's
   * own cache (the host's digest of the verified source, plus what the worker appends to it); a compile in a new isolate uses the worker's own code cache of
   * the same text (code-cache.ts), never cached data from outside.
   * @throws Error from isolated-vm (syntax error of the script: not cached)
   */
  async compiled(
    entry: PooledIsolate,
    sourceSha256: string,
    filename: string,
    source: string,
  ): Promise<IVM.Script> {
    const cacheKey = `${sourceSha256}\u0000${filename}`;
    const hit = entry.scripts.get(cacheKey);
    if (hit !== undefined) {
      entry.scripts.delete(cacheKey);
      entry.scripts.set(cacheKey, hit);
      return hit;
    }
    // Defends against running another text's compiled code: the code cache is keyed by a digest
    // of this very text, computed here (a wrong sourceSha256 from anywhere cannot select it).
    // Defends against learning by timing what other tenants load (a known template with a guessed
    // constant, one load per guess): the key includes the tenant, so no tenant hits another's entry.
    const codeKey = `${entry.owner.tenantKey}\u0000${CodeCache.keyOf(source)}`;
    const cachedData = this.codeCache.get(codeKey);
    const script = (await entry.isolate.compileScript(source, {
      filename,
      ...(cachedData ? { cachedData } : { produceCachedData: true }),
    })) as IVM.Script & IVM.CachedDataResult & { cachedDataRejected?: boolean };
    if (cachedData !== undefined && script.cachedDataRejected === true) this.codeCache.forget(codeKey);
    if (cachedData === undefined && script.cachedData !== undefined)
      this.codeCache.remember(codeKey, script.cachedData);
    if (entry.isolate.isDisposed || !this.#current(entry)) return script;
    entry.scripts.set(cacheKey, script);
    if (entry.scripts.size > this.#maxScripts) {
      // Not released here: a load may hold it between compiled() and run(); GC frees the handle.
      const [oldest] = entry.scripts.keys();
      if (oldest !== undefined) entry.scripts.delete(oldest);
    }
    return script;
  }

  /**
   * After a load answered: start this isolate's next spare context at once (it runs on the
   * isolate's own thread, so a load arriving back to back finds it made or being made instead of
   * bootstrapping on its critical path), and make the spare isolate through `schedule` (creating
   * an isolate is synchronous work on the caller's thread).
   */
  afterLoad(entry: PooledIsolate, memoryMb: number): void {
    this.#refill(entry);
    this.#scheduled++;
    this.#schedule(() => {
      this.#scheduled--;
      const spare = this.spareIsolate;
      if (spare !== undefined && (spare.isolate.isDisposed || spare.memoryMb !== memoryMb)) {
        this.spareIsolate = undefined;
        this.#dispose(spare);
      }
      if (this.spareIsolate === undefined) {
        try {
          this.spareIsolate = this.#newIsolate(memoryMb, 0);
        } catch {
          this.spareIsolate = undefined;
        }
      }
      if (this.spareIsolate !== undefined) this.#refill(this.spareIsolate);
    });
  }

  /**
   * Removes a tenant's isolate and disposes it with its spare context and compiled scripts.
   * Returns what was removed.
   */
  drop(tenantKey: number): PooledIsolate | undefined {
    const entry = this.isolates.get(tenantKey);
    if (entry === undefined) return undefined;
    this.isolates.delete(tenantKey);
    this.#spareTenants.delete(tenantKey);
    this.#dispose(entry);
    return entry;
  }

  /** Resolves when the background work scheduled so far has finished (tests, shutdown). */
  async settled(): Promise<void> {
    while (this.#scheduled > 0) await new Promise((resolve) => setImmediate(resolve));
    const all = [...this.isolates.values()];
    if (this.spareIsolate !== undefined) all.push(this.spareIsolate);
    await Promise.all(all.map((entry) => entry.refilling));
  }

  #newIsolate(memoryMb: number, tenantKey: number): PooledIsolate {
    const owner = { tenantKey };
    const onCatastrophicError = this.#options.onCatastrophicError;
    const isolate = new this.#options.ivm.Isolate({
      memoryLimit: memoryMb,
      onCatastrophicError: () => onCatastrophicError(owner.tenantKey),
    });
    const bootstrap = isolate.compileScriptSync(this.bootstrapPlan.source, {
      filename: BOOTSTRAP_FILENAME,
      ...(this.bootstrapPlan.cachedData ? { cachedData: this.bootstrapPlan.cachedData } : {}),
    });
    return {
      isolate,
      bootstrap,
      keys: new Set(),
      memoryMb,
      owner,
      spare: undefined,
      refilling: undefined,
      scripts: new Map(),
    };
  }

  #dispose(entry: PooledIsolate): void {
    entry.spare = undefined;
    entry.scripts.clear();
    try {
      if (!entry.isolate.isDisposed) entry.isolate.dispose();
    } catch {
      // already gone
    }
  }

  async #bootstrap(entry: PooledIsolate, timeout: number): Promise<PooledContext> {
    const context = await entry.isolate.createContext();
    const owner = { key: -1 };
    const onBridge = this.#options.onBridge;
    const bridge = new this.#options.ivm.Callback(
      (kind: unknown, a: unknown, b: unknown, c: unknown, d: unknown, e: unknown) => {
        if (owner.key >= 0) onBridge(owner.key, kind, a, b, c, d, e);
      },
      { ignored: true },
    );
    try {
      await context.global.set(BRIDGE_GLOBAL, bridge);
      const control = (await entry.bootstrap.run(context, { reference: true, timeout })) as IVM.Reference<
        (...args: unknown[]) => unknown
      >;
      return { context, control, owner };
    } catch (error) {
      try {
        context.release();
      } catch {
        // isolate gone
      }
      throw error;
    }
  }

  /** Whether the isolate is live and still the spare isolate or its tenant's isolate. */
  #current(entry: PooledIsolate): boolean {
    if (entry.isolate.isDisposed) return false;
    return entry === this.spareIsolate || this.isolates.get(entry.owner.tenantKey) === entry;
  }

  #refill(entry: PooledIsolate): void {
    if (entry.spare !== undefined || entry.refilling !== undefined || !this.#current(entry)) return;
    if (entry !== this.spareIsolate && !this.#spareTenants.has(entry.owner.tenantKey)) return;
    entry.refilling = (async () => {
      let made: PooledContext | undefined;
      try {
        made = await this.#bootstrap(entry, SPARE_TIMEOUT_MS);
      } catch {
        made = undefined; // disposed meanwhile or starved: the next load bootstraps its own context
      }
      entry.refilling = undefined;
      if (made === undefined) return;
      // Kept even if the tenant left the recent list meanwhile: a load may be waiting for it.
      if (entry.spare === undefined && this.#current(entry)) entry.spare = made;
      else releaseContext(made);
    })();
  }

  #touch(tenantKey: number): void {
    this.#spareTenants.delete(tenantKey);
    this.#spareTenants.set(tenantKey, true);
    if (this.#spareTenants.size <= this.#maxSpareTenants) return;
    const [oldest] = this.#spareTenants.keys();
    if (oldest === undefined) return;
    this.#spareTenants.delete(oldest);
    const old = this.isolates.get(oldest);
    if (old?.spare !== undefined) {
      releaseContext(old.spare);
      old.spare = undefined;
    }
  }
}
