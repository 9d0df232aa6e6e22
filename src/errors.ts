/**
 * Typed errors with stable codes.
 *
 * Codes are API: never reuse one or change its meaning; messages may change. Every code is listed
 * in {@link ERROR_CODES} with the class that throws it, and documented in docs/errors.md (a test
 * fails when the two disagree). The subclasses are split by who has to act:
 *
 * - {@link UsageError}     the caller used the API or CLI wrongly (CLI exit 2)
 * - {@link EnvelopeError}  forged or malformed input: envelope, statement, params (exit 3)
 * - {@link ConfigError}    a bad keyring, key file or policy file: the operator's fault (exit 3)
 * - {@link PackError}      the author's source cannot be packed (exit 3)
 * - {@link TrustError}     unknown, revoked or out-of-scope key, rollback, expiry (exit 4)
 * - {@link PolicyError}    the source or its requirements break policy (exit 5)
 * - {@link SandboxError}   limit, timeout, crash, or a refused call inside the sandbox (exit 6)
 * - {@link ComponentError} the component's own code threw (exit 6)
 */

/** The error classes, by name; `kind` of a code in {@link ERROR_CODES}. */
export type ErrorKind =
  | 'UsageError'
  | 'EnvelopeError'
  | 'ConfigError'
  | 'PackError'
  | 'TrustError'
  | 'PolicyError'
  | 'SandboxError'
  | 'ComponentError'
  | 'InternalError';

/**
 * Every stable error code, with the class that carries it and a one-line meaning.
 * docs/errors.md holds the full entry (meaning, likely cause, what to do).
 */
