/**
 * The freeze plan of a worker process: which bootstrap source its isolates compile.
 *
 * The tenant-agnostic bootstrap freezes every intrinsic reachable from the global object. Walking
 * that graph (reading ~2,500 property descriptors, in the interpreter, in every fresh context) was
 * most of a context's cost. Once per process, a throwaway isolate of the worker's own runs the full
 * walk and records the one step that first reached each object; a second context is then hardened
 * by the recorded plan alone and audited with the full walk. Only a plan whose audit finds nothing
 * unfrozen is used; otherwise the process keeps the full walk everywhere.
 *
 * Why the plan fits every later context: contexts of one process start from the same V8 snapshot
 * and run the same bootstrap before the walk, with no input (the bridge is the only value passed
 * in, and the walk does not reach it). A context where a step lands somewhere else falls back to
 * the full walk by itself (bootstrap.ts, hardenByPlan).
 */
import type IVM from 'isolated-vm';
import { BOOTSTRAP_FILENAME, BOOTSTRAP_SOURCE, BRIDGE_GLOBAL, withFreezePlan } from './bootstrap.ts';

/** Memory of the throwaway isolate, MB (a bootstrapped context needs ~2). */
const PLAN_ISOLATE_MB = 32;
/** Time limit of each step there (our own code: only a starved machine is slow). */
const PLAN_TIMEOUT_MS = 10_000;

/** What a worker's isolates compile. */
export interface BootstrapPlan {
  /** the bootstrap source: with an audited freeze plan, or as written (full walk) */
  readonly source: string;
  /** whether `source` carries a freeze plan */
  readonly planned: boolean;
  /** V8's code cache of `source`, when it could be made */
  readonly cachedData: IVM.ExternalCopy<ArrayBuffer> | undefined;
}

function bootstrapped(ivm: typeof IVM, isolate: IVM.Isolate, source: string) {
  const context = isolate.createContextSync();
  context.global.setSync(BRIDGE_GLOBAL, new ivm.Callback(() => undefined, { ignored: true }));
  const script = isolate.compileScriptSync(source, { filename: BOOTSTRAP_FILENAME, produceCachedData: true });
  const control = script.runSync(context, { reference: true, timeout: PLAN_TIMEOUT_MS }) as IVM.Reference<
    (...args: unknown[]) => unknown
  >;
  return { control, cachedData: (script as IVM.Script & IVM.CachedDataResult).cachedData };
}

/**
 * The bootstrap this process should compile: with an audited freeze plan, or the source as written
 * (full walk) when recording or auditing fails. Synchronous; run once at worker start.
 */
export function planBootstrap(ivm: typeof IVM): BootstrapPlan {
  const isolate = new ivm.Isolate({ memoryLimit: PLAN_ISOLATE_MB });
  let plain: BootstrapPlan = { source: BOOTSTRAP_SOURCE, planned: false, cachedData: undefined };
  try {
    const recording = bootstrapped(ivm, isolate, BOOTSTRAP_SOURCE);
    plain = { ...plain, cachedData: recording.cachedData };
    const plan = recording.control.applySync(undefined, ['plan'], { timeout: PLAN_TIMEOUT_MS });
    if (typeof plan !== 'string') return plain;
    const source = withFreezePlan(plan);
    const audited = bootstrapped(ivm, isolate, source);
    const unfrozen = audited.control.applySync(undefined, ['audit'], { timeout: PLAN_TIMEOUT_MS });
    // Defends against a plan that misses part of the graph: it is used only if the full walk,
    // run over a context it hardened, finds nothing left unfrozen.
    return unfrozen === 0 ? { source, planned: true, cachedData: audited.cachedData } : plain;
  } catch {
    return plain;
  } finally {
    isolate.dispose();
  }
}
