/**
 * The common shape every engine under comparison implements, and the guest-side shim the peers
 * (everything except sealbox itself) evaluate before the component source so the same component
 * text runs unchanged everywhere. Data crosses every boundary as JSON text in both directions,
 * the same protocol sealbox uses, so no engine gets a cheaper copy than another.
 */

/** A JSON value as the workloads use it. */
export type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

/** One component to load: script source, entry class, constructor params, text artifacts. */
export interface WorkloadComponent {
  readonly source: string;
  readonly entry: string;
  readonly params: { readonly [key: string]: Json };
  /** artifacts by name, as UTF-8 text (sealbox ships them as bytes; peers hand the text over) */
  readonly artifacts: { readonly [name: string]: string };
}

/** A loaded component instance. */
export interface LoadedComponent {
  /** Calls `method(...args)`; args and result are JSON. */
  call(method: string, ...args: Json[]): Promise<Json>;
  /** Releases the instance (isolate, context, runtime). */
  dispose(): Promise<void>;
}

/** A component made ready to load, outside the timed section (sealbox: packed and signed). */
export interface PreparedComponent {
  readonly component: WorkloadComponent;
  readonly tenant: string;
  /** engine-specific ready form (sealbox: the signed envelope text) */
  readonly payload?: unknown;
}

/** An engine under comparison. */
export interface Engine {
  /** stable short name, used as the row prefix (`sealbox`, `ivm-raw`, `node-vm`, `quickjs`, `ses`) */
  readonly name: string;
  /** Author-side work that a cold load does not include (sealbox: pack and sign). Not timed. */
  prepare(component: WorkloadComponent, tenant: string): Promise<PreparedComponent>;
  /** Loads a prepared component (peers use the tenant only to keep instances apart). */
  load(prepared: PreparedComponent): Promise<LoadedComponent>;
  /** Releases everything the engine holds. */
  close(): Promise<void>;
}

/** sealbox-only figures: warm load and the cold load's time per pipeline stage (medians, ms). */
export interface SealboxExtras {
  readonly warmLoadMs: number;
  readonly stages: { readonly verify: number; readonly policy: number; readonly sandbox: number };
}

/** Names of every engine, in table order. */
export const ENGINE_NAMES = ['sealbox', 'ivm-raw', 'node-vm', 'quickjs', 'ses'] as const;

/** One of {@link ENGINE_NAMES}. */
export type EngineName = (typeof ENGINE_NAMES)[number];

/**
 * Guest-side `Component` base for the peers: the subset of sealbox's base the workloads use
 * (params, tenant, artifactText, artifactJson).
 */
export const GUEST_SHIM = `
class Component {
  constructor(params, context) {
    this.params = params;
    this.tenant = context.tenant;
    this.__artifacts = context.artifacts;
  }
  artifactText(name) {
    return this.__artifacts[name];
  }
  artifactJson(name) {
    return JSON.parse(this.__artifacts[name]);
  }
}
`;

/**
 * Source of a guest function expression `(paramsJson, artifacts, tenant) => call` that
 * instantiates `entry` and returns `call(method, argsJson) → resultJson`. Only own methods of the
 * instance's class are callable, as in sealbox.
 */
export function guestBootSource(entry: string): string {
  return `(function (paramsJson, artifacts, tenant) {
  const instance = new ${entry}(JSON.parse(paramsJson), { tenant, artifacts });
  const proto = Object.getPrototypeOf(instance);
  return function call(method, argsJson) {
    if (!Object.prototype.hasOwnProperty.call(proto, method)) throw new Error('no such method: ' + method);
    return JSON.stringify(instance[method](...JSON.parse(argsJson)));
  };
})`;
}

/** Parses a guest's JSON result (undefined, which JSON.stringify drops, becomes null). */
export function parseResult(text: unknown): Json {
  return typeof text === 'string' ? (JSON.parse(text) as Json) : null;
}

/** `prepare` of the peers: nothing to do ahead of the load. */
export async function preparePlain(component: WorkloadComponent, tenant: string): Promise<PreparedComponent> {
  return { component, tenant };
}
