/**
 * `pack`: a component class (module file or class object) plus params and artifacts becomes an
 * unsigned statement (docs/envelope.md; docs/architecture.md, "Data flow"), ready for `signEnvelope`.
 */
import { extname, isAbsolute, resolve } from 'node:path';
import { EnvelopeError, PackError, SealboxError } from '../errors.ts';
import { readFileBounded, readRefusalOf } from '../io/read-file.ts';
import { encodeBase64 } from '../envelope/base64.ts';
import { assertPlainJson } from '../envelope/canonical-json.ts';
import { DEFAULT_ENVELOPE_LIMITS } from '../envelope/limits.ts';
import { buildStatementPayload, sha256Hex } from '../envelope/statement.ts';
import {
  ARTIFACT_NAME,
  CAPABILITY_NAME,
  COMPONENT_IDENTIFIER,
  ENTRY_CLASS_NAME,
  TENANT_NAME,
} from '../names.ts';
import { lowestStatementType } from '../envelope/statement-version.ts';
import {
  type Artifact,
  type Dependency,
  type Envelope,
  type JsonValue,
  type Statement,
} from '../envelope/types.ts';
import type { KeyPair } from '../trust/keys.ts';
import { signEnvelope } from '../trust/sign.ts';
import { SEALBOX_NAME, SEALBOX_VERSION } from '../version.ts';
import { bundleModule } from './bundle.ts';
import { bundleWithPackages } from './packages/package-bundle.ts';
import { sourceFromClass } from './class-source.ts';
import { Component, type ComponentClass } from './component.ts';
import { makeRepr } from './repr.ts';

/** An artifact given to `pack`: bytes, a file, or bytes with a media type. */
export type ArtifactInput =
  | Uint8Array
  | { readonly path: string; readonly mediaType?: string }
  | { readonly data: Uint8Array; readonly mediaType?: string };

/** Options of {@link pack}. Every field is validated; unknown fields are refused. */
export interface PackOptions {
  /** The exported class name. Required for a file; ignored (must match if given) for a class. */
  readonly export?: string;
  readonly tenant: string;
  readonly identifier: string;
  /** Integer >= 1, strictly increasing per (tenant, identifier). */
  readonly version: number;
  /** Plain JSON given to the constructor. Default `{}`. */
  readonly params?: JsonValue;
  /** Artifacts by name. Default none. */
  readonly artifacts?: Readonly<Record<string, ArtifactInput>>;
  /** Capability names the class needs (deduplicated and sorted). Default `[]`. */
  readonly requires?: readonly string[];
  /** Default now. Normalised to RFC 3339 UTC with milliseconds. Fix it for reproducible packs. */
  readonly issuedAt?: string | Date;
  /** Optional expiry, after `issuedAt`. */
  readonly expiresAt?: string | Date;
  /** Short description; default `Entry(identifier='…', version=N, params={…})`, at most 200 chars. */
  readonly repr?: string;
  /** Directory that relative file and artifact paths are resolved against. Default process.cwd(). */
  readonly cwd?: string;
  /** Largest source file and packed source, in bytes. Default 2 MiB (the envelope limit). */
  readonly maxSourceBytes?: number;
  /** Largest sum of artifact sizes, in bytes. Default 16 MiB (the envelope limit). */
  readonly maxArtifactsBytes?: number;
}

/** A statement from {@link pack}, with a non-enumerable `sign` (not part of the signed payload). */
export type PackedStatement = Statement & {
  /**
   * Signs the statement (one signature per distinct key, at most 4).
   * @throws ConfigError ERR_PRIVATE_KEY_INVALID; EnvelopeError ERR_TOO_MANY_SIGNATURES
   */
  readonly sign: (keys: KeyPair | readonly KeyPair[]) => Envelope;
};

const OPTION_KEYS = new Set([
  'export',
  'tenant',
  'identifier',
  'version',
  'params',
  'artifacts',
  'requires',
  'issuedAt',
  'expiresAt',
  'repr',
  'cwd',
  'maxSourceBytes',
  'maxArtifactsBytes',
]);

