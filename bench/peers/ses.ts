/**
 * SES: `lockdown()` hardens the whole realm (frozen intrinsics), then each component gets its own
 * `Compartment` (own globals, shared frozen intrinsics). Same realm, same heap, no memory or time
 * limit. Because lockdown freezes the realm it runs in, this engine only ever runs inside its own
 * child process (bench/peers/child.ts), never next to the other peers.
 */
import { GUEST_SHIM, guestBootSource, parseResult, preparePlain } from './engine.ts';
import type { Engine, Json, LoadedComponent, PreparedComponent } from './engine.ts';

type GuestBoot = (paramsJson: string, artifacts: unknown, tenant: string) => GuestCall;
type GuestCall = (method: string, argsJson: string) => string;

interface CompartmentLike {
  evaluate(source: string): unknown;
}
type CompartmentConstructor = new (options: {
  __options__: true;
  globals?: Record<string, unknown>;
}) => CompartmentLike;

/**
 * Locks the realm down (once) and creates the SES engine.
 * @throws Error when called in a process that must not be locked down (the caller's duty: only
 *   bench/peers/child.ts calls it)
 */
export async function createSesEngine(): Promise<Engine> {
  await import('ses');
  const realm = globalThis as unknown as {
    lockdown(options?: object): void;
    Compartment: CompartmentConstructor;
  };
  // The documented safe defaults (overrideTaming 'moderate', errorTaming 'safe', ...): what a
  // user hardening a realm for tenant code would run.
  realm.lockdown();
  const Compartment = realm.Compartment;
  return {
    name: 'ses',
    prepare: preparePlain,
    async load({ component, tenant }: PreparedComponent): Promise<LoadedComponent> {
      const compartment = new Compartment({ __options__: true, globals: {} });
      compartment.evaluate(
        `${GUEST_SHIM}\n${component.source}\n;globalThis.__boot = ${guestBootSource(component.entry)};`,
      );
      const boot = compartment.evaluate('globalThis.__boot') as GuestBoot;
      const artifacts: unknown = compartment.evaluate(`(${JSON.stringify(component.artifacts)})`);
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
