/**
 * The load pipeline a multi-tenant node imports: one fixed sequence of small steps, each failing
 * closed with a typed error, nothing later running after a failure (docs/architecture.md, "Data flow"):
 *
 *   1 size limit, parse envelope      (envelope layer, inside verifyEnvelope)
 *   2 signatures against the keyring  (trust layer: scope, validity, threshold)
 *   3 statement: closed schema, hashes, tenant, expiry; rollback checked (read only)
 *   4 AST policy + capability grant   (policy layer)
 *   5 sandbox: worker ▸ isolate ▸ context, instantiate   (sandbox layer)
 *   6 rollback recorded: one atomic conditional write; losing it disposes and refuses
 *
 * Every load, accepted or refused, is reported as exactly one decision event.
 */
import { decodeBase64Strict } from './envelope/base64.ts';
import { envelopeLimitsFor } from './envelope/limits.ts';
import { COMPONENT_IDENTIFIER, TENANT_NAME } from './names.ts';
import type { Envelope, JsonValue, Statement } from './envelope/types.ts';
import { ConfigError, SandboxError, SealboxError, PolicyError, type ErrorCode } from './errors.ts';
import { assertSourceAllowed, type CheckResult } from './policy/check.ts';
import { CheckPool } from './policy/check-pool.ts';
import { loadPolicy, type EffectivePolicy, type PolicySet } from './policy/load.ts';
import { BIGINT_LITERAL } from './policy/rules.ts';
import type { HostCapability } from './sandbox/capabilities.ts';
import { resolveJail, type JailMode, type JailStatus } from './sandbox/jail.ts';
import type { KvStore } from './sandbox/kv-store.ts';
import {
  createSupervisor,
  type LogEntry,
  type SandboxedComponent,
  type Supervisor,
  type SupervisorStats,
} from './sandbox/supervisor.ts';
import { createFollow, type FollowHandle, type FollowOptions } from './follow.ts';
import { MemoryStore } from './store/memory.ts';
import { isStore, openStore } from './store/open.ts';
import { marksFromRollbackStore } from './store/rollback-adapter.ts';
import type { RollbackMarks, Store } from './store/types.ts';
import { Keyring } from './trust/keyring.ts';
import { KeyringSource } from './trust/keyring-source.ts';
import { decideRollback, SqliteRollbackStore, type RollbackStore } from './trust/rollback.ts';
import { verifyEnvelope, type VerifiedEnvelope } from './trust/verify.ts';

/** Time spent per stage of one load, in milliseconds. */
export interface StageTimes {
  verify: number;
  policy: number;
  sandbox: number;
}

/**
 * One load decision. Never contains source text, params, artifacts or secrets: it is safe to
 * ship to a log pipeline.
 */
export interface DecisionEvent {
  /** RFC 3339 time the load started. */
  readonly time: string;
  readonly tenant: string;
  /** `loaded`, `audited` (audit mode let violations through) or `refused`. */
  readonly result: 'loaded' | 'audited' | 'refused';
  readonly identifier?: string;
  readonly version?: number;
  readonly digest?: string;
  /** keyids whose signatures counted */
  readonly signers?: readonly string[];
  readonly keyringRevision?: string;
  readonly policyRevision?: number;
  /** revision of the tenant's overlay (0 when the tenant has none) */
  readonly tenantPolicyRevision?: number;
  readonly policyMode?: 'enforce' | 'audit';
  /** error code when refused */
  readonly code?: ErrorCode;
  /** violated rule ids (refused, or let through in audit mode) */
  readonly rules?: readonly string[];
  /** which steps were served from the verified-and-checked cache */
  readonly cached: { readonly verify: boolean; readonly policy: boolean };
  readonly stages: Readonly<StageTimes>;
}