const MEDIA_TYPES: ReadonlyMap<string, string> = new Map([
  ['.json', 'application/json'],
  ['.txt', 'text/plain'],
  ['.md', 'text/markdown'],
  ['.csv', 'text/csv'],
  ['.tsv', 'text/tab-separated-values'],
  ['.html', 'text/html'],
  ['.xml', 'application/xml'],
  ['.yaml', 'application/yaml'],
  ['.yml', 'application/yaml'],
  ['.jsonl', 'application/jsonl'],
  ['.png', 'image/png'],
  ['.jpg', 'image/jpeg'],
  ['.jpeg', 'image/jpeg'],
  ['.gif', 'image/gif'],
  ['.webp', 'image/webp'],
  ['.svg', 'image/svg+xml'],
  ['.pdf', 'application/pdf'],
  ['.gz', 'application/gzip'],
  ['.zip', 'application/zip'],
  ['.wasm', 'application/wasm'],
  ['.bin', 'application/octet-stream'],
]);
const MEDIA_TYPE = /^[A-Za-z0-9][A-Za-z0-9!#$&^_.+-]{0,63}\/[A-Za-z0-9][A-Za-z0-9!#$&^_.+-]{0,63}$/;
const SOURCE_EXTENSIONS = /\.(?:js|mjs|ts|mts)$/i;

function optionsError(message: string, field: string): never {
  throw new PackError('ERR_PACK_OPTIONS', `pack options: ${field}: ${message}`, { field });
}

function describe(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  if (typeof value === 'string') return `"${value.slice(0, 40)}"`;
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  return typeof value;
}

function toTimestamp(value: unknown, field: string): string {
  const date =
    value instanceof Date
      ? new Date(value.getTime())
      : typeof value === 'string'
        ? new Date(value)
        : undefined;
  if (
    typeof value === 'string' &&
    !/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?(?:Z|[+-]\d{2}:\d{2})$/.test(value)
  ) {
    optionsError(
      `expected an RFC 3339 date-time such as 2026-01-31T12:00:00Z, got ${describe(value)}`,
      field,
    );
  }
  if (!date || Number.isNaN(date.getTime()))
    optionsError(`expected a Date or an RFC 3339 string, got ${describe(value)}`, field);
  const iso = date.toISOString();
  if (!/^\d{4}-/.test(iso)) optionsError(`year out of range: ${iso}`, field);
  return iso;
}

function positiveInteger(value: unknown, field: string, fallback: number): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 1) {
    optionsError(`expected a positive integer, got ${describe(value)}`, field);
  }
  return value;
}

function readOptions(options: unknown): PackOptions {
  if (options === null || typeof options !== 'object' || Array.isArray(options)) {
    throw new PackError('ERR_PACK_OPTIONS', `pack options: expected an object, got ${describe(options)}`);
  }
  // Defends against a misspelt or smuggled option being ignored: own keys only, symbols included.
  for (const key of Reflect.ownKeys(options)) {
    if (typeof key === 'symbol' || !OPTION_KEYS.has(key)) {
      optionsError(`unknown option (known: ${[...OPTION_KEYS].join(', ')})`, String(key));
    }
  }
  const own = (key: string): unknown =>
    Object.prototype.hasOwnProperty.call(options, key)
      ? (options as Record<string, unknown>)[key]
      : undefined;
  const out: Record<string, unknown> = {};
  for (const key of OPTION_KEYS) {
    const v = own(key);
    if (v !== undefined) out[key] = v;
  }
  return out as unknown as PackOptions;
}

function packParams(params: unknown): JsonValue {
  if (params === undefined) return {};
  try {
    assertPlainJson(params, 'params', DEFAULT_ENVELOPE_LIMITS.maxJsonDepth - 8);
  } catch (error) {
    if (error instanceof EnvelopeError) {
      throw new PackError(
        'ERR_PACK_PARAMS',
        error.message,
        { path: error.details['path'] },
        { cause: error },
      );
    }
    throw error;
  }
  // A private copy (exact for plain JSON): freezing the statement must not freeze the caller's value.
  return JSON.parse(JSON.stringify(params)) as JsonValue;
}

