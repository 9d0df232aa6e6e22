/**
 * node:vm: a separate global object in the same isolate and heap. No security boundary at all
 * (the Node docs say so); listed as the speed people get when they skip sandboxing.
 */
import vm from 'node:vm';
import { GUEST_SHIM, guestBootSource, parseResult, preparePlain } from './engine.ts';
import type { Engine, Json, LoadedComponent, PreparedComponent } from './engine.ts';

type GuestBoot = (paramsJson: string, artifacts: unknown, tenant: string) => GuestCall;
type GuestCall = (method: string, argsJson: string) => string;

/** Creates the node:vm engine (one context per loaded component). */
export function createNodeVmEngine(): Engine {
  return {
    name: 'node-vm',
    prepare: preparePlain,
    async load({ component, tenant }: PreparedComponent): Promise<LoadedComponent> {
      const context = vm.createContext({}, { codeGeneration: { strings: false, wasm: false } });
      vm.runInContext(`${GUEST_SHIM}\n${component.source}`, context);
      const boot = vm.runInContext(guestBootSource(component.entry), context) as GuestBoot;
      // Copy the artifacts into the context's realm, as the other engines do.
      const artifacts: unknown = vm.runInContext(`(${JSON.stringify(component.artifacts)})`, context);
      const call = boot(JSON.stringify(component.params), artifacts, tenant);
      return {
        async call(method: string, ...args: Json[]): Promise<Json> {
          return parseResult(call(method, JSON.stringify(args)));
        },
        async dispose(): Promise<void> {},
      };
    },
    async close(): Promise<void> {},
  };
}
