/**
 * Raw isolated-vm in the host process: the floor sealbox is measured against. One isolate and
 * one context per loaded component, the component compiled as a script, calls through
 * `Reference.apply` with copied arguments and result. No signature, no policy, no worker boundary.
 */
import ivm from 'isolated-vm';
import { GUEST_SHIM, guestBootSource, parseResult, preparePlain } from './engine.ts';
import type { Engine, Json, LoadedComponent, PreparedComponent } from './engine.ts';

/** Options of the raw isolated-vm peer. */
export interface IvmRawOptions {
  /** isolate memory limit, MB (default 128, sealbox's default policy figure) */
  readonly memoryLimitMb?: number;
  /** per-call timeout, ms (default 60 000: compute-heavy calls must finish) */
  readonly timeoutMs?: number;
}

/** Creates the raw isolated-vm engine. */
export function createIvmRawEngine(options: IvmRawOptions = {}): Engine {
  const memoryLimit = options.memoryLimitMb ?? 128;
  const timeout = options.timeoutMs ?? 60_000;
  const live = new Set<LoadedComponent>();
  return {
    name: 'ivm-raw',
    prepare: preparePlain,
    async load({ component, tenant }: PreparedComponent): Promise<LoadedComponent> {
      const isolate = new ivm.Isolate({ memoryLimit });
      const context = await isolate.createContext();
      const script = await isolate.compileScript(
        `${GUEST_SHIM}\n${component.source}\n;globalThis.__boot = ${guestBootSource(component.entry)};`,
      );
      await script.run(context, { timeout });
      script.release();
      const boot = (await context.global.get('__boot', { reference: true })) as ivm.Reference;
      const call = (await boot.apply(
        undefined,
        [
          JSON.stringify(component.params),
          new ivm.ExternalCopy({ ...component.artifacts }).copyInto(),
          tenant,
        ],
        { arguments: { copy: true }, result: { reference: true }, timeout },
      )) as ivm.Reference;
      boot.release();
      const loaded: LoadedComponent = {
        async call(method: string, ...args: Json[]): Promise<Json> {
          const text: unknown = await call.apply(undefined, [method, JSON.stringify(args)], {
            arguments: { copy: true },
            result: { copy: true },
            timeout,
          });
          return parseResult(text);
        },
        async dispose(): Promise<void> {
          // Release handles before the isolate: disposing an isolate under live handles and
          // exiting has crashed the process here (SIGSEGV at exit).
          if (!live.delete(loaded)) return;
          call.release();
          context.release();
          if (!isolate.isDisposed) isolate.dispose();
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
