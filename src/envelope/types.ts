/**
 * Wire types of the envelope and the statement it carries (docs/envelope.md).
 * Types and constants only; parsing lives in envelope.ts / statement.ts.
 */

/** The only payloadType sealbox signs or accepts. */
export const PAYLOAD_TYPE = 'application/vnd.sealbox.component.v1+json';

/** The statement's `_type` for a component without packages (the first format; still written). */
export const STATEMENT_TYPE = 'sealbox/component/v1';

/** The statement's `_type` when it carries `dependencies` (see statement-version.ts). */
export const STATEMENT_TYPE_V2 = 'sealbox/component/v2';

/** One file of a package that contributed bytes to the packed source. */
export interface DependencyFile {
  /** Path inside the package, `/`-separated (e.g. `lib/index.js`). */
  readonly path: string;
  /** hex SHA-256 of the file as it was on disk when packed */
  readonly sha256: string;
}

/** One npm package bundled into the source (the statement's SBOM entry). */
export interface Dependency {
  readonly name: string;
  readonly version: string;
  /** SPDX expression from the package's manifest, or UNKNOWN */
  readonly license: string;
  /** Subresource-integrity hash from the author's package-lock.json, when it lists the package */
  readonly integrity?: string;
  readonly files: readonly DependencyFile[];
}

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
  readonly _type: typeof STATEMENT_TYPE | typeof STATEMENT_TYPE_V2;
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
  /** v2 only: every npm package bundled into `source` (an SBOM covered by the signature) */
  readonly dependencies?: readonly Dependency[];
}
