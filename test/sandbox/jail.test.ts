/**
 * The jail's command line and decision, without starting a jail: what bwrap is asked for, what is
 * bound, that only the detected jail is accepted, and how an unjailed `auto` says so.
 */
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { jailCommand, jailSpawnIds, resolveJail, type Jail } from '../../src/sandbox/jail.ts';
import { createSupervisor } from '../../src/sandbox/supervisor.ts';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const FAKE: Jail = Object.freeze({
  bwrap: '/usr/bin/bwrap',
  libraries: Object.freeze(['/lib64/ld-linux-x86-64.so.2']),
  spawnUid: 65534,
  spawnGid: 65534,
});

describe('when the worker command line is wrapped (layer: sandbox jail)', () => {
  const inner = {
    command: process.execPath,
    args: [
      '--permission',
      `--allow-fs-read=${ROOT}package.json`,
      '--allow-fs-read=/nonexistent/x',
      'main.js',
      'a b',
    ],
  };
  const wrapped = jailCommand(FAKE, inner);

  it('asks for every namespace, no capabilities, a new session and death with the node', () => {
    expect(wrapped.command).toBe('/usr/bin/bwrap');
    const options = wrapped.args.slice(0, wrapped.args.indexOf('--'));
    for (const flag of [
      '--unshare-all',
      '--unshare-user',
      '--die-with-parent',
      '--new-session',
      '--clearenv',
    ]) {
      expect(options).toContain(flag);
    }
    expect(options.join(' ')).toContain('--cap-drop ALL');
    expect(options.join(' ')).toContain('--uid 65534 --gid 65534');
    expect(options.join(' ')).toContain('--tmpfs /tmp');
    expect(options.join(' ')).toContain('--remount-ro /');
  });

  it("binds read-only only the Node binary, its libraries and the permission model's existing read paths", () => {
    const options = wrapped.args.slice(0, wrapped.args.indexOf('--'));
    const bound = options.flatMap((arg, i) => (arg === '--ro-bind' ? [options[i + 1]] : []));
    expect(new Set(bound)).toEqual(
      new Set(
        [process.execPath, `${ROOT}package.json`, '/lib64/ld-linux-x86-64.so.2', '/etc/ld.so.cache'].filter(
          (path) => spawnSync('test', ['-e', path]).status === 0,
        ),
      ),
    );
    // Nothing is bound writable, and nothing from the host is bound anywhere else.
    expect(options).not.toContain('--bind');
    expect(options).not.toContain('--dev-bind');
  });

  it('passes the worker command through unchanged after --, and bwrap runs as nobody', () => {
    expect(wrapped.args.slice(wrapped.args.indexOf('--') + 1)).toEqual([inner.command, ...inner.args]);
    expect(jailSpawnIds(FAKE)).toEqual({ uid: 65534, gid: 65534 });
    expect(jailSpawnIds({ bwrap: '/usr/bin/bwrap', libraries: [] })).toEqual({});
  });
});

describe('when a supervisor is given a jail that detection did not produce (layer: sandbox)', () => {
  it('throws ConfigError ERR_CONFIG_INVALID (no forged bwrap path or binds)', () => {
    for (const jail of [FAKE, { ...FAKE, bwrap: '/bin/sh' }]) {
      expect(() => createSupervisor({ jail })).toThrow(
        expect.objectContaining({ code: 'ERR_CONFIG_INVALID' }),
      );
    }
    expect(() => createSupervisor({ workerMemoryCapMb: 1 })).toThrow(
      expect.objectContaining({ code: 'ERR_CONFIG_INVALID' }),
    );
  });
});

describe('when the jail mode is off or unknown (layer: sandbox jail)', () => {
  it('resolves off without looking, and refuses anything but auto, required, off', () => {
    expect(resolveJail('off')).toEqual({
      status: { mode: 'off', jailed: false, reason: 'jail is off' },
      jail: undefined,
    });
    for (const mode of ['on', 'Auto', '', 0, undefined, {}]) {
      expect(() => resolveJail(mode)).toThrow(expect.objectContaining({ code: 'ERR_CONFIG_INVALID' }));
    }
  });
});

describe('when auto cannot jail and no onJail sink is given (layer: loader)', () => {
  it('emits one SEALBOX_JAIL_OFF process warning naming the reason, for any number of loaders', () => {
    const script = `
      const { createLoader } = await import(${JSON.stringify(`${ROOT}src/loader.ts`)});
      const { Keyring } = await import(${JSON.stringify(`${ROOT}src/trust/keyring.ts`)});
      const a = createLoader({ keyring: Keyring.empty() });
      const b = createLoader({ keyring: Keyring.empty() });
      console.log(JSON.stringify([a.jail, b.jail]));
      await a.close(); await b.close();`;
    const result = spawnSync(
      process.execPath,
      ['--no-node-snapshot', '--disable-warning=ExperimentalWarning', '--input-type=module', '-e', script],
      {
        cwd: ROOT,
        encoding: 'utf8',
        timeout: 60_000,
        env: { ...process.env, SEALBOX_BWRAP: '/nonexistent/bwrap' },
      },
    );
    expect(result.status, result.stderr).toBe(0);
    const statuses = JSON.parse(result.stdout) as { jailed: boolean; reason: string }[];
    expect(statuses.map((s) => s.jailed)).toEqual([false, false]);
    expect(result.stderr.match(/SEALBOX_JAIL_OFF/g)).toHaveLength(1);
    expect(result.stderr).toContain('/nonexistent/bwrap');
  });
});
