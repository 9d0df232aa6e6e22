/** Shared set-up for end-to-end tests: a key, a keyring, packed example envelopes. */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { main } from '../../src/cli/main.ts';
import type { CliIO } from '../../src/cli/context.ts';
import { pack, type PackOptions } from '../../src/component/pack.ts';
import type { Envelope } from '../../src/envelope/types.ts';
import { generateKeyPair, type KeyPair } from '../../src/trust/keys.ts';
import { Keyring } from '../../src/trust/keyring.ts';
import { signEnvelope } from '../../src/trust/sign.ts';

export const EXAMPLES = fileURLToPath(new URL('../../examples/', import.meta.url));
export const CHUNKER = join(EXAMPLES, 'text-chunker/chunker.ts');
export const SCORER = join(EXAMPLES, 'linear-scorer/scorer.ts');
export const DEDUP = join(EXAMPLES, 'dedup-filter/dedup.js');
export const WEIGHTS = join(EXAMPLES, 'linear-scorer/weights.bin');

export function tempDir(prefix = 'sealbox-e2e-'): string {
  return mkdtempSync(join(tmpdir(), prefix));
}

export function keyringFor(keys: readonly KeyPair[], tenants: readonly string[]): Keyring {
  let keyring = Keyring.empty();
  for (const key of keys) {
    keyring = keyring.withKey({
      keyid: key.keyid,
      publicKey: Buffer.from(key.publicKey).toString('base64'),
      tenants: [...tenants],
      identifiers: ['*'],
      status: 'active',
    });
  }
  return keyring;
}

export interface World {
  readonly dir: string;
  readonly key: KeyPair;
  readonly keyring: Keyring;
  readonly keyringPath: string;
  envelope(file: string, options: Partial<PackOptions> & { export: string; identifier: string }): Envelope;
  write(name: string, content: string | Uint8Array): string;
}

export function makeWorld(tenants: readonly string[] = ['acme', 'globex']): World {
  const dir = tempDir();
  const key = generateKeyPair();
  const keyring = keyringFor([key], tenants);
  const keyringPath = join(dir, 'keyring.json');
  writeFileSync(keyringPath, JSON.stringify(keyring.toJSON()));
  return {
    dir,
    key,
    keyring,
    keyringPath,
    envelope(file, options) {
      return signEnvelope(pack(file, { tenant: 'acme', version: 1, ...options } as PackOptions), key);
    },
    write(name, content) {
      const path = join(dir, name);
      writeFileSync(path, content);
      return path;
    },
  };
}

export interface CliRun {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs the CLI in-process. */
export async function cli(argv: readonly string[], cwd: string): Promise<CliRun> {
  let stdout = '';
  let stderr = '';
  const io: CliIO = { stdout: (t) => void (stdout += t), stderr: (t) => void (stderr += t), cwd };
  const code = await main(argv, io);
  return { code, stdout, stderr };
}
