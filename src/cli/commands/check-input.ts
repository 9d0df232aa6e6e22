/** Reading what `sealbox check` and `sealbox policy suggest` inspect: an envelope or a source file. */
import type { Dependency } from '../../envelope/types.ts';
import { decodeEnvelope } from '../../envelope/envelope.ts';
import { parseStatement } from '../../envelope/statement.ts';
import { readTextBounded } from '../files.ts';

/** Largest file `check`/`suggest` read. */
const MAX_INPUT_BYTES = 64 * 1024 * 1024;

/** A source to check, with the statement facts when it came from an envelope. */
export interface CheckInput {
  readonly source: string;
  readonly kind: 'envelope' | 'source';
  readonly tenant?: string;
  readonly requires?: readonly string[];
  /** A v2 statement's SBOM. */
  readonly dependencies?: readonly Dependency[];
}

function looksLikeEnvelope(text: string): boolean {
  if (!/^\s*\{/.test(text)) return false;
  try {
    const value = JSON.parse(text) as unknown;
    return typeof value === 'object' && value !== null && Object.hasOwn(value, 'payloadType');
  } catch {
    return false;
  }
}

/**
 * Reads FILE: a DSSE envelope (its statement's source, tenant and requires, decoded WITHOUT
 * verifying signatures: check inspects, it does not trust) or a JavaScript source file.
 * @throws UsageError `ERR_IO`; EnvelopeError for a malformed envelope or statement.
 */
export function readCheckInput(cwd: string, path: string): CheckInput {
  const text = readTextBounded(cwd, path, MAX_INPUT_BYTES);
  if (!looksLikeEnvelope(text)) return { source: text, kind: 'source' };
  const decoded = decodeEnvelope(text);
  const statement = parseStatement(decoded.payload);
  return {
    source: statement.source,
    kind: 'envelope',
    tenant: statement.tenant,
    requires: statement.requires,
    ...(statement.dependencies ? { dependencies: statement.dependencies } : {}),
  };
}
