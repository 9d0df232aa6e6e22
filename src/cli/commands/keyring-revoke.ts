/** `sealbox keyring revoke`: mark a key revoked; envelopes it signed stop verifying. */
import { flag, requireString } from '../args.ts';
import type { Command } from '../context.ts';
import { writeFileAtomic } from '../files.ts';
import { withKeyringLock } from '../keyring-lock.ts';
import { printJson } from '../output.ts';
import { Keyring } from '../../trust/keyring.ts';
import { resolve } from 'node:path';

const usage = `Usage: sealbox keyring revoke --keyring FILE --keyid ID [--json]

Marks the key ID revoked in the keyring FILE (the entry stays, so the revocation is visible).
Envelopes signed only by this key are refused from then on (ERR_KEY_REVOKED).

Exit codes: 0 ok, 2 usage (or ERR_KEYRING_LOCKED: another command held the keyring for 10 s; nothing
was changed, retry), 3 invalid keyring, 4 the key is not in the keyring.`;

/** The `sealbox keyring revoke` command (see `usage`). */
export const keyringRevokeCommand: Command = {
  name: 'keyring revoke',
  summary: 'revoke a key in a keyring',
  usage,
  options: { keyring: { type: 'string' }, keyid: { type: 'string' } },
  positionals: { min: 0, max: 0 },
  async run(args, io) {
    const ringPath = requireString(args, 'keyring', this);
    const keyid = requireString(args, 'keyid', this);
    // Read, edit and write under the keyring's lock: a revocation is never lost to a concurrent edit.
    const next = await withKeyringLock(io.cwd, ringPath, () => {
      const edited = Keyring.load(resolve(io.cwd, ringPath)).withRevoked(keyid);
      writeFileAtomic(io.cwd, ringPath, `${JSON.stringify(edited.toJSON(), null, 2)}\n`, 0o644);
      return edited;
    });
    if (flag(args, 'json'))
      printJson(io, { keyring: ringPath, version: next.version, revision: next.revision, revoked: keyid });
    else io.stdout(`revoked ${keyid} in ${ringPath} (version ${next.version})\n`);
    return 0;
  },
};