/** Options of {@link createLoader}; every knob defaults to the safe choice. */
export interface LoaderOptions {
  /** The keyring, or the path of a keyring file (re-read when the file changes; a broken file refuses loads). */
  readonly keyring: Keyring | string;
  /** A loaded policy set, a policy file or folder, or (default) the shipped policies/default.yaml. */
  readonly policy?: PolicySet | string;
  /** Custom host capabilities, granted per tenant by policy. */
  readonly capabilities?: readonly HostCapability[];
  /** Worker processes in the sandbox pool (default 2). */
  readonly workers?: number;
  /**
   * Default wall-clock deadline of a load's sandbox stage and of a call, ms (default
   * max(10000, 3 x the component's callTimeoutMs)); past it the promise rejects with the
   * retryable ERR_DEADLINE. See docs/sandbox.md, "Time".
   */
  readonly deadlineMs?: number;
  /** Ops waiting on the host per worker before ERR_OVERLOADED (default 256). */
  readonly maxQueuedPerWorker?: number;
  /**
   * What nodes share (rollback marks, kv data, the registry `follow` reads): a Store, a
   * `postgres://` URL, `memory:`, or a node:sqlite file path. Default: in memory for this loader's life.
   */
  readonly store?: Store | string;
  /**
   * Deprecated (use `store`): rollback state alone, as a round-1 RollbackStore or a node:sqlite
   * file path. Not allowed together with `store`.
   */
  readonly rollback?: RollbackStore | string;
  /** kv capability store (default: the store's kv). */
  readonly kv?: KvStore;
  /** Receives components' `host.log` calls. Default: dropped. */
  readonly logger?: (entry: LogEntry) => void;
  /** Receives one event per load. */
  readonly onDecision?: (event: DecisionEvent) => void;
  /**
   * Largest envelope accepted, bytes. Default: from the tenant's policy (`envelope.maxBytes` plus
   * the base64-of-base64 size of `envelope.maxArtifactsBytes`; about 7.6 MiB under default.yaml).
   */
  readonly maxEnvelopeBytes?: number;
  /** Clock, for tests. */
  readonly now?: () => Date;
  /**
   * OS jail around the sandbox's worker processes (bubblewrap, docs/sandbox.md): `auto` (default)
   * jails them when this machine can, `required` refuses to start when it cannot, `off` never jails.
   */
  readonly jail?: JailMode;
  /**
   * Told once, at creation, whether workers run jailed and if not why. Default: when `auto` could
   * not jail, a process warning (code SEALBOX_JAIL_OFF).
   */
  readonly onJail?: (status: JailStatus) => void;
}

/** A component loaded into the sandbox: call its methods, dispose it when done. */
export interface LoadedComponent {
  readonly tenant: string;
  readonly identifier: string;
  readonly version: number;
  readonly digest: string;
  /** Own public methods of the entry class. */
  readonly methods: readonly string[];
  /**
   * Calls `method` with JSON arguments; resolves to its JSON result.
   * @throws SandboxError ERR_TIMEOUT, ERR_MEMORY_LIMIT, ERR_SANDBOX_CRASHED, ERR_METHOD_NOT_FOUND, ...
   * @throws ComponentError ERR_COMPONENT_THREW when the component's code throws
   */
  call(method: string, ...args: JsonValue[]): Promise<JsonValue>;
  /**
   * Calls `method` with JSON arguments and per-call options: `deadlineMs` (wall clock from now,
   * queue time included) and `signal` (abort). `call(method, ...args)` is `invoke(method, args)`.
   * @throws SandboxError ERR_DEADLINE (deadline passed or aborted; retryable), ERR_OVERLOADED
   *   (node busy, refused at once; retryable), ERR_QUEUE_FULL, and everything `call` throws
   * @throws ConfigError ERR_CONFIG_INVALID for bad options
   */
  invoke(
    method: string,
    args: readonly JsonValue[],
    options?: { deadlineMs?: number; signal?: AbortSignal },
  ): Promise<JsonValue>;
  /** Releases the component's context. Idempotent. */
  dispose(): Promise<void>;
}