function packArtifacts(input: unknown, cwd: string, maxTotal: number): Record<string, Artifact> {
  if (input === undefined) return {};
  if (input === null || typeof input !== 'object' || Array.isArray(input)) {
    throw new PackError(
      'ERR_PACK_ARTIFACT',
      `artifacts: expected an object of name → bytes or { path }, got ${describe(input)}`,
    );
  }
  const out: Record<string, Artifact> = Object.create(null) as Record<string, Artifact>;
  let total = 0;
  const names = Reflect.ownKeys(input);
  if (names.length > DEFAULT_ENVELOPE_LIMITS.maxArtifacts) {
    throw new PackError(
      'ERR_PACK_ARTIFACT',
      `artifacts: at most ${DEFAULT_ENVELOPE_LIMITS.maxArtifacts}, got ${names.length}`,
    );
  }
  for (const name of names) {
    if (typeof name === 'symbol' || !ARTIFACT_NAME.test(name)) {
      throw new PackError(
        'ERR_PACK_ARTIFACT',
        `artifacts: name ${JSON.stringify(String(name).slice(0, 64))} must be 1-128 letters, digits, '.', '_' or '-', starting with a letter or digit`,
        { artifact: String(name).slice(0, 64) },
      );
    }
    const value = (input as Record<string, unknown>)[name];
    let bytes: Uint8Array;
    let mediaType: unknown;
    let guessFrom = name;
    if (value instanceof Uint8Array) {
      bytes = value;
    } else if (value !== null && typeof value === 'object' && !Array.isArray(value)) {
      const keys = Object.keys(value);
      const extra = keys.filter((k) => k !== 'path' && k !== 'data' && k !== 'mediaType');
      const v = value as { path?: unknown; data?: unknown; mediaType?: unknown };
      if (extra.length > 0 || (v.path === undefined) === (v.data === undefined)) {
        throw new PackError(
          'ERR_PACK_ARTIFACT',
          `artifacts.${name}: expected bytes, { path, mediaType? } or { data, mediaType? }`,
          {
            artifact: name,
          },
        );
      }
      mediaType = v.mediaType;
      if (v.data !== undefined) {
        if (!(v.data instanceof Uint8Array)) {
          throw new PackError(
            'ERR_PACK_ARTIFACT',
            `artifacts.${name}.data: expected a Uint8Array, got ${describe(v.data)}`,
            {
              artifact: name,
            },
          );
        }
        bytes = v.data;
      } else {
        if (typeof v.path !== 'string' || v.path === '') {
          throw new PackError(
            'ERR_PACK_ARTIFACT',
            `artifacts.${name}.path: expected a file path, got ${describe(v.path)}`,
            {
              artifact: name,
            },
          );
        }
        const full = resolve(cwd, v.path);
        guessFrom = v.path;
        try {
          // Defends against memory exhaustion and hangs: the shared bounded reader checks the size
          // (what is left of the artifacts' total) before reading, and takes regular files only.
          bytes = readFileBounded(full, Math.max(0, maxTotal - total), v.path);
        } catch (error) {
          const refusal = readRefusalOf(error);
          if (refusal?.reason === 'too-large') {
            throw new PackError(
              'ERR_PACK_ARTIFACT',
              `artifacts.${name}: ${v.path} is ${refusal.size ?? 'more than'} bytes; artifacts may total at most ${maxTotal} bytes`,
              { artifact: name, size: refusal.size ?? -1, limit: maxTotal },
            );
          }
          throw new PackError(
            'ERR_PACK_ARTIFACT',
            `artifacts.${name}: cannot read ${v.path} (${refusal?.errno ?? 'error'})`,
            { artifact: name, path: v.path },
          );
        }
      }
    } else {
      throw new PackError(
        'ERR_PACK_ARTIFACT',
        `artifacts.${name}: expected bytes, { path } or { data }, got ${describe(value)}`,
        {
          artifact: name,
        },
      );
    }
    total += bytes.byteLength;
    if (total > maxTotal) {
      throw new PackError(
        'ERR_PACK_ARTIFACT',
        `artifacts.${name}: artifacts total ${total} bytes so far, more than the ${maxTotal}-byte limit`,
        { artifact: name, limit: maxTotal },
      );
    }
    if (mediaType === undefined)
      mediaType = MEDIA_TYPES.get(extname(guessFrom).toLowerCase()) ?? 'application/octet-stream';
    if (typeof mediaType !== 'string' || !MEDIA_TYPE.test(mediaType)) {
      throw new PackError(
        'ERR_PACK_ARTIFACT',
        `artifacts.${name}.mediaType: expected type/subtype, got ${describe(mediaType)}`,
        {
          artifact: name,
        },
      );
    }
    // A private copy: later changes to the caller's buffer cannot change what was hashed.
    const copy = new Uint8Array(bytes);
    out[name] = {
      sha256: sha256Hex(copy),
      size: copy.byteLength,
      mediaType: mediaType.toLowerCase(),
      data: encodeBase64(copy),
    };
  }
  // Sorted keys (canonical JSON sorts them anyway; this keeps the object deterministic too).
  const sorted: Record<string, Artifact> = {};
  for (const name of Object.keys(out).sort()) sorted[name] = out[name] as Artifact;
  return sorted;
}

