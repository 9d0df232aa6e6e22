/** `sealbox keyring add`: trust a public key for tenants and identifier globs (creates the file). */
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { UsageError } from '../../errors.ts';
import { encodeBase64 } from '../../envelope/base64.ts';
import { Keyring, type KeyringEntry } from '../../trust/keyring.ts';
import { parsePublicKeyFile } from '../../trust/keys.ts';
import { checkTenant, flag, optionalString, requireString, stringList } from '../args.ts';
import type { Command } from '../context.ts';
import { readTextBounded, writeFileAtomic } from '../files.ts';
import { withKeyringLock } from '../keyring-lock.ts';
import { printJson } from '../output.ts';

const usage = `Usage: sealbox keyring add --keyring FILE --key PUB.json --tenant T [--tenant T2]...
                           [--identifier GLOB]... [--valid-from ISO] [--valid-until ISO]
                           [--comment TEXT] [--json]

Adds the public key in PUB.json to the keyring FILE (created if missing), trusted for the listed
tenants and identifier globs (\`*\` and \`?\`, anchored; default \`*\`), optionally only inside a
validity window (RFC 3339). The key is checked (not small-order, keyid matches) before writing.

Exit codes: 0 ok, 2 usage (or ERR_KEYRING_LOCKED: another command held the keyring for 10 s; nothing
was changed, retry), 3 invalid key or keyring.`;

/** The `sealbox keyring add` command (see `usage`). */
export const keyringAddCommand: Command = {
  name: 'keyring add',
  summary: 'trust a public key for tenants and identifier globs',
  usage,
  options: {
    keyring: { type: 'string' },
    key: { type: 'string' },
    tenant: { type: 'string', multiple: true },
    identifier: { type: 'string', multiple: true },
    'valid-from': { type: 'string' },
    'valid-until': { type: 'string' },
    comment: { type: 'string' },
  },
  positionals: { min: 0, max: 0 },
  async run(args, io) {
    const ringPath = requireString(args, 'keyring', this);
    const keyPath = requireString(args, 'key', this);
    const tenants = stringList(args, 'tenant').map((t) => checkTenant(t, this));
    if (tenants.length === 0)
      throw new UsageError('ERR_USAGE', `keyring add: --tenant is required\n\n${usage}`);
    const identifiers = stringList(args, 'identifier');
    const pub = parsePublicKeyFile(readTextBounded(io.cwd, keyPath, 4096));
    const full = resolve(io.cwd, ringPath);
    const entry: Record<string, unknown> = {
      keyid: pub.keyid,
      publicKey: encodeBase64(pub.publicKey),
      tenants,
      identifiers: identifiers.length > 0 ? identifiers : ['*'],
      status: 'active',
    };
    const validFrom = optionalString(args, 'valid-from');
    const validUntil = optionalString(args, 'valid-until');
    const comment = optionalString(args, 'comment');
    if (validFrom !== undefined) entry['validFrom'] = validFrom;
    if (validUntil !== undefined) entry['validUntil'] = validUntil;
    if (comment !== undefined) entry['comment'] = comment;
    // Read, edit and write under the keyring's lock: a concurrent edit is never lost.
    const next = await withKeyringLock(io.cwd, ringPath, () => {
      const ring = existsSync(full) ? Keyring.load(full) : Keyring.empty();
      const edited = ring.withKey(entry as unknown as KeyringEntry);
      writeFileAtomic(io.cwd, ringPath, `${JSON.stringify(edited.toJSON(), null, 2)}\n`, 0o644);
      return edited;
    });
    if (flag(args, 'json'))
      printJson(io, { keyring: ringPath, version: next.version, revision: next.revision, keyid: pub.keyid });
    else io.stdout(`added ${pub.keyid} to ${ringPath} (version ${next.version})\n`);
    return 0;
  },
};