/** The node-side entry point. */
export interface Loader {
  /**
   * Verifies, checks and instantiates an envelope as `tenant`.
   * @throws EnvelopeError malformed input (ERR_ENVELOPE_MALFORMED, ERR_INPUT_TOO_LARGE, ...)
   * @throws TrustError ERR_SIGNATURE_INVALID, ERR_KEY_*, ERR_ROLLBACK, ERR_TENANT_MISMATCH, ...
   * @throws PolicyError ERR_POLICY_VIOLATION, ERR_CAPABILITY_NOT_GRANTED
   * @throws SandboxError ERR_INSTANTIATE, ERR_TIMEOUT, ...
   */
  load(
    envelope: string | Uint8Array | Envelope | object,
    options: { readonly tenant: string },
  ): Promise<LoadedComponent>;
  /** Re-reads the policy files; a bad file keeps the last good policy (see PolicySet.reload). */
  reloadPolicy(): ReturnType<PolicySet['reload']>;
  /**
   * Follows (tenant, identifier) in the store's registry: the handle serves the newest published
   * version that passes trust, rollback and policy, swapping new ones in as they are published.
   * @throws ConfigError ERR_CONFIG_INVALID (bad names); SandboxError ERR_SANDBOX_CLOSED
   */
  follow(tenant: string, identifier: string, options?: FollowOptions): FollowHandle;
  /** Replaces the keyring (e.g. after a revocation); takes effect on the next load. */
  setKeyring(keyring: Keyring): void;
  /** The policy set in force. */
  readonly policy: PolicySet;
  /** Sandbox counters (workers, restarts, loaded components), for monitoring. */
  stats(): SupervisorStats;
  /** Whether this loader's workers run in the OS jail, decided once at creation. */
  readonly jail: JailStatus;
  /** Disposes every component, stops every worker, closes stores the loader opened. */
  close(): Promise<void>;
}

interface CheckedEntry {
  readonly result: CheckResult;
}

/** Bounded cache of AST checks, keyed by digest + tenant + the EffectivePolicy object in force. */
const MAX_CHECK_CACHE = 1024;

function elapsed(start: number): number {
  return Math.round((performance.now() - start) * 1000) / 1000;
}

function decodeArtifacts(statement: Statement): Record<string, Uint8Array> {
  const artifacts: Record<string, Uint8Array> = Object.create(null) as Record<string, Uint8Array>;
  for (const [name, artifact] of Object.entries(statement.artifacts)) {
    artifacts[name] = decodeBase64Strict(artifact.data, `artifacts.${name}.data`);
  }
  return artifacts;
}

const LOADER_OPTION_KEYS: ReadonlySet<string> = new Set([
  'keyring',
  'policy',
  'capabilities',
  'workers',
  'deadlineMs',
  'maxQueuedPerWorker',
  'store',
  'rollback',
  'kv',
  'logger',
  'onDecision',
  'maxEnvelopeBytes',
  'now',
  'jail',
  'onJail',
]);

function badTenant(got: string, cause?: unknown): never {
  throw new ConfigError(
    'ERR_CONFIG_INVALID',
    `load: options.tenant must be a string matching ${TENANT_NAME.source}, got ${got}`,
    {},
    cause === undefined ? undefined : { cause },
  );
}

/**
 * Reads and validates `options.tenant` exactly once.
 * Defends against a hostile or buggy caller: a getter or Proxy trap that throws, a value whose
 * toString throws (or a null-prototype object, which has none), a tenant inherited from a polluted
 * Object.prototype. Only an own data property holding a tenant-syntax string is accepted, and
 * every other case is a typed ConfigError whose message never stringifies the value.
 */
function readTenant(loadOptions: unknown): string {
  if (typeof loadOptions !== 'object' || loadOptions === null)
    badTenant(`options of type ${typeof loadOptions}`);
  let descriptor: PropertyDescriptor | undefined;
  try {
    descriptor = Object.getOwnPropertyDescriptor(loadOptions, 'tenant');
  } catch (error) {
    badTenant('options that could not be read', error);
  }
  if (descriptor === undefined) badTenant('no own tenant property');
  if (!('value' in descriptor)) badTenant('an accessor');
  const tenant: unknown = descriptor.value;
  if (typeof tenant !== 'string') badTenant(tenant === null ? 'null' : typeof tenant);
  // Defends against a caller's tenant that later becomes a file name or kv namespace, or carries
  // terminal escapes into logs: only the statement-tenant syntax is accepted.
  if (!TENANT_NAME.test(tenant)) badTenant(JSON.stringify(tenant.slice(0, 80)));
  return tenant;
}

