/**
 * Publishing: an envelope goes into the registry under its statement's tenant, identifier and
 * version. Nothing is verified or trusted here (a node verifies everything it reads); the
 * envelope and statement are only parsed, so that malformed bytes are refused at the door.
 */
import { createHash } from 'node:crypto';
import { decodeEnvelope, encodeEnvelope } from '../envelope/envelope.ts';
import { parseStatement, statementDigest } from '../envelope/statement.ts';
import type { Envelope } from '../envelope/types.ts';
import { ConfigError } from '../errors.ts';
import { isStore, openStore } from './open.ts';
import type { PublishedSummary, Store } from './types.ts';

/** What {@link publish} did. */
export interface PublishResult {
  readonly tenant: string;
  readonly identifier: string;
  readonly version: number;
  readonly digest: string;
  readonly envelopeHash: string;
  /** false when the very same envelope was already published */
  readonly stored: boolean;
}

/**
 * Stores an envelope in a store's registry. Publishing does not make anything trusted: nodes that
 * follow the identifier still check keyring, rollback and policy.
 * @throws EnvelopeError when the envelope or its statement is malformed
 * @throws ConfigError ERR_STATE_STORE when the store cannot be written, ERR_CONFIG_INVALID
 */
export async function publish(
  envelope: string | Uint8Array | Envelope | object,
  options: { readonly store: Store | string },
): Promise<PublishResult> {
  if (typeof options !== 'object' || options === null) {
    throw new ConfigError('ERR_CONFIG_INVALID', 'publish: options must be { store }');
  }
  const decoded = decodeEnvelope(envelope);
  const statement = parseStatement(decoded.payload);
  // Stored in one normal form: the same envelope always hashes the same.
  const text = encodeEnvelope(decoded.envelope);
  const entry = {
    tenant: statement.tenant,
    identifier: statement.identifier,
    version: statement.version,
    digest: statementDigest(decoded.payload),
    envelopeHash: createHash('sha256').update(text).digest('hex'),
    envelope: text,
  };
  const owned = !isStore(options.store);
  const store = isStore(options.store) ? options.store : openStore(options.store);
  try {
    await store.ready();
    const stored = await store.registry.put(entry);
    const { envelope: _text, ...summary } = entry;
    return Object.freeze({ ...summary, stored });
  } finally {
    if (owned) await store.close();
  }
}

/** Lists published envelopes, newest first (what `sealbox registry ls` prints). */
export async function listPublished(
  store: Store | string,
  filter: { readonly tenant?: string; readonly limit?: number } = {},
): Promise<PublishedSummary[]> {
  const owned = !isStore(store);
  const opened = isStore(store) ? store : openStore(store);
  try {
    await opened.ready();
    return await opened.registry.list(filter);
  } finally {
    if (owned) await opened.close();
  }
}
