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

// Envelope: the wire format (DSSE v1 carrying the canonical statement).
export { PAYLOAD_TYPE, STATEMENT_TYPE, MAX_SIGNATURES } from './envelope/types.ts';
export type { Envelope, Signature, Statement, Artifact, JsonValue } from './envelope/types.ts';
export { parseEnvelope, encodeEnvelope } from './envelope/envelope.ts';

// Trust: keys, keyring, signing and verification, rollback state.
export { generateKeyPair, parsePrivateKey, formatPrivateKeyFile, formatPublicKeyFile } from './trust/keys.ts';
export type { KeyPair } from './trust/keys.ts';
export { Keyring } from './trust/keyring.ts';
export type { KeyringEntry, KeyringJson } from './trust/keyring.ts';
export { MemoryRollbackStore, SqliteRollbackStore } from './trust/rollback.ts';
export type { RollbackStore } from './trust/rollback.ts';
export { signEnvelope } from './trust/sign.ts';
export { verifyEnvelope } from './trust/verify.ts';
export type { VerifyOptions, VerifiedEnvelope } from './trust/verify.ts';

// Component: the author-side base class and the packer.
export { Component } from './component/component.ts';
export type { ComponentContext, Host, KvCapability, LogLevel, JsonObject } from './component/component.ts';
export { pack } from './component/pack.ts';
export type { PackOptions, PackedStatement, ArtifactInput } from './component/pack.ts';

// Policy: the files ops edit, and the AST check.
export { loadPolicy } from './policy/load.ts';
export { checkSource } from './policy/check.ts';
export type { EffectivePolicy, PolicySet, PolicyMode, ReloadResult, CheckResult } from './policy/types.ts';

// Sandbox: stores and custom capabilities an embedding app plugs in.
export { MemoryKvStore, SqliteKvStore } from './sandbox/kv-store.ts';
export type { KvStore } from './sandbox/kv-store.ts';
export type {
  HostCapability,
  CapabilityMethod,
  CapabilityContext,
  LogEntry,
} from './sandbox/capabilities.ts';

// Loader: the pipeline a multi-tenant node imports.
export { createLoader } from './loader.ts';
export type { Loader, LoaderOptions, LoadedComponent, DecisionEvent, StageTimes } from './loader.ts';
export type { JailMode, JailStatus } from './sandbox/jail.ts';

// Fleet: the shared store (rollback marks, kv, registry), publishing and following.
export { openStore } from './store/open.ts';
export { MemoryStore } from './store/memory.ts';
export { SqliteStore } from './store/sqlite.ts';
export { PostgresStore } from './store/postgres.ts';
export { publish, listPublished } from './store/publish.ts';
export type { PublishResult } from './store/publish.ts';
export type {
  Store,
  StoreKind,
  RollbackMarks,
  RollbackMark,
  KvQuota,
  KvUsage,
  Registry,
  PublishedSummary,
  PublishedEnvelope,
} from './store/types.ts';
export type { FollowHandle, FollowOptions } from './follow.ts';