function packRequires(requires: unknown): string[] {
  if (requires === undefined) return [];
  if (!Array.isArray(requires))
    optionsError(`expected an array of capability names, got ${describe(requires)}`, 'requires');
  const set = new Set<string>();
  requires.forEach((name: unknown, i) => {
    if (typeof name !== 'string' || !CAPABILITY_NAME.test(name)) {
      optionsError(
        `expected a capability name like "kv" or "log" (lowercase, 1-32 chars), got ${describe(name)}`,
        `requires[${i}]`,
      );
    }
    set.add(name);
  });
  if (set.size > DEFAULT_ENVELOPE_LIMITS.maxRequires)
    optionsError(`at most ${DEFAULT_ENVELOPE_LIMITS.maxRequires} names`, 'requires');
  return [...set].sort();
}

function deepFreeze<T>(value: T): T {
  const stack: unknown[] = [value];
  while (stack.length > 0) {
    const v = stack.pop();
    if (v !== null && typeof v === 'object' && !Object.isFrozen(v)) {
      Object.freeze(v);
      for (const key of Object.keys(v)) stack.push((v as Record<string, unknown>)[key]);
    }
  }
  return value;
}

/**
 * A module file: sealbox's own bundler for the author's files (declarations only, output that
 * reads like the source); when the graph imports a package, rolldown bundles the whole graph.
 */
function bundleFile(
  file: string,
  exportName: string,
  maxSourceBytes: number,
): { source: string; entry: string; dependencies?: readonly Dependency[] } {
  try {
    return bundleModule(file, exportName, { maxSourceBytes, maxModules: 256 });
  } catch (error) {
    if (!(error instanceof PackError) || error.code !== 'ERR_PACK_IMPORT' || error.details['bare'] !== true)
      throw error;
  }
  return bundleWithPackages(file, exportName, { maxSourceBytes });
}

/**
 * Packs a component into an unsigned statement.
 *
 * `input` is a module file path (.js, .mjs, .ts, .mts; `options.export` names the class) or a class
 * object that extends {@link Component}. The result is deterministic: the same input and options
 * (with a fixed `issuedAt`) give a byte-identical canonical payload. It is deeply frozen and has a
 * non-enumerable `sign(keys)`.
 *
 * A file that imports npm packages is bundled with rolldown (packages resolved from the
 * node_modules Node would use for it); the statement then records them in `dependencies` and is
 * written as `sealbox/component/v2`.
 *
 * @throws PackError ERR_PACK_OPTIONS, ERR_PACK_SYNTAX, ERR_PACK_TYPESCRIPT, ERR_PACK_IMPORT, ERR_PACK_PACKAGE,
 *   ERR_PACK_EXPORT, ERR_PACK_BASE_CLASS, ERR_PACK_FREE_VARIABLE, ERR_PACK_STATEMENT,
 *   ERR_PACK_PARAMS, ERR_PACK_ARTIFACT, ERR_PACK_TOO_LARGE
 * @example
 * const statement = pack('src/tokenizer.ts', {
 *   export: 'Tokenizer', tenant: 'acme', identifier: 'tok', version: 3, params: { lowercase: true },
 * });
 * const envelope = statement.sign(keyPair);
 */