export const ERROR_CODES = {
  // usage
  ERR_USAGE: { kind: 'UsageError', summary: 'bad CLI flag, argument or API option' },
  ERR_IO: { kind: 'UsageError', summary: 'a file named by the caller cannot be read or written' },
  ERR_KEYRING_LOCKED: {
    kind: 'UsageError',
    summary: 'another command is editing the keyring file; nothing was changed',
  },

  // envelope and statement (untrusted bytes)
  ERR_INPUT_TOO_LARGE: { kind: 'EnvelopeError', summary: 'input is larger than the configured limit' },
  ERR_ENVELOPE_MALFORMED: { kind: 'EnvelopeError', summary: 'envelope is not a well-formed DSSE v1 object' },
  ERR_PAYLOAD_TYPE: { kind: 'EnvelopeError', summary: 'payloadType is not the sealbox component type' },
  ERR_TOO_MANY_SIGNATURES: { kind: 'EnvelopeError', summary: 'more signatures than the envelope limit' },
  ERR_PAYLOAD_NOT_CANONICAL: {
    kind: 'EnvelopeError',
    summary: 'signed payload is not RFC 8785 canonical JSON',
  },
  ERR_STATEMENT_INVALID: { kind: 'EnvelopeError', summary: 'statement does not match the closed schema' },
  ERR_STATEMENT_VERSION: {
    kind: 'EnvelopeError',
    summary: 'the statement format (_type) is newer than this release reads',
  },
  ERR_DIGEST_MISMATCH: { kind: 'EnvelopeError', summary: 'a source or artifact hash or size does not match' },
  ERR_JSON_INVALID: { kind: 'EnvelopeError', summary: 'a value is not plain JSON (params, args, results)' },

  // operator configuration
  ERR_KEYRING_INVALID: { kind: 'ConfigError', summary: 'keyring file is malformed or breaks a keyring rule' },
  ERR_KEY_WEAK: { kind: 'ConfigError', summary: 'a public key is invalid or of small order' },
  ERR_PRIVATE_KEY_INVALID: { kind: 'ConfigError', summary: 'private key file is malformed' },
  ERR_PUBLIC_KEY_INVALID: { kind: 'ConfigError', summary: 'public key file is malformed' },
  ERR_POLICY_INVALID: { kind: 'ConfigError', summary: 'policy file fails to parse or validate' },
  ERR_CONFIG_INVALID: { kind: 'ConfigError', summary: 'an option given to the library is invalid' },
  ERR_STATE_STORE: { kind: 'ConfigError', summary: 'the rollback or kv state store cannot be used' },

  // packing (author side)
  ERR_PACK_SYNTAX: { kind: 'PackError', summary: 'source does not parse' },
  ERR_PACK_EXPORT: { kind: 'PackError', summary: 'the requested export is missing or not a class' },
  ERR_PACK_BASE_CLASS: { kind: 'PackError', summary: 'the entry class does not extend Component' },
  ERR_PACK_IMPORT: { kind: 'PackError', summary: 'an import cannot be bundled into the script' },
  ERR_PACK_PACKAGE: {
    kind: 'PackError',
    summary: 'a package needs something the sandbox lacks (Node built-in, addon, URL, computed import)',
  },
  ERR_PACK_FREE_VARIABLE: {
    kind: 'PackError',
    summary: 'the class uses a name the sandbox does not provide',
  },
  ERR_PACK_TYPESCRIPT: {
    kind: 'PackError',
    summary: 'a TypeScript construct needs a transform sealbox refuses',
  },
  ERR_PACK_PARAMS: { kind: 'PackError', summary: 'params are not plain JSON' },
  ERR_PACK_ARTIFACT: { kind: 'PackError', summary: 'an artifact is missing, misnamed or too large' },
  ERR_PACK_OPTIONS: { kind: 'PackError', summary: 'pack options are invalid' },
  ERR_PACK_TOO_LARGE: {
    kind: 'PackError',
    summary: 'a source file or the packed source exceeds the size limit',
  },
  ERR_PACK_STATEMENT: {
    kind: 'PackError',
    summary: 'a top-level statement the packer would drop touches code the class needs',
  },

  // trust
  ERR_SIGNATURE_INVALID: { kind: 'TrustError', summary: 'no signature verifies over the envelope' },
  ERR_KEY_UNKNOWN: { kind: 'TrustError', summary: 'no signing key is in the keyring' },
  ERR_KEY_REVOKED: { kind: 'TrustError', summary: 'the signing key is revoked' },
  ERR_KEY_TENANT_SCOPE: { kind: 'TrustError', summary: 'the key may not sign for this tenant' },
  ERR_KEY_IDENTIFIER_SCOPE: { kind: 'TrustError', summary: 'the key may not sign this identifier' },
  ERR_KEY_EXPIRED: { kind: 'TrustError', summary: 'the key is past its validUntil' },
  ERR_KEY_NOT_YET_VALID: { kind: 'TrustError', summary: 'the key is before its validFrom' },
  ERR_THRESHOLD: { kind: 'TrustError', summary: 'fewer distinct valid signatures than required' },
  ERR_STATEMENT_EXPIRED: { kind: 'TrustError', summary: 'the statement is past its expiresAt' },
  ERR_STATEMENT_NOT_YET_VALID: { kind: 'TrustError', summary: 'the statement is issued in the future' },
  ERR_EXPIRY_REQUIRED: {
    kind: 'TrustError',
    summary: 'policy requires expiresAt and the statement has none',
  },
  ERR_ROLLBACK: { kind: 'TrustError', summary: 'version is lower than one already seen' },
  ERR_ROLLBACK_DIGEST: { kind: 'TrustError', summary: 'same version already seen with another digest' },
  ERR_TENANT_MISMATCH: { kind: 'TrustError', summary: 'the statement belongs to another tenant' },

  // policy
  ERR_POLICY_VIOLATION: { kind: 'PolicyError', summary: 'the source breaks one or more policy rules' },
  ERR_CAPABILITY_NOT_GRANTED: {
    kind: 'PolicyError',
    summary: 'requires names a capability the policy does not grant',
  },

  // sandbox
  ERR_TIMEOUT: { kind: 'SandboxError', summary: 'the call overran its time limit' },
  ERR_MEMORY_LIMIT: { kind: 'SandboxError', summary: 'the isolate ran out of its memory limit' },
  ERR_SANDBOX_CRASHED: { kind: 'SandboxError', summary: 'the worker process died or stopped answering' },
  ERR_SANDBOX_CLOSED: { kind: 'SandboxError', summary: 'the component or loader is disposed' },
  ERR_METHOD_NOT_FOUND: { kind: 'SandboxError', summary: 'no such own public method on the entry class' },
  ERR_ARGS_INVALID: { kind: 'SandboxError', summary: 'call arguments are not JSON or exceed the caps' },
  ERR_RESULT_INVALID: { kind: 'SandboxError', summary: 'the result is not JSON or exceeds the caps' },
  ERR_CAPABILITY_DENIED: { kind: 'SandboxError', summary: 'a capability call was refused' },
  ERR_QUOTA_EXCEEDED: { kind: 'SandboxError', summary: 'a capability or call quota is used up' },
  ERR_QUEUE_FULL: { kind: 'SandboxError', summary: 'the tenant has too many calls waiting' },
  ERR_OVERLOADED: {
    kind: 'SandboxError',
    summary: 'the node is past its queue bound; retry later (retryable)',
  },
  ERR_DEADLINE: { kind: 'SandboxError', summary: "the caller's wall-clock deadline passed (retryable)" },
  ERR_INSTANTIATE: { kind: 'SandboxError', summary: 'the component could not be compiled or constructed' },
  ERR_COMPONENT_THREW: { kind: 'ComponentError', summary: 'the component code threw an exception' },

  // fleet: follow and sealbox serve
  ERR_NO_VERSION: { kind: 'SandboxError', summary: 'no published version of the component was accepted' },
  ERR_REQUEST_INVALID: { kind: 'UsageError', summary: 'an HTTP request to sealbox serve is malformed' },
  ERR_UNAUTHORIZED: { kind: 'UsageError', summary: 'the HTTP request has no known bearer token' },
  ERR_FORBIDDEN: { kind: 'UsageError', summary: 'the bearer token belongs to another tenant' },

  // bugs
  ERR_INTERNAL: { kind: 'InternalError', summary: 'a bug in sealbox' },
} as const satisfies Record<string, { kind: ErrorKind; summary: string }>;

