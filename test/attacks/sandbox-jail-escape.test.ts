/**
 * After a V8 or isolated-vm escape, the attacker runs native code in the worker process, where
 * Node's permission flags no longer bind it. The OS jail (layer: sandbox jail, bubblewrap) is what
 * is left: no network, no host files outside what the worker loads, no writable file system except
 * an empty private /tmp, no capabilities, no view of host processes.
 *
 * The test plays that attacker: it takes the exact bwrap command line the supervisor used for a
 * running worker (from /proc) and starts a helper in the worker's place under it, without Node's
 * permission model. The same helper run unjailed succeeds at everything (so each probe can fail).
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { jailSpawnIds } from '../../src/sandbox/jail.ts';
import { createSupervisor, type Supervisor } from '../../src/sandbox/supervisor.ts';
import { cls, spec } from '../sandbox/helpers.ts';
import { describeJailed } from '../sandbox/jail-support.ts';

const HELPER = `
const fs = require('node:fs');
const net = require('node:net');
const [port, secret] = process.argv.slice(1);
const out = {};
const attempt = (name, fn) => { try { out[name] = fn(); } catch (error) { out[name] = error.code ?? String(error); } };
attempt('secret', () => fs.readFileSync(secret, 'utf8'));
attempt('passwd', () => fs.readFileSync('/etc/passwd', 'utf8').length > 0 ? 'read' : 'empty');
attempt('writeOutside', () => { fs.writeFileSync(secret + '.planted', 'x'); return 'written'; });
attempt('tmpBefore', () => fs.readdirSync('/tmp'));
attempt('writeTmp', () => { fs.writeFileSync('/tmp/scratch', 'x'); return 'written'; });
attempt('capEff', () => /CapEff:\\s*(\\S+)/.exec(fs.readFileSync('/proc/self/status', 'utf8'))[1]);
attempt('interfaces', () => Object.keys(require('node:os').networkInterfaces()).sort());
attempt('pids', () => fs.readdirSync('/proc').filter((name) => /^\\d+$/.test(name)).length);
const done = () => { process.stdout.write(JSON.stringify(out)); process.exit(0); };
const socket = net.connect(Number(port), '127.0.0.1');
socket.on('connect', () => { out.tcp = 'connected'; done(); });
socket.on('error', (error) => { out.tcp = error.code; done(); });
setTimeout(() => { out.tcp ??= 'no answer'; done(); }, 5000);
`;

describeJailed('when code that escaped the isolate runs in a jailed worker (layer: sandbox jail)', (jail) => {
  let supervisor: Supervisor;
  let server: Server;
  let port = 0;
  let dir = '';
  let secret = '';

  beforeAll(async () => {
    server = createServer((socket) => socket.end('hello'));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    port = (server.address() as { port: number }).port;
    dir = mkdtempSync(join(tmpdir(), 'sealbox-jail-secret-'));
    secret = join(dir, 'keyring.json');
    writeFileSync(secret, 'host secret', { mode: 0o644 });
    supervisor = createSupervisor({ workers: 1, jail });
    await supervisor.instantiate(spec(cls('ok() { return 1; }'), { limits: { callTimeoutMs: 10_000 } }));
  });

  afterAll(async () => {
    await supervisor?.close();
    server?.close();
    if (dir !== '') rmSync(dir, { recursive: true, force: true });
  });

  function runHelper(argv: readonly string[], ids: { uid?: number; gid?: number }): Record<string, unknown> {
    const result = spawnSync(argv[0]!, [...argv.slice(1), '-e', HELPER, String(port), secret], {
      env: {},
      encoding: 'utf8',
      timeout: 20_000,
      ...ids,
    });
    expect(result.status, result.stderr).toBe(0);
    return JSON.parse(result.stdout) as Record<string, unknown>;
  }

  /**
   * The private /tmp starts empty but for the mount points of the jail's read-only binds (the
   * worker's code and Node) when the project itself lives under /tmp: their first path segments.
   */
  function readOnlyMountsUnderTmp(bwrapArgs: readonly string[]): string[] {
    const names = new Set<string>();
    for (let i = 0; i + 2 < bwrapArgs.length; i++) {
      if (bwrapArgs[i] !== '--ro-bind' && bwrapArgs[i] !== '--ro-bind-try') continue;
      const dest = bwrapArgs[i + 2]!;
      if (dest.startsWith('/tmp/')) names.add(dest.split('/')[2]!);
    }
    return [...names].sort();
  }

  it('cannot open TCP to 127.0.0.1, read or write host files, nor hold capabilities', async () => {
    const [bwrapPid] = supervisor.stats().pids;
    const argv = readFileSync(`/proc/${bwrapPid}/cmdline`, 'utf8').split('\0').slice(0, -1);
    const dashes = argv.indexOf('--');
    expect(argv[0]).toBe(jail.bwrap);
    expect(dashes).toBeGreaterThan(0);
    // The worker's own command after `--` is replaced by the helper: same jail, same Node binary.
    const jailed = runHelper([...argv.slice(0, dashes + 1), process.execPath], jailSpawnIds(jail));
    // bwrap's new network namespace has only its own loopback: nothing listens there, and no
    // route leads out of it.
    expect(['ECONNREFUSED', 'ENETUNREACH']).toContain(jailed.tcp);
    expect(jailed.interfaces).toEqual(['lo']);
    expect(jailed).toMatchObject({
      secret: 'ENOENT',
      passwd: 'ENOENT',
      writeOutside: 'ENOENT',
      tmpBefore: readOnlyMountsUnderTmp(argv.slice(0, dashes)),
      writeTmp: 'written',
      capEff: '0000000000000000',
    });
    // Its own pid namespace: it sees bwrap's init and itself, not the host's processes.
    expect(jailed.pids).toBeLessThanOrEqual(3);

    // Control: the same helper outside the jail does reach the server and the file.
    const free = runHelper([process.execPath], {});
    expect(free).toMatchObject({ tcp: 'connected', secret: 'host secret', writeOutside: 'written' });
    expect(free.interfaces).not.toEqual(['lo']);
    expect(free.pids).toBeGreaterThan(3);
  });
});
