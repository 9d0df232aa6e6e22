/**
 * Wire types of the envelope and the statement it carries (DESIGN.md, "Envelope").
 * Types and constants only; parsing lives in envelope.ts / statement.ts.
 */

/** The only payloadType sealbox signs or accepts. */
export const PAYLOAD_TYPE = 'application/vnd.sealbox.component.v1+json';

/** The statement's `_type`. */
export const STATEMENT_TYPE = 'sealbox/component/v1';

/** At most this many signatures in one envelope. */
export const MAX_SIGNATURES = 4;

/** One DSSE signature. `keyid` is hex SHA-256 of the raw 32-byte Ed25519 public key. */
export interface Signature {
  readonly keyid: string;
  /** base64 of the 64-byte Ed25519 signature */
  readonly sig: string;
}

/** A DSSE v1 envelope: exactly these three fields. */
export interface Envelope {
  readonly payloadType: string;
  /** base64 of the statement's UTF-8 canonical JSON (RFC 8785) */
  readonly payload: string;
  readonly signatures: readonly Signature[];
}

/** A JSON value (what params, arguments and results may be). */
export type JsonValue =
  null | boolean | number | string | readonly JsonValue[] | { readonly [key: string]: JsonValue };

/** One artifact carried inside the statement. */
export interface Artifact {
  /** hex SHA-256 of the decoded bytes */
  readonly sha256: string;
  /** decoded byte length */
  readonly size: number;
  readonly mediaType: string;
  /** base64 of the bytes */
  readonly data: string;
}

/** The signed statement: a closed schema, exactly these fields. */
export interface Statement {
  readonly _type: typeof STATEMENT_TYPE;
  readonly tenant: string;
  readonly identifier: string;
  /** integer >= 1, strictly increasing per (tenant, identifier) */
  readonly version: number;
  /** the class name to instantiate */
  readonly entry: string;
  /** script text (no import/export), compiled as a script */
  readonly source: string;
  /** hex SHA-256 of `source` (UTF-8) */
  readonly sourceSha256: string;
  readonly params: JsonValue;
  readonly artifacts: { readonly [name: string]: Artifact };
  /** capability names the class needs */
  readonly requires: readonly string[];
  /** short human description, for logs and `inspect` */
  readonly repr: string;
  /** RFC 3339 */
  readonly issuedAt: string;
  /** RFC 3339, optional */
  readonly expiresAt?: string;
  readonly packer: { readonly name: string; readonly version: string };
}
