/**
 * sealbox: ship component classes as signed envelopes and run them safely on untrusted
 * multi-tenant nodes. The public API, exported by name.
 */
export {
  SealboxError,
  UsageError,
  EnvelopeError,
  ConfigError,
  PackError,
  TrustError,
  PolicyError,
  SandboxError,
  ComponentError,
  InternalError,
  ERROR_CODES,
  isSealboxError,
  exitCodeFor,
} from './errors.ts';
export type { ErrorCode, ErrorKind, ErrorDetails, Violation } from './errors.ts';
export { PAYLOAD_TYPE, STATEMENT_TYPE, MAX_SIGNATURES } from './envelope/types.ts';
export type { Envelope, Signature, Statement, Artifact, JsonValue } from './envelope/types.ts';
export { parseEnvelope, encodeEnvelope } from './envelope/envelope.ts';
export { parseStatement, statementDigest, buildStatementPayload } from './envelope/statement.ts';
export { canonicalize, canonicalBytes, isCanonical } from './envelope/canonical-json.ts';
export { pae } from './envelope/pae.ts';
export { DEFAULT_ENVELOPE_LIMITS } from './envelope/limits.ts';
export type { EnvelopeLimits } from './envelope/limits.ts';
export {
  generateKeyPair,
  keyIdOf,
  parsePrivateKey,
  parsePublicKeyFile,
  formatPrivateKeyFile,
  formatPublicKeyFile,
} from './trust/keys.ts';
export type { KeyPair, PublicKeyFile } from './trust/keys.ts';
export { Keyring } from './trust/keyring.ts';
export type { KeyringEntry, KeyringJson } from './trust/keyring.ts';
export { MemoryRollbackStore, SqliteRollbackStore } from './trust/rollback.ts';
export type { RollbackStore } from './trust/rollback.ts';
export { signEnvelope } from './trust/sign.ts';
export { verifyEnvelope } from './trust/verify.ts';
export type { VerifyOptions, VerifiedEnvelope } from './trust/verify.ts';
export { VerifyCache } from './trust/verify-cache.ts';
export type { VerifyCacheOptions } from './trust/verify-cache.ts';
export { Component } from './component/component.ts';
export type {
  ComponentClass,
  ComponentContext,
  Host,
  KvCapability,
  LogLevel,
  JsonObject,
} from './component/component.ts';
export { pack } from './component/pack.ts';
export type { PackOptions, PackedStatement, ArtifactInput } from './component/pack.ts';
export { findFreeVariables, SANDBOX_GLOBALS } from './component/free-variables.ts';
export type { FreeReference } from './component/free-variables.ts';
export { loadPolicy, isTenantName, TENANT_PATTERN } from './policy/load.ts';
export { checkSource, assertSourceAllowed } from './policy/check.ts';
export { POLICY_RULES } from './policy/rules.ts';
export { suggestPolicy } from './policy/suggest.ts';
export type { PolicySuggestion } from './policy/suggest.ts';
export type { PolicyRule } from './policy/rules.ts';
export type {
  EffectivePolicy,
  PolicySet,
  PolicyMode,
  ReloadResult,
  CheckOptions,
  CheckResult,
  CheckStats,
  SourceLimits,
  ResourceLimits,
  CapabilityGrants,
  TrustRequirements,
} from './policy/types.ts';
export { createSupervisor } from './sandbox/supervisor.ts';
export type {
  Supervisor,
  SupervisorOptions,
  SupervisorStats,
  ComponentSpec,
  SandboxedComponent,
} from './sandbox/supervisor.ts';
export { DEFAULT_SANDBOX_LIMITS } from './sandbox/limits.ts';
export type { SandboxLimits } from './sandbox/limits.ts';
export { MemoryKvStore, SqliteKvStore } from './sandbox/kv-store.ts';
export type { KvStore } from './sandbox/kv-store.ts';
export type {
  HostCapability,
  CapabilityMethod,
  CapabilityContext,
  LogEntry,
} from './sandbox/capabilities.ts';