let warnedNoJail = false;

/** Says once whether workers are jailed: to `onJail`, or (unjailed under `auto`) as a process warning. */
function announceJail(status: JailStatus, onJail: ((status: JailStatus) => void) | undefined): void {
  if (onJail !== undefined) {
    try {
      const result: unknown = onJail(status);
      // Defends against an async sink whose rejection would be unhandled and end the node.
      if (result instanceof Promise) result.catch(() => undefined);
    } catch {
      // Policy: a throwing sink does not stop the node from starting; the status stays on loader.jail.
    }
    return;
  }
  if (status.jailed || status.mode === 'off' || warnedNoJail) return;
  // Once per process: every loader of this process decides the same way.
  warnedNoJail = true;
  process.emitWarning(`sealbox: sandbox workers run without the OS jail: ${status.reason ?? 'unknown'}`, {
    code: 'SEALBOX_JAIL_OFF',
  });
}

/**
 * Creates the loader a multi-tenant node uses to run signed components.
 *
 * @example
 * ```ts
 * const loader = createLoader({ keyring: 'keyring.json', policy: 'policies/' });
 * const tokenizer = await loader.load(envelopeText, { tenant: 'acme' });
 * console.log(await tokenizer.call('tokenize', 'Hello World'));
 * await loader.close();
 * ```
 * @throws ConfigError ERR_KEYRING_INVALID, ERR_POLICY_INVALID, ERR_CONFIG_INVALID, ERR_STATE_STORE
 */
