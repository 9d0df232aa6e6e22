/**
 * The author-side `Component` base class. Authors extend it so their class type-checks where it is
 * written and can be exercised in plain Node tests; inside the sandbox, the sandbox defines a frozen
 * `Component` with the same contract (docs/authoring.md) and the packer drops the
 * `import { Component } from 'sealbox'` line.
 */
import { PackError } from '../errors.ts';
import type { JsonValue } from '../envelope/types.ts';

/** A JSON object. */
export type JsonObject = { readonly [key: string]: JsonValue };

/** Log levels the `log` capability accepts. */
export type LogLevel = 'debug' | 'info' | 'warn' | 'error';

/** The `kv` capability: a per-tenant key/value store with JSON values. */
export interface KvCapability {
  /** Resolves the stored value, or `null` when the key is absent. */
  get(key: string): Promise<JsonValue | null>;
  set(key: string, value: JsonValue): Promise<void>;
  delete(key: string): Promise<void>;
  /** Resolves the sorted keys that start with `prefix` (all keys without one). */
  list(prefix?: string): Promise<string[]>;
}

/**
 * The capabilities a node granted the component (only the granted ones are present at run time).
 * `log` is granted by the default policy; `kv` usually is; custom capabilities appear by name.
 */
export interface Host {
  log(level: LogLevel, message: string, fields?: JsonObject): Promise<void>;
  kv?: KvCapability;
  readonly [capability: string]: unknown;
}

/** What a component is constructed with, besides its params. */
export interface ComponentContext {
  readonly identifier: string;
  readonly version: number;
  readonly tenant: string;
  readonly artifacts?: Readonly<Record<string, Uint8Array>>;
  readonly host?: Host;
}

/** A class that extends {@link Component} (what `pack` accepts as a class object). */
export type ComponentClass<P extends JsonValue = JsonValue> = abstract new (
  params: P,
  context: ComponentContext,
) => Component<P>;

const noHost: Host = Object.freeze({
  log: async (): Promise<void> => {},
});

// Not a method: the sandbox's Component has exactly the contract's members, so authors must not
// come to rely on an extra one here.
function artifactOf(artifacts: Readonly<Record<string, Uint8Array>>, name: string): Uint8Array {
  const bytes = Object.prototype.hasOwnProperty.call(artifacts, name) ? artifacts[name] : undefined;
  if (!(bytes instanceof Uint8Array)) {
    throw new PackError(
      'ERR_PACK_ARTIFACT',
      `no artifact named ${JSON.stringify(String(name).slice(0, 64))}`,
      {
        artifact: String(name).slice(0, 64),
      },
    );
  }
  return bytes;
}

/**
 * Base class of every sealbox component. Subclass it, add methods (sync or async) whose arguments
 * and results are JSON values, and pack the subclass with `pack`.
 *
 * @example
 * class Tokenizer extends Component<{ lowercase: boolean }> {
 *   tokenize(text: string): string[] {
 *     const t = this.params.lowercase ? text.toLowerCase() : text;
 *     return t.split(/\W+/).filter(Boolean);
 *   }
 * }
 * new Tokenizer({ lowercase: true }, { identifier: 'tok', version: 1, tenant: 'acme' }).tokenize('A b');
 */
export abstract class Component<P extends JsonValue = JsonValue> {
  /** The statement's params (frozen JSON in the sandbox). */
  readonly params: P;
  /** The statement's artifacts by name (read-only copies in the sandbox). */
  readonly artifacts: Readonly<Record<string, Uint8Array>>;
  /** The granted capabilities only. */
  readonly host: Host;
  readonly identifier: string;
  readonly version: number;
  readonly tenant: string;

  constructor(params: P, context: ComponentContext) {
    this.params = params;
    this.artifacts = Object.freeze({ ...(context.artifacts ?? {}) });
    this.host = context.host ?? noHost;
    this.identifier = context.identifier;
    this.version = context.version;
    this.tenant = context.tenant;
  }

  /**
   * The artifact `name` decoded as UTF-8 text.
   * @throws PackError `ERR_PACK_ARTIFACT` when there is no such artifact.
   */
  artifactText(name: string): string {
    return new TextDecoder('utf-8').decode(artifactOf(this.artifacts, name));
  }

  /**
   * The artifact `name` parsed as JSON.
   * @throws PackError `ERR_PACK_ARTIFACT` when there is no such artifact; SyntaxError when it is not JSON.
   */
  artifactJson(name: string): JsonValue {
    return JSON.parse(this.artifactText(name)) as JsonValue;
  }
}
