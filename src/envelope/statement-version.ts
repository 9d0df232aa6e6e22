/**
 * Statement format versions (`_type`). A node reads every version it knows and refuses a newer
 * one with ERR_STATEMENT_VERSION; the packer writes the lowest version that can express the
 * component, so nodes on older releases keep loading what they can.
 *
 * | `_type`                | adds            | first release that reads it |
 * |------------------------|-----------------|-----------------------------|
 * | `sealbox/component/v1` | (the base form) | 0.1.0                       |
 * | `sealbox/component/v2` | `dependencies`  | 0.2.0                       |
 */
import { EnvelopeError } from '../errors.ts';
import { SEALBOX_VERSION } from '../version.ts';
import { visibleText } from './visible.ts';
import { STATEMENT_TYPE, STATEMENT_TYPE_V2 } from './types.ts';

/** The versions this release reads, oldest first, with the release that introduced each. */
export const STATEMENT_VERSIONS: readonly { readonly type: string; readonly since: string }[] = Object.freeze(
  [
    Object.freeze({ type: STATEMENT_TYPE, since: '0.1.0' }),
    Object.freeze({ type: STATEMENT_TYPE_V2, since: '0.2.0' }),
  ],
);

const TYPE_PATTERN = /^sealbox\/component\/v([1-9][0-9]{0,5})$/;

/** The format number of a statement `_type` this release reads (1, 2), or throws. */
export function readStatementVersion(type: unknown, packer: unknown): number {
  const m = typeof type === 'string' ? TYPE_PATTERN.exec(type) : null;
  if (!m) {
    throw new EnvelopeError(
      'ERR_STATEMENT_INVALID',
      `statement._type: expected ${STATEMENT_VERSIONS.map((v) => v.type).join(' or ')}`,
      { field: '_type' },
    );
  }
  const version = Number(m[1]);
  if (version > STATEMENT_VERSIONS.length) {
    // The packer field of a newer statement is the best witness of which release reads it (it
    // wrote it). Untrusted text: quoted with controls escaped, length-capped.
    const p = packer as { name?: unknown; version?: unknown } | null;
    const by =
      p !== null && typeof p === 'object' && typeof p.name === 'string' && typeof p.version === 'string'
        ? visibleText(`${p.name.slice(0, 32)} ${p.version.slice(0, 32)}`)
        : undefined;
    throw new EnvelopeError(
      'ERR_STATEMENT_VERSION',
      `statement._type ${type as string} is newer than this node reads (sealbox ${SEALBOX_VERSION} reads ${STATEMENT_VERSIONS.map((v) => v.type.slice('sealbox/component/'.length)).join(', ')}); ` +
        `it needs a sealbox release newer than ${SEALBOX_VERSION}${by ? ` (it was packed by ${by}, which reads it)` : ''}: upgrade the node, or re-pack the component without the newer features`,
      {
        field: '_type',
        type: type as string,
        reads: STATEMENT_VERSIONS.map((v) => v.type),
        ...(by ? { packedBy: by } : {}),
      },
    );
  }
  return version;
}

/** The lowest `_type` that expresses a statement: v2 only when it carries dependencies. */
export function lowestStatementType(
  hasDependencies: boolean,
): typeof STATEMENT_TYPE | typeof STATEMENT_TYPE_V2 {
  return hasDependencies ? STATEMENT_TYPE_V2 : STATEMENT_TYPE;
}