export function createLoader(options: LoaderOptions): Loader {
  if (typeof options !== 'object' || options === null) {
    throw new ConfigError('ERR_CONFIG_INVALID', 'createLoader: options must be an object');
  }
  // Defends against a misspelt safety option silently falling back to a default (`rollbak: path`
  // would leave rollback state in memory): unknown keys, symbol keys included, are refused.
  for (const key of Reflect.ownKeys(options)) {
    if (typeof key !== 'string' || !LOADER_OPTION_KEYS.has(key)) {
      throw new ConfigError('ERR_CONFIG_INVALID', `createLoader: unknown option ${String(key).slice(0, 40)}`);
    }
  }
  // Read once: the sink in force is the one given at creation.
  const onDecision = options.onDecision;
  if (onDecision !== undefined && typeof onDecision !== 'function') {
    throw new ConfigError('ERR_CONFIG_INVALID', 'createLoader: onDecision must be a function');
  }

  // Decided once, before anything else starts: `required` refuses here, naming what is missing.
  const onJail = options.onJail;
  if (onJail !== undefined && typeof onJail !== 'function') {
    throw new ConfigError('ERR_CONFIG_INVALID', 'createLoader: onJail must be a function');
  }
  const jailing = resolveJail(options.jail === undefined ? 'auto' : options.jail);
  announceJail(jailing.status, onJail);

  const keyrings = new KeyringSource(options.keyring);
  const policy: PolicySet =
    options.policy === undefined || typeof options.policy === 'string'
      ? loadPolicy(options.policy)
      : options.policy;
  if (options.store !== undefined && options.rollback !== undefined) {
    throw new ConfigError(
      'ERR_CONFIG_INVALID',
      'createLoader: give store or (deprecated) rollback, not both',
    );
  }
  if (options.store !== undefined && typeof options.store !== 'string' && !isStore(options.store)) {
    throw new ConfigError('ERR_CONFIG_INVALID', 'createLoader: store must be a Store, a URL or a file path');
  }
  const ownsStore = !isStore(options.store);
  const store: Store =
    options.store === undefined
      ? new MemoryStore()
      : typeof options.store === 'string'
        ? openStore(options.store)
        : options.store;
  let ownedRollback: RollbackStore | undefined;
  let marks: RollbackMarks = store.rollback;
  if (typeof options.rollback === 'string') {
    ownedRollback = new SqliteRollbackStore(options.rollback);
    marks = marksFromRollbackStore(ownedRollback);
  } else if (options.rollback !== undefined) {
    if (typeof (options.rollback as Partial<RollbackStore>).accept !== 'function') {
      throw new ConfigError(
        'ERR_CONFIG_INVALID',
        'createLoader: rollback must be a RollbackStore or a file path',
      );
    }
    marks = marksFromRollbackStore(options.rollback);
  }
  const now = options.now ?? (() => new Date());
  const supervisorOptions: Parameters<typeof createSupervisor>[0] = {
    ...(options.workers !== undefined ? { workers: options.workers } : {}),
    ...(options.deadlineMs !== undefined ? { deadlineMs: options.deadlineMs } : {}),
    ...(options.maxQueuedPerWorker !== undefined ? { maxQueuedPerWorker: options.maxQueuedPerWorker } : {}),
    ...(options.logger !== undefined ? { logger: options.logger } : {}),
    kv: options.kv ?? store.kv,
    ...(options.capabilities !== undefined ? { capabilities: options.capabilities } : {}),
    ...(jailing.jail !== undefined ? { jail: jailing.jail } : {}),
  };
  let supervisor: Supervisor | undefined;
  const checks = new Map<string, CheckedEntry>();
  // Step 4 runs on worker threads with a deadline: no source holds the event loop while checked.
  const checkPool = new CheckPool();
  const live = new Set<SandboxedComponent>();
  const follows = new Set<FollowHandle>();
  let closed = false;

  function report(event: DecisionEvent): void {
    if (onDecision === undefined) return;
    try {
      // Frozen: one sink cannot rewrite what the loader reported.
      const result: unknown = onDecision(
        Object.freeze({
          ...event,
          cached: Object.freeze({ ...event.cached }),
          stages: Object.freeze({ ...event.stages }),
        }),
      );
      // Defends against an async sink that rejects (a log pipeline down): its rejection would be
      // unhandled and, under Node's default, kill the whole node; it is swallowed like a throw.
      if (
        (typeof result === 'object' || typeof result === 'function') &&
        result !== null &&
        typeof (result as { then?: unknown }).then === 'function'
      ) {
        Promise.resolve(result).catch(() => undefined);
      }
    } catch {
      // Policy: a throwing decision sink must not turn an accepted load into a failure or hide a
      // refusal; the event is dropped.
    }
  }

  // Defends against a stale verdict surviving a policy change: the revision number alone does
  // not change on a tenant-overlay edit, nor on an audit → enforce switch reloaded without a bump
  // (reload accepts an equal revision). Each EffectivePolicy object (a new one after every reload)
  // gets its own generation, so a cached check is reused only under the very policy it ran against.
  const generations = new WeakMap<EffectivePolicy, number>();
  let nextGeneration = 0;
  function generationOf(effective: EffectivePolicy): number {
    let generation = generations.get(effective);
    if (generation === undefined) {
      generation = ++nextGeneration;
      generations.set(effective, generation);
    }
    return generation;
  }

  async function cachedCheck(verified: VerifiedEnvelope, effective: EffectivePolicy, tenant: string) {
    const key = `${verified.digest}\u0000${tenant}\u0000${effective.revision}\u0000${effective.mode}\u0000${generationOf(effective)}`;
    const hit = checks.get(key);
    if (hit) {
      // LRU: move to the back.
      checks.delete(key);
      checks.set(key, hit);
      return { result: hit.result, cached: true };
    }
    // A check past its deadline throws (source.budget) and is not cached: it may pass when the
    // node is less busy.
    const result = await checkPool.check(verified.statement.source, effective, {
      requires: verified.statement.requires,
      ...(verified.statement.dependencies ? { dependencies: verified.statement.dependencies } : {}),
    });
    checks.set(key, { result });
    if (checks.size > MAX_CHECK_CACHE) checks.delete(checks.keys().next().value!);
    return { result, cached: false };
  }

  async function load(
    input: string | Uint8Array | Envelope | object,
    loadOptions: { readonly tenant: string },
  ) {
    const started = now();
    const stages: StageTimes = { verify: 0, policy: 0, sandbox: 0 };
    const cached = { verify: false, policy: false };
    // Only a validated name ever reaches the decision event (never raw caller input).
    let tenant = '';
    let verified: VerifiedEnvelope | undefined;
    let effective: EffectivePolicy | undefined;
    let rules: string[] | undefined;
    try {
      if (closed) throw new SandboxError('ERR_SANDBOX_CLOSED', 'load: the loader is closed');
      tenant = readTenant(loadOptions);
      effective = policy.forTenant(tenant);

      // Steps 1-3: size limit, envelope, signatures, statement, tenant, expiry, rollback.
      let t = performance.now();
      const keyring = keyrings.current();
      verified = verifyEnvelope(input, keyring, {
        tenant,
        now: now(),
        threshold: effective.trust.minSignatures,
        requireExpiry: effective.trust.requireExpiry,
        // Defends against unauthenticated CPU work: the tenant's policy sizes the envelope (the
        // class, plus artifacts counted separately) before any byte is parsed or hashed.
        limits: {
          ...envelopeLimitsFor(effective.envelope),
          ...(options.maxEnvelopeBytes !== undefined ? { maxEnvelopeBytes: options.maxEnvelopeBytes } : {}),
        },
      });
      cached.verify = verified.cached === true;
      // Rollback, read only: an older or equivocating version is refused before any sandbox work.
      // Recording happens last (step 6), so a version this node refuses never becomes the mark.
      const statementOf = verified.statement;
      decideRollback(
        statementOf.tenant,
        statementOf.identifier,
        statementOf.version,
        verified.digest,
        await marks.highest(statementOf.tenant, statementOf.identifier),
      );
      stages.verify = elapsed(t);

      // Step 4: AST policy and capability grant (cached per digest + tenant + policy object).
      t = performance.now();
      const check = await cachedCheck(verified, effective, tenant);
      // Defends against a load that was checking while close() ran starting a new supervisor.
      if (closed) throw new SandboxError('ERR_SANDBOX_CLOSED', 'load: the loader is closed');
      cached.policy = check.cached;
      if (check.result.violations.length > 0)
        rules = [...new Set(check.result.violations.map((v) => v.rule))];
      assertSourceAllowed(check.result);
      stages.policy = elapsed(t);

      // Step 5: the sandbox.
      t = performance.now();
      const statement = verified.statement;
      supervisor ??= createSupervisor(supervisorOptions);
      const sandboxed = await supervisor.instantiate({
        tenant,
        identifier: statement.identifier,
        version: statement.version,
        digest: verified.digest,
        entry: statement.entry,
        source: statement.source,
        params: statement.params,
        artifacts: decodeArtifacts(statement),
        grants: effective.capabilities,
        limits: effective.resources,
        // BigInt at run time only where the policy lets the tenant write BigInt literals.
        bigint: effective.syntax.has(BIGINT_LITERAL),
      });
      live.add(sandboxed);
      // Step 6: record the version, atomically across every node sharing the store. Losing the
      // record (another node accepted a higher version, or this version with other bytes, in
      // between) disposes the instance: nothing runs that the mark does not cover.
      try {
        await marks.record(statement.tenant, statement.identifier, statement.version, verified.digest);
      } catch (error) {
        live.delete(sandboxed);
        await sandboxed.dispose().catch(() => undefined);
        throw error;
      }
      stages.sandbox = elapsed(t);

      report({
        time: started.toISOString(),
        tenant,
        result: rules ? 'audited' : 'loaded',
        identifier: statement.identifier,
        version: statement.version,
        digest: verified.digest,
        signers: verified.signers,
        keyringRevision: verified.keyringRevision,
        policyRevision: effective.revision,
        tenantPolicyRevision: effective.tenantRevision,
        policyMode: effective.mode,
        ...(rules ? { rules } : {}),
        cached,
        stages,
      });
      return makeLoaded(sandboxed, statement, verified.digest, tenant);
    } catch (error) {
      const code: ErrorCode = error instanceof SealboxError ? error.code : 'ERR_INTERNAL';
      if (error instanceof PolicyError) rules = [...new Set(error.violations.map((v) => v.rule))];
      report({
        time: started.toISOString(),
        tenant,
        result: 'refused',
        ...(verified
          ? {
              identifier: verified.statement.identifier,
              version: verified.statement.version,
              digest: verified.digest,
              signers: verified.signers,
              keyringRevision: verified.keyringRevision,
            }
          : {}),
        ...(effective
          ? {
              policyRevision: effective.revision,
              tenantPolicyRevision: effective.tenantRevision,
              policyMode: effective.mode,
            }
          : {}),
        code,
        ...(rules ? { rules } : {}),
        cached,
        stages,
      });
      throw error;
    }
  }

  function makeLoaded(sandboxed: SandboxedComponent, statement: Statement, digest: string, tenant: string) {
    const loaded: LoadedComponent = {
      tenant,
      identifier: statement.identifier,
      version: statement.version,
      digest,
      methods: sandboxed.methods,
      call: (method, ...args) => sandboxed.call(method, ...args),
      invoke: (method, args, invokeOptions) => sandboxed.invoke(method, args, invokeOptions),
      dispose: async () => {
        live.delete(sandboxed);
        await sandboxed.dispose();
      },
    };
    return Object.freeze(loaded);
  }

  function follow(tenant: string, identifier: string, followOptions?: FollowOptions): FollowHandle {
    if (closed) throw new SandboxError('ERR_SANDBOX_CLOSED', 'follow: the loader is closed');
    const name = readTenant({ tenant });
    if (typeof identifier !== 'string' || !COMPONENT_IDENTIFIER.test(identifier)) {
      throw new ConfigError(
        'ERR_CONFIG_INVALID',
        `follow: identifier must match ${COMPONENT_IDENTIFIER.source}`,
      );
    }
    const handle = createFollow(
      {
        tenant: name,
        identifier,
        registry: store.registry,
        load: async (envelope) => {
          const loaded = await load(envelope, { tenant: name });
          // Defends against a row filed under one identifier carrying a statement of another: the
          // statement (signed) decides what it is, and only this identifier is served here.
          if (loaded.identifier !== identifier) {
            await loaded.dispose();
            throw new ConfigError('ERR_CONFIG_INVALID', 'follow: the registry row holds another identifier');
          }
          return loaded;
        },
      },
      followOptions,
    );
    follows.add(handle);
    return handle;
  }

  return Object.freeze({
    load,
    follow,
    policy,
    stats: (): SupervisorStats =>
      supervisor?.stats() ?? {
        workers: 0,
        isolates: 0,
        components: 0,
        restarts: 0,
        pids: [],
        waiting: 0,
        running: 0,
        quarantined: 0,
      },
    jail: jailing.status,
    reloadPolicy: () => policy.reload(),
    setKeyring: (keyring: Keyring) => keyrings.set(keyring),
    async close() {
      if (closed) return;
      closed = true;
      // Defends against calls in flight at shutdown getting a misleading ERR_SANDBOX_CRASHED
      // ("component is not loaded") when per-component unloads overtake them: the supervisor is
      // closed directly, which rejects every pending load and call with ERR_SANDBOX_CLOSED and
      // kills every worker (so nothing of any component survives either way).
      for (const handle of follows) await handle.close();
      follows.clear();
      live.clear();
      await Promise.all([supervisor?.close(), checkPool.close()]);
      ownedRollback?.close();
      if (ownsStore) await store.close();
    },
  });
}
