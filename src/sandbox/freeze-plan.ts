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
import { PLAN_PLACEHOLDER } from './bootstrap-hardening.ts';
import { BOOTSTRAP_FILENAME, BOOTSTRAP_SOURCE, BRIDGE_GLOBAL } from './bootstrap.ts';

/** Memory of the throwaway isolate, MB (a bootstrapped context needs ~2). */
const PLAN_ISOLATE_MB = 32;
/** Time limit of each step there (our own code: only a starved machine is slow). */
const PLAN_TIMEOUT_MS = 10_000;

/**
 * The bootstrap source with a freeze plan in place of the full walk. `plan` is what
 * `control('plan')` returned in a context of the worker's own; it is re-encoded from checked
 * parts, so only numbers and strings ever reach the source text.
 * @throws TypeError when `plan` is not a well-formed plan
 */
export function withFreezePlan(plan: unknown): string {
  let parsed: unknown;
  try {
    parsed = typeof plan === 'string' ? JSON.parse(plan) : undefined;
  } catch {
    throw new TypeError('freeze plan: not JSON');
  }
  if (!Array.isArray(parsed) || parsed.length !== 3)
    throw new TypeError('freeze plan: not [roots, links, keys]');
  const [roots, links, keys] = parsed as unknown[];
  const count = Array.isArray(links) ? links.length : -1;
  const ok =
    Number.isSafeInteger(roots) &&
    (roots as number) > 0 &&
    Array.isArray(keys) &&
    keys.length === count &&
    (links as unknown[]).every(
      (link, i) =>
        Number.isSafeInteger(link) && (link as number) >= -(roots as number) && (link as number) < i * 4,
    ) &&
    keys.every((key) => typeof key === 'string');
  if (!ok) throw new TypeError('freeze plan: malformed links or keys');
  // A bootstrap without exactly one placeholder would take no plan (or two): refuse, so the caller
  // keeps the full walk instead of claiming a plan it does not run.
  if (BOOTSTRAP_SOURCE.split(PLAN_PLACEHOLDER).length !== 2)
    throw new TypeError('freeze plan: the bootstrap has no single plan placeholder');
  const literal = `const FREEZE_PLAN = ${JSON.stringify([roots, links, keys])};`;
  return BOOTSTRAP_SOURCE.replace(PLAN_PLACEHOLDER, () => literal);
}

/** What a worker's isolates compile. */
export interface BootstrapPlan {
  /** the bootstrap source: with an audited freeze plan, or as written (full walk) */
  readonly source: string;
  /** whether `source` carries a freeze plan */
  readonly planned: boolean;
  /** V8's code cache of `source`, when it could be made */
  readonly cachedData: IVM.ExternalCopy<ArrayBuffer> | undefined;
}

/** A component the throwaway context runs, so V8 compiles what a load and a call use. */
const EXERCISE_META = JSON.stringify({
  tenant: 'sealbox',
  identifier: 'exercise',
  version: 1,
  params: '{"p":[1,"x"]}',
  caps: {},
  maxArgBytes: 1024,
  maxResultBytes: 1024,
  maxJsonDepth: 8,
  maxCapabilityCalls: 1,
});
const EXERCISE_CLASS = '(class extends Component { m(a) { return { a, p: this.params.p }; } })';

type Control = IVM.Reference<(...args: unknown[]) => unknown>;

function bootstrapped(ivm: typeof IVM, isolate: IVM.Isolate, source: string) {
  const context = isolate.createContextSync();
  context.global.setSync(BRIDGE_GLOBAL, new ivm.Callback(() => undefined, { ignored: true }));
  const script = isolate.compileScriptSync(source, { filename: BOOTSTRAP_FILENAME });
  const control = script.runSync(context, { reference: true, timeout: PLAN_TIMEOUT_MS }) as Control;
  return { context, control };
}

/**
 * V8's code cache of `source`, made after `control`'s context has loaded and called a component:
 * compiling the same source again in the same isolate returns the script V8 already holds, with
 * the functions that ran compiled, so the cache holds them too (measured: a new isolate's first
 * init 1.0 → 0.4 ms). Undefined when the exercise does not go as expected.
 */
function warmCache(
  isolate: IVM.Isolate,
  source: string,
  { context, control }: { context: IVM.Context; control: Control },
): IVM.ExternalCopy<ArrayBuffer> | undefined {
  const options = { timeout: PLAN_TIMEOUT_MS };
  const bytes = new Uint8Array([104, 105]);
  const init = ['init', EXERCISE_META, ['a'], [bytes]];
  if (control.applySync(undefined, init, { ...options, arguments: { copy: true } }) !== 'ok')
    return undefined;
  const cls = context.evalSync(EXERCISE_CLASS, { ...options, reference: true }) as IVM.Reference;
  const made = control.applySync(undefined, ['construct', cls.derefInto()], options);
  const called = control.applySync(undefined, ['call', 1, 'm', '[{"b":[true,null]}]'], options);
  if (made !== 'R["m"]' || called !== 'R{"a":{"b":[true,null]},"p":[1,"x"]}') return undefined;
  const again = isolate.compileScriptSync(source, { filename: BOOTSTRAP_FILENAME, produceCachedData: true });
  return (again as IVM.Script & IVM.CachedDataResult).cachedData;
}

/**
 * The bootstrap this process should compile: with an audited freeze plan, or the source as written
 * (full walk) when recording or auditing fails. Synchronous; run once at worker start.
 */
export function planBootstrap(ivm: typeof IVM): BootstrapPlan {
  let chosen: BootstrapPlan = { source: BOOTSTRAP_SOURCE, planned: false, cachedData: undefined };
  let isolate: IVM.Isolate;
  try {
    isolate = new ivm.Isolate({ memoryLimit: PLAN_ISOLATE_MB });
  } catch {
    // No throwaway isolate (memory): the worker still starts, with the full walk everywhere.
    return chosen;
  }
  try {
    const recording = bootstrapped(ivm, isolate, BOOTSTRAP_SOURCE);
    let used = recording;
    const plan = recording.control.applySync(undefined, ['plan'], { timeout: PLAN_TIMEOUT_MS });
    if (typeof plan === 'string') {
      const source = withFreezePlan(plan);
      const audited = bootstrapped(ivm, isolate, source);
      const unfrozen = audited.control.applySync(undefined, ['audit'], { timeout: PLAN_TIMEOUT_MS });
      // Defends against a plan that misses part of the graph: it is used only if the full walk,
      // run over a context it hardened, finds nothing left unfrozen.
      if (unfrozen === 0) {
        chosen = { source, planned: true, cachedData: undefined };
        used = audited;
      }
    }
    return { ...chosen, cachedData: warmCache(isolate, chosen.source, used) };
  } catch {
    return chosen;
  } finally {
    isolate.dispose();
  }
}
