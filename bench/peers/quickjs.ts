/**
 * quickjs-emscripten: QuickJS compiled to WebAssembly, the sandbox people pick for untrusted JS.
 * Documented best settings: the RELEASE_SYNC variant (no asyncify overhead), one runtime per
 * loaded component with a memory limit, a stack limit and a deadline interrupt handler, as a
 * real multi-tenant sandbox would set them.
 */
import { newQuickJSWASMModule, RELEASE_SYNC, shouldInterruptAfterDeadline } from 'quickjs-emscripten';
import type { QuickJSContext, QuickJSHandle, QuickJSWASMModule } from 'quickjs-emscripten';
import { GUEST_SHIM, guestBootSource, parseResult, preparePlain } from './engine.ts';
import type { Engine, Json, LoadedComponent, PreparedComponent } from './engine.ts';

/** Options of the quickjs peer. */
export interface QuickJsOptions {
  /** runtime memory limit, MB (default 128) */
  readonly memoryLimitMb?: number;
  /** per-call deadline, ms (default 120 000: QuickJS is an interpreter, compute calls are slow) */
  readonly timeoutMs?: number;
}

let modulePromise: Promise<QuickJSWASMModule> | undefined;

function unwrap(context: QuickJSContext, result: ReturnType<QuickJSContext['evalCode']>): QuickJSHandle {
  if (result.error) {
    const error: unknown = context.dump(result.error);
    result.error.dispose();
    throw new Error(`quickjs guest error: ${JSON.stringify(error)}`);
  }
  return result.value;
}

/** Creates the quickjs engine (the WASM module is instantiated once and shared). */
export function createQuickJsEngine(options: QuickJsOptions = {}): Engine {
  const memoryLimit = (options.memoryLimitMb ?? 128) * 1024 * 1024;
  const timeout = options.timeoutMs ?? 120_000;
  const live = new Set<{ dispose(): Promise<void> }>();
  return {
    name: 'quickjs',
    prepare: preparePlain,
    async load({ component, tenant }: PreparedComponent): Promise<LoadedComponent> {
      modulePromise ??= newQuickJSWASMModule(RELEASE_SYNC);
      const module = await modulePromise;
      const runtime = module.newRuntime();
      runtime.setMemoryLimit(memoryLimit);
      runtime.setMaxStackSize(1024 * 1024);
      runtime.setInterruptHandler(shouldInterruptAfterDeadline(Date.now() + timeout));
      const context = runtime.newContext();
      unwrap(context, context.evalCode(`${GUEST_SHIM}\n${component.source}`, 'component.js')).dispose();
      const boot = unwrap(context, context.evalCode(guestBootSource(component.entry), 'boot.js'));
      const paramsHandle = context.newString(JSON.stringify(component.params));
      const artifactsHandle = context.newObject();
      for (const [name, text] of Object.entries(component.artifacts)) {
        const value = context.newString(text);
        context.setProp(artifactsHandle, name, value);
        value.dispose();
      }
      const tenantHandle = context.newString(tenant);
      const callFn = unwrap(
        context,
        context.callFunction(boot, context.undefined, paramsHandle, artifactsHandle, tenantHandle),
      );
      for (const handle of [boot, paramsHandle, artifactsHandle, tenantHandle]) handle.dispose();
      const loaded: LoadedComponent = {
        async call(method: string, ...args: Json[]): Promise<Json> {
          runtime.setInterruptHandler(shouldInterruptAfterDeadline(Date.now() + timeout));
          const methodHandle = context.newString(method);
          const argsHandle = context.newString(JSON.stringify(args));
          try {
            const result = unwrap(
              context,
              context.callFunction(callFn, context.undefined, methodHandle, argsHandle),
            );
            const text = context.getString(result);
            result.dispose();
            return parseResult(text);
          } finally {
            methodHandle.dispose();
            argsHandle.dispose();
          }
        },
        async dispose(): Promise<void> {
          if (!live.delete(loaded)) return;
          callFn.dispose();
          context.dispose();
          runtime.dispose();
        },
      };
      live.add(loaded);
      return loaded;
    },
    async close(): Promise<void> {
      for (const loaded of [...live]) await loaded.dispose();
    },
  };
}