/** A stable error code. */
export type ErrorCode = keyof typeof ERROR_CODES;

type CodeOf<K extends ErrorKind> = {
  [C in ErrorCode]: (typeof ERROR_CODES)[C]['kind'] extends K ? C : never;
}[ErrorCode];

/** Extra, JSON-safe facts about an error (never secrets, never whole untrusted payloads). */
export type ErrorDetails = Record<string, unknown>;

/** Base of every error sealbox throws on purpose. */
export class SealboxError extends Error {
  /** Stable code; see {@link ERROR_CODES} and docs/errors.md. */
  readonly code: ErrorCode;
  /** JSON-safe facts for machines (the CLI's `--json` prints them). */
  readonly details: ErrorDetails;

  constructor(code: ErrorCode, message: string, details: ErrorDetails = {}, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
    this.details = details;
  }

  override get name(): string {
    return this.constructor.name;
  }

  /** `{ ...details, name, code, message }`, for `--json` output. */
  toJSON(): { name: string; code: ErrorCode; message: string } & ErrorDetails {
    // Details come first so that they can never overwrite the class name, code or message.
    return { ...this.details, name: this.name, code: this.code, message: this.message };
  }
}

/**
 * The base of the error classes whose codes belong to one kind: the constructor accepts only the
 * codes ERROR_CODES files under `K`, so `new UsageError('ERR_TIMEOUT', …)` does not compile. The
 * classes below are empty subclasses: their name (`error.name`, the `--json` output's `name`) and
 * `instanceof` are all they add.
 */
export abstract class CodedError<K extends ErrorKind> extends SealboxError {
  constructor(code: CodeOf<K>, message: string, details?: ErrorDetails, options?: { cause?: unknown }) {
    super(code, message, details, options);
  }
}

/** Bad CLI flag, argument or API option. */
export class UsageError extends CodedError<'UsageError'> {}

/** Forged or malformed untrusted input. */
export class EnvelopeError extends CodedError<'EnvelopeError'> {}

/** A bad keyring, key file, policy file or option: the operator's fault. */
export class ConfigError extends CodedError<'ConfigError'> {}

/** The author's module or class cannot be packed. */
export class PackError extends CodedError<'PackError'> {}

/** Signature, key scope, validity, rollback: the node does not trust these bytes. */
export class TrustError extends CodedError<'TrustError'> {}

/** One policy violation, as ops see it. */
export interface Violation {
  /** Stable rule id, e.g. `globals.free`, `names.forbidden`. */
  readonly rule: string;
  readonly message: string;
  /** 1-based line, 0-based column (acorn's convention), 0/0 when not tied to a position. */
  readonly line: number;
  readonly column: number;
  /** The offending source line, trimmed and capped. */
  readonly snippet: string;
}

/** The source or its requirements break policy; carries every violation at once. */
export class PolicyError extends SealboxError {
  readonly violations: readonly Violation[];

  constructor(
    code: CodeOf<'PolicyError'>,
    message: string,
    violations: readonly Violation[] = [],
    details?: ErrorDetails,
    options?: { cause?: unknown },
  ) {
    super(code, message, { ...details, violations }, options);
    this.violations = violations;
  }
}

/** A limit, timeout, crash, or refused call inside the sandbox. */
export class SandboxError extends CodedError<'SandboxError'> {}

/** The component's own code threw. `message` is the component's; `componentStack` has only its frames. */
export class ComponentError extends SealboxError {
  /** Stack trimmed to the component's own frames (no host paths). */
  readonly componentStack: string;

  constructor(message: string, componentStack = '', details?: ErrorDetails) {
    super('ERR_COMPONENT_THREW', message, { ...details, componentStack });
    this.componentStack = componentStack;
  }
}

/** A bug in sealbox: an invariant broke. */
export class InternalError extends SealboxError {
  constructor(message: string, details?: ErrorDetails, options?: { cause?: unknown }) {
    super('ERR_INTERNAL', message, details, options);
  }
}

/** Type guard: is `value` a sealbox error (optionally with this code)? */
export function isSealboxError(value: unknown, code?: ErrorCode): value is SealboxError {
  return value instanceof SealboxError && (code === undefined || value.code === code);
}

/** CLI exit code for an error, as docs/architecture.md ("Exit codes") fixes them. */
export function exitCodeFor(error: unknown): number {
  if (!(error instanceof SealboxError)) return 1;
  switch (ERROR_CODES[error.code].kind as ErrorKind) {
    case 'UsageError':
      return 2;
    case 'EnvelopeError':
    case 'ConfigError':
    case 'PackError':
      return 3;
    case 'TrustError':
      return 4;
    case 'PolicyError':
      return 5;
    case 'SandboxError':
    case 'ComponentError':
      return 6;
    case 'InternalError':
      return 1;
  }
}
