/** `sealbox keygen`: a new Ed25519 key pair as NAME.key (0600) and NAME.pub.json. */
import { existsSync, linkSync, mkdirSync, unlinkSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { UsageError } from '../../errors.ts';
import { KEY_NAME } from '../../names.ts';
import { formatPrivateKeyFile, formatPublicKeyFile, generateKeyPair } from '../../trust/keys.ts';
import { flag, optionalString, requireString } from '../args.ts';
import type { Command } from '../context.ts';
import { printJson } from '../output.ts';

const usage = `Usage: sealbox keygen --out DIR [--name NAME] [--json]

Generates an Ed25519 key pair: DIR/NAME.key (the private seed, mode 0600, never printed) and
DIR/NAME.pub.json ({ keyid, publicKey }, to add to keyrings with \`sealbox keyring add\`).
NAME defaults to "sealbox". Refuses to overwrite existing files.

Exit codes: 0 ok, 2 usage or the files exist.`;

/**
 * Creates `path` with `data` and `mode`, atomically and only if it does not exist yet.
 * Defends against a torn or clobbered key file: the bytes go to a temp file created with the final
 * mode, which is then hard-linked into place (link fails if the target exists), then unlinked.
 */
function createExclusive(path: string, data: string, mode: number): void {
  const temp = `${path}.${process.pid}.${Date.now()}.tmp`;
  try {
    writeFileSync(temp, data, { mode, flag: 'wx' });
    linkSync(temp, path);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code ?? 'error';
    throw new UsageError(
      'ERR_IO',
      `cannot create ${path}: ${code === 'EEXIST' ? 'it already exists' : code}`,
      { path },
    );
  } finally {
    try {
      unlinkSync(temp);
    } catch {
      // The temp file was never created.
    }
  }
}

/** The `sealbox keygen` command (see `usage`). */
export const keygenCommand: Command = {
  name: 'keygen',
  summary: 'generate an Ed25519 key pair (NAME.key 0600 + NAME.pub.json)',
  usage,
  options: { out: { type: 'string' }, name: { type: 'string' } },
  positionals: { min: 0, max: 0 },
  async run(args, io) {
    const out = resolve(io.cwd, requireString(args, 'out', this));
    const name = optionalString(args, 'name') ?? 'sealbox';
    // Defends against path traversal through --name (e.g. ../../etc/x).
    if (!KEY_NAME.test(name))
      throw new UsageError('ERR_USAGE', `keygen: --name must match ${KEY_NAME.source}`);
    const keyPath = join(out, `${name}.key`);
    const pubPath = join(out, `${name}.pub.json`);
    for (const p of [keyPath, pubPath]) {
      if (existsSync(p))
        throw new UsageError('ERR_IO', `keygen: ${p} already exists; refusing to overwrite a key`, {
          path: p,
        });
    }
    try {
      mkdirSync(out, { recursive: true });
    } catch (error) {
      throw new UsageError(
        'ERR_IO',
        `keygen: cannot create ${out}: ${(error as NodeJS.ErrnoException).code ?? 'error'}`,
      );
    }
    const pair = generateKeyPair();
    createExclusive(keyPath, formatPrivateKeyFile(pair), 0o600);
    createExclusive(pubPath, formatPublicKeyFile(pair), 0o644);
    if (flag(args, 'json'))
      printJson(io, { keyid: pair.keyid, privateKeyFile: keyPath, publicKeyFile: pubPath });
    else
      io.stdout(
        `keyid ${pair.keyid}\nprivate key ${keyPath} (mode 0600; keep it secret)\npublic key  ${pubPath}\n`,
      );
    return 0;
  },
};