export function pack<P extends JsonValue = JsonValue>(
  input: string | ComponentClass<P>,
  options: PackOptions,
): PackedStatement {
  const o = readOptions(options);
  if (typeof o.tenant !== 'string' || !TENANT_NAME.test(o.tenant)) {
    optionsError(
      `expected lowercase letters, digits, '.', '_' or '-' (1-64, starting with a letter or digit), got ${describe(o.tenant)}`,
      'tenant',
    );
  }
  if (typeof o.identifier !== 'string' || !COMPONENT_IDENTIFIER.test(o.identifier)) {
    optionsError(
      `expected lowercase letters, digits, '.', '_' or '-' (1-64, starting with a letter or digit), got ${describe(o.identifier)}`,
      'identifier',
    );
  }
  if (typeof o.version !== 'number' || !Number.isSafeInteger(o.version) || o.version < 1) {
    optionsError(`expected an integer >= 1, got ${describe(o.version)}`, 'version');
  }
  if (o.cwd !== undefined && typeof o.cwd !== 'string')
    optionsError(`expected a directory path, got ${describe(o.cwd)}`, 'cwd');
  if (o.repr !== undefined && typeof o.repr !== 'string')
    optionsError(`expected a string, got ${describe(o.repr)}`, 'repr');
  if (o.export !== undefined && (typeof o.export !== 'string' || o.export === '')) {
    optionsError(`expected an export name, got ${describe(o.export)}`, 'export');
  }
  const cwd = o.cwd ?? process.cwd();
  const maxSourceBytes = positiveInteger(
    o.maxSourceBytes,
    'maxSourceBytes',
    DEFAULT_ENVELOPE_LIMITS.maxSourceBytes,
  );
  const maxArtifactsBytes = positiveInteger(
    o.maxArtifactsBytes,
    'maxArtifactsBytes',
    DEFAULT_ENVELOPE_LIMITS.maxArtifactsBytes,
  );
  const issuedAt = toTimestamp(o.issuedAt ?? new Date(), 'issuedAt');
  const expiresAt = o.expiresAt === undefined ? undefined : toTimestamp(o.expiresAt, 'expiresAt');
  if (expiresAt !== undefined && Date.parse(expiresAt) <= Date.parse(issuedAt)) {
    optionsError(`expiresAt (${expiresAt}) must be after issuedAt (${issuedAt})`, 'expiresAt');
  }
  // Cheap checks first: params, requires and artifacts are validated before any parsing.
  const params = packParams(o.params);
  const requires = packRequires(o.requires);

  let result: { source: string; entry: string; dependencies?: readonly Dependency[] };
  if (typeof input === 'string') {
    if (o.export === undefined)
      optionsError('required when packing a file: the name of the exported class', 'export');
    if (!SOURCE_EXTENSIONS.test(input)) {
      throw new PackError('ERR_PACK_OPTIONS', `${input}: expected a .js, .mjs, .ts or .mts module file`, {
        file: input,
      });
    }
    const file = isAbsolute(input) ? input : resolve(cwd, input);
    result = bundleFile(file, o.export, maxSourceBytes);
  } else {
    result = sourceFromClass(
      input,
      (v) => v === Component || (typeof v === 'function' && v.prototype instanceof Component),
      maxSourceBytes,
    );
    if (o.export !== undefined && o.export !== result.entry) {
      optionsError(`the class is named ${result.entry}, not ${o.export}`, 'export');
    }
  }
  if (!ENTRY_CLASS_NAME.test(result.entry)) {
    throw new PackError(
      'ERR_PACK_EXPORT',
      `class name ${result.entry.slice(0, 40)} must be an ASCII identifier of at most 128 characters`,
    );
  }
  const sourceBytes = new TextEncoder().encode(result.source).byteLength;
  if (sourceBytes > maxSourceBytes) {
    throw new PackError(
      'ERR_PACK_TOO_LARGE',
      `the packed source is ${sourceBytes} bytes, more than the ${maxSourceBytes}-byte limit`,
      {
        size: sourceBytes,
        limit: maxSourceBytes,
      },
    );
  }
  const artifacts = packArtifacts(o.artifacts, cwd, maxArtifactsBytes);
  const repr = o.repr ?? makeRepr(result.entry, o.identifier, o.version, params);

  const dependencies = result.dependencies ?? [];
  const statement: Record<string, unknown> = {
    // The lowest format that expresses the component: v1 unless packages were bundled.
    _type: lowestStatementType(dependencies.length > 0),
    tenant: o.tenant,
    identifier: o.identifier,
    version: o.version,
    entry: result.entry,
    source: result.source,
    sourceSha256: sha256Hex(result.source),
    params,
    artifacts,
    requires,
    repr: repr.length > 200 ? `${repr.slice(0, 199)}…` : repr,
    issuedAt,
    ...(expiresAt === undefined ? {} : { expiresAt }),
    packer: { name: SEALBOX_NAME, version: SEALBOX_VERSION },
    ...(dependencies.length > 0 ? { dependencies } : {}),
  };
  // Defends against packing something the loader would refuse: the statement goes through the same
  // closed-schema check that decoding uses, so a pack either succeeds or fails here, not on a node.
  try {
    buildStatementPayload(statement as unknown as Statement);
  } catch (error) {
    if (error instanceof SealboxError && !(error instanceof PackError)) {
      throw new PackError(
        'ERR_PACK_OPTIONS',
        `the statement would be refused on load: ${error.message}`,
        error.details,
        {
          cause: error,
        },
      );
    }
    throw error;
  }
  Object.defineProperty(statement, 'sign', {
    enumerable: false,
    value: (keys: KeyPair | readonly KeyPair[]): Envelope =>
      signEnvelope(statement as unknown as Statement, keys),
  });
  return deepFreeze(statement) as unknown as PackedStatement;
}
