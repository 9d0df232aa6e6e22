/** `sealbox verify`: verify an envelope against a keyring, as a node would before loading it. */
import { mkdirSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { UsageError } from '../../errors.ts';
import { Keyring } from '../../trust/keyring.ts';
import { SqliteRollbackStore } from '../../trust/rollback.ts';
import { verifyEnvelope, type VerifyOptions } from '../../trust/verify.ts';
import { checkTenant, flag, optionalString, requireString } from '../args.ts';
import type { Command } from '../context.ts';
import { printJson } from '../output.ts';
import { readEnvelopeFile } from './envelope-file.ts';

const usage = `Usage: sealbox verify ENVELOPE --keyring FILE [--tenant T] [--threshold N]
                      [--require-expiry] [--state FILE] [--json]

Verifies the envelope: size, DSSE shape, Ed25519 signatures over PAE against the keyring, then the
statement (canonical JSON, closed schema, hashes), key scopes and windows, threshold, tenant,
expiry and, with --state, rollback (SQLite file; records the accepted version).
Prints tenant, identifier, version, digest and the signers that counted.

Exit codes: 0 verified, 2 usage, 3 malformed envelope or keyring, 4 trust refused.`;

/** The `sealbox verify` command (see `usage`). */
export const verifyCommand: Command = {
  name: 'verify',
  summary: 'verify an envelope against a keyring (signatures, scopes, expiry)',
  usage,
  options: {
    keyring: { type: 'string' },
    tenant: { type: 'string' },
    threshold: { type: 'string' },
    'require-expiry': { type: 'boolean' },
    state: { type: 'string' },
  },
  positionals: { min: 1, max: 1 },
  async run(args, io) {
    const envelopePath = args.positionals[0]!;
    const keyring = Keyring.load(resolve(io.cwd, requireString(args, 'keyring', this)));
    const options: { -readonly [K in keyof VerifyOptions]: VerifyOptions[K] } = { cache: false };
    const tenant = optionalString(args, 'tenant');
    if (tenant !== undefined) options.tenant = checkTenant(tenant, this);
    const threshold = optionalString(args, 'threshold');
    if (threshold !== undefined) {
      if (!/^[1-4]$/.test(threshold)) throw new UsageError('ERR_USAGE', 'verify: --threshold must be 1 to 4');
      options.threshold = Number(threshold);
    }
    if (flag(args, 'require-expiry')) options.requireExpiry = true;
    const statePath = optionalString(args, 'state');
    if (statePath !== undefined) {
      try {
        mkdirSync(dirname(resolve(io.cwd, statePath)), { recursive: true, mode: 0o700 });
      } catch (error) {
        throw new UsageError(
          'ERR_IO',
          `verify: --state: cannot create the folder of ${statePath}: ${(error as NodeJS.ErrnoException).code ?? 'error'}`,
          { path: statePath },
        );
      }
    }
    const rollback =
      statePath === undefined ? undefined : new SqliteRollbackStore(resolve(io.cwd, statePath));
    if (rollback !== undefined) options.rollback = rollback;
    try {
      const v = verifyEnvelope(readEnvelopeFile(io.cwd, envelopePath), keyring, options);
      const s = v.statement;
      if (flag(args, 'json')) {
        printJson(io, {
          verified: true,
          tenant: s.tenant,
          identifier: s.identifier,
          version: s.version,
          digest: v.digest,
          signers: v.signers,
          keyringRevision: v.keyringRevision,
        });
      } else {
        io.stdout(
          `verified ${s.tenant}/${s.identifier} version ${s.version}\n` +
            `digest  ${v.digest}\nsigners ${v.signers.join(', ')}\n`,
        );
      }
      return 0;
    } finally {
      rollback?.close();
    }
  },
};
