/**
 * Shared set-up for the fleet tests: hand-written statements signed by a trusted key (so every
 * refusal comes from the node's own pipeline), and a small component that uses kv.
 */
import { createHash } from 'node:crypto';
import { pack } from '../../src/component/pack.ts';
import { encodeEnvelope } from '../../src/envelope/envelope.ts';
import type { Statement } from '../../src/envelope/types.ts';
import type { KeyPair } from '../../src/trust/keys.ts';
import { signEnvelope } from '../../src/trust/sign.ts';
import { makeWorld, type World } from '../e2e/helpers.ts';

/** A class `Box` whose `version()` returns `tag`, with kv helpers; `extra` adds methods or a constructor. */
export const boxSource = (tag: string, extra = ''): string =>
  `class Box extends Component {
  version() { return ${JSON.stringify(tag)}; }
  async put(key, value) { await this.host.kv.set(key, value); return true; }
  async read(key) { return await this.host.kv.get(key); }
  echo(x) { return x; }
  ${extra}
}
`;

export interface Signer {
  readonly world: World;
  /** Signs a hand-written statement; returns the envelope's JSON text. */
  envelope(options: {
    version: number;
    source: string;
    identifier?: string;
    tenant?: string;
    requires?: string[];
    key?: KeyPair;
  }): string;
}

export function makeSigner(tenants: readonly string[] = ['acme', 'globex']): Signer {
  const world = makeWorld(tenants);
  const file = world.write(
    't.js',
    "import { Component } from 'sealbox';\nexport class Box extends Component {}\n",
  );
  const template = pack(file, { export: 'Box', tenant: 'acme', identifier: 'template', version: 1 });
  return {
    world,
    envelope(options) {
      const statement: Statement = {
        ...template,
        tenant: options.tenant ?? 'acme',
        identifier: options.identifier ?? 'box',
        version: options.version,
        entry: 'Box',
        source: options.source,
        sourceSha256: createHash('sha256').update(options.source, 'utf8').digest('hex'),
        params: {},
        requires: [...(options.requires ?? ['kv'])].sort(),
      };
      return encodeEnvelope(signEnvelope(statement, options.key ?? world.key));
    },
  };
}

/** The envelope with one byte of its payload changed (signature no longer matches). */
export function tamper(envelopeText: string): string {
  const envelope = JSON.parse(envelopeText) as { payload: string };
  const payload = Buffer.from(envelope.payload, 'base64');
  const at = payload.indexOf(Buffer.from('version()'));
  payload[at] = 'V'.charCodeAt(0);
  return JSON.stringify({ ...envelope, payload: payload.toString('base64') });
}
