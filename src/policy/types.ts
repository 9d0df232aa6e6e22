/**
 * Shapes of the policy layer: the effective policy for one tenant, the loaded policy set, and the
 * result of checking a source. Data only; the mechanism lives in load.ts and check.ts.
 */
import type { ConfigError, Violation } from '../errors.ts';
import type { CapabilityGrants, ResourceLimits } from '../sandbox/limits.ts';

/** enforce blocks on violations; audit reports them and lets the load proceed. */
export type PolicyMode = 'enforce' | 'audit';

/** Source limits, checked before any isolate exists. */
export interface SourceLimits {
  readonly maxBytes: number;
  readonly maxNodes: number;
  readonly maxDepth: number;
}

/**
 * Per-component resource limits and granted capabilities: the sandbox owns these shapes and their
 * ranges (src/sandbox/limits.ts); a policy's `resources` and `capabilities` are exactly them.
 */
export type { CapabilityGrants, ResourceLimits } from '../sandbox/limits.ts';

/** Signature requirements, read by the loader before the AST policy. */
export interface TrustRequirements {
  readonly minSignatures: number;
  readonly requireExpiry: boolean;
}

/**
 * Envelope size, read by the loader before anything parses the envelope. The class (source,
 * params, statement fields, envelope encoding) gets `maxBytes`; artifacts are counted separately:
 * the byte cap checked first is `maxBytes` plus the base64-of-base64 size of `maxArtifactsBytes`
 * (artifacts are base64 inside the statement, which is base64 inside the envelope), and the decoded
 * artifacts are then held to `maxArtifactsBytes`.
 */
export interface EnvelopeSizeLimits {
  readonly maxBytes: number;
  readonly maxArtifactsBytes: number;
}

/** Used when a policy file has no `envelope` section (the values policies/default.yaml states). */
export const DEFAULT_ENVELOPE_SIZE: EnvelopeSizeLimits = Object.freeze({
  maxBytes: 4 * 1024 * 1024,
  maxArtifactsBytes: 2 * 1024 * 1024,
});

/** The policy that applies to one tenant: base + its overlay, deep-frozen. */
export interface EffectivePolicy {
  /** The base file's revision, stamped on every decision. */
  readonly revision: number;
  /** The tenant overlay's revision, 0 without an overlay (or without a revision in it). */
  readonly tenantRevision: number;
  readonly tenant: string;
  readonly mode: PolicyMode;
  readonly source: SourceLimits;
  /** Allowed ESTree node types (allow minus deny). */
  readonly syntax: ReadonlySet<string>;
  /** Allowed free globals and global members (`Object.keys`), allow minus deny. */
  readonly globals: ReadonlySet<string>;
  /** Denied globals and members; deny beats allow, also over a bare allowed `X` for `X.y`. */
  readonly globalsDenied: ReadonlySet<string>;
  readonly forbiddenNames: ReadonlySet<string>;
  /** Also refuse any constant string equal to a forbidden name (outside comparisons). */
  readonly forbiddenInAllStrings: boolean;
  readonly capabilities: CapabilityGrants;
  readonly resources: ResourceLimits;
  readonly trust: TrustRequirements;
  readonly envelope: EnvelopeSizeLimits;
}

/** Outcome of `PolicySet.reload()`. */
export type ReloadResult =
  { readonly ok: true; readonly revision: number } | { readonly ok: false; readonly error: ConfigError };

/** A loaded policy file or folder: base + tenant overlays, reloadable. */
export interface PolicySet {
  /** Revision of the current (last good) base policy. */
  readonly revision: number;
  /** The file or folder it was loaded from. */
  readonly source: string;
  /** Tenants that have an overlay, sorted. */
  readonly tenants: readonly string[];
  /**
   * The effective policy for `tenant` (base narrowed by `tenants/<tenant>.yaml` when present).
   * @throws UsageError `ERR_USAGE` when `tenant` is not a valid tenant name.
   */
  forTenant(tenant: string): EffectivePolicy;
  /** The base policy without any overlay (`tenant` is ''), e.g. for `sealbox check` without --tenant. */
  base(): EffectivePolicy;
  /** Re-reads the files; a bad file keeps the last good policy and says why. */
  reload(): ReloadResult;
  /** Watches the files (fs.watch, debounced) and reloads on change; returns `stop`. */
  watch(onReload?: (result: ReloadResult) => void): () => void;
}

/** Options of `checkSource`. */
export interface CheckOptions {
  /** Capability names the component requires (the statement's `requires`). */
  readonly requires?: readonly string[];
}

/** Size figures of the checked source. */
export interface CheckStats {
  readonly bytes: number;
  readonly nodes: number;
  readonly depth: number;
}

/** Result of `checkSource`. */
export interface CheckResult {
  /** No violations. */
  readonly ok: boolean;
  /** `ok` is false and the mode is enforce. */
  readonly blocked: boolean;
  readonly violations: readonly Violation[];
  readonly revision: number;
  readonly mode: PolicyMode;
  readonly tenant: string;
  readonly stats: CheckStats;
}
