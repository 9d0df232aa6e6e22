/**
 * Attack (issue 16 #5): `sealbox keyring revoke` and `keyring add` read, edit and rewrite the
 * keyring. Run at the same time (two operators, a script racing a person), both exited 0 and the
 * last writer won: the other edit, a revocation included, was silently lost (8 of 10 in one trial).
 * Layer that must stop it: cli (keyring-lock.ts: an O_EXCL lock file around the read-modify-write;
 * a command that cannot get it within its wait fails with ERR_KEYRING_LOCKED, exit 2, and changes
 * nothing). Tested with real, concurrent CLI processes.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { encodeBase64 } from '../../src/envelope/base64.ts';
import { Keyring } from '../../src/trust/keyring.ts';
import { testKey } from '../trust/fixtures.ts';

const MAIN = fileURLToPath(new URL('../../src/cli/main.ts', import.meta.url));
const KEYS = Array.from({ length: 5 }, (_, i) => testKey(20 + i));
const NEW_KEYS = Array.from({ length: 3 }, (_, i) => testKey(40 + i));

let dir: string;

interface Outcome {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs the real CLI as its own process. */
function sealbox(...argv: string[]): Promise<Outcome> {
  return new Promise((resolveRun, reject) => {
    const child = spawn(process.execPath, ['--disable-warning=ExperimentalWarning', MAIN, ...argv], {
      cwd: dir,
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolveRun({ code, stdout, stderr }));
  });
}

function writeRing(name: string): string {
  let ring = Keyring.empty();
  for (const key of KEYS) {
    ring = ring.withKey({
      keyid: key.keyid,
      publicKey: encodeBase64(key.publicKey),
      tenants: ['acme'],
      identifiers: ['*'],
      status: 'active',
    });
  }
  writeFileSync(join(dir, name), JSON.stringify(ring.toJSON()));
  return name;
}

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'sealbox-lock-'));
  NEW_KEYS.forEach((key, i) =>
    writeFileSync(
      join(dir, `new-${i}.pub.json`),
      JSON.stringify({ keyid: key.keyid, publicKey: encodeBase64(key.publicKey) }),
    ),
  );
});

afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});

describe('when keyring edits run concurrently (layer: cli keyring lock)', () => {
  it('keeps every revocation and every added key, and every command exits 0', async () => {
    const ring = writeRing('ring.json');
    const outcomes = await Promise.all([
      ...KEYS.map((key) => sealbox('keyring', 'revoke', '--keyring', ring, '--keyid', key.keyid)),
      ...NEW_KEYS.map((_, i) =>
        sealbox('keyring', 'add', '--keyring', ring, '--key', `new-${i}.pub.json`, '--tenant', 'acme'),
      ),
    ]);
    for (const outcome of outcomes) expect([outcome.code, outcome.stderr]).toEqual([0, '']);
    const after = Keyring.parse(readFileSync(join(dir, ring), 'utf8'));
    for (const key of KEYS) expect(after.get(key.keyid)?.status).toBe('revoked');
    for (const key of NEW_KEYS) expect(after.get(key.keyid)?.status).toBe('active');
    // One version bump per edit: none was applied on top of a stale read.
    expect(after.version).toBe(KEYS.length + KEYS.length + NEW_KEYS.length);
  }, 120_000);

  it('fails a command that cannot get the lock with ERR_KEYRING_LOCKED (exit 2) and changes nothing', async () => {
    const ring = writeRing('held.json');
    const before = readFileSync(join(dir, ring), 'utf8');
    // Another editor holds the lock for longer than the wait.
    writeFileSync(join(dir, `${ring}.lock`), '999999\n');
    const outcome = await sealbox(
      'keyring',
      'revoke',
      '--keyring',
      ring,
      '--keyid',
      KEYS[0]!.keyid,
      '--json',
    );
    expect(outcome.code).toBe(2);
    expect((JSON.parse(outcome.stdout) as { error: { code: string } }).error.code).toBe('ERR_KEYRING_LOCKED');
    expect(readFileSync(join(dir, ring), 'utf8')).toBe(before);
    rmSync(join(dir, `${ring}.lock`));
    const retry = await sealbox('keyring', 'revoke', '--keyring', ring, '--keyid', KEYS[0]!.keyid);
    expect(retry.code).toBe(0);
    expect(Keyring.parse(readFileSync(join(dir, ring), 'utf8')).get(KEYS[0]!.keyid)?.status).toBe('revoked');
  }, 60_000);
});
