/**
 * `sealbox run --jail MODE`: `required` refuses to start, naming what is missing, when the machine
 * cannot jail; `auto` runs unjailed and says so on stderr; a bad mode is a usage error. Run as a
 * separate process: whether this machine can jail is decided once per process.
 */
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const MAIN = fileURLToPath(new URL('../../src/cli/main.ts', import.meta.url));
const ROOT = fileURLToPath(new URL('../../', import.meta.url));

function run(mode: string, env: Record<string, string> = {}) {
  // Any existing files will do: the jail is decided before the keyring or envelope is parsed.
  const argv = ['run', 'package.json', '--keyring', 'package.json', '--policy', 'policies/default.yaml'];
  return spawnSync(
    process.execPath,
    [
      '--disable-warning=ExperimentalWarning',
      MAIN,
      ...argv,
      '--tenant',
      'acme',
      '--call',
      'x',
      '--jail',
      mode,
    ],
    {
      cwd: ROOT,
      encoding: 'utf8',
      timeout: 60_000,
      // SEALBOX_BWRAP names the bwrap binary; a path that does not exist makes the machine unable to jail.
      env: { ...process.env, ...env },
    },
  );
}

describe('when run is asked for a jail this machine cannot give (layer: cli + loader)', () => {
  it('--jail required exits 3 with ERR_CONFIG_INVALID naming the missing bwrap', () => {
    const result = run('required', { SEALBOX_BWRAP: '/nonexistent/bwrap' });
    expect(result.status).toBe(3);
    expect(result.stderr).toMatch(
      /ERR_CONFIG_INVALID.*jail 'required'.*SEALBOX_BWRAP="\/nonexistent\/bwrap"/,
    );
  });

  it('--jail auto goes on unjailed and prints one jail line on stderr saying why', () => {
    const result = run('auto', { SEALBOX_BWRAP: '/nonexistent/bwrap' });
    const jailLines = result.stderr
      .split('\n')
      .filter((line) => line.startsWith('{'))
      .map((line) => JSON.parse(line) as { type: string })
      .filter((line) => line.type === 'jail');
    expect(jailLines).toEqual([
      { type: 'jail', mode: 'auto', jailed: false, reason: expect.stringContaining('SEALBOX_BWRAP') },
    ]);
    // It went on to read the (bogus) keyring: refused there, not for the jail.
    expect(result.stderr).toContain('ERR_KEYRING_INVALID');
  });

  it('--jail with an unknown mode is a usage error (exit 2)', () => {
    const result = run('sometimes');
    expect(result.status).toBe(2);
    expect(result.stderr).toContain('--jail must be one of auto, required, off');
  });
});
