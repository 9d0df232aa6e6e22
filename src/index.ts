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
