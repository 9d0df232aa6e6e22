/**
 * Workers under `jail: 'required'`: every worker process below the host runs in its own network,
 * mount and pid namespaces with no capabilities and a non-root uid; components give the same
 * results as unjailed; faults (SIGKILL, memory, hang) are still recovered.
 */
import { readFileSync, readlinkSync } from 'node:fs';
import { afterAll, describe, expect, it } from 'vitest';
import { createLoader } from '../../src/loader.ts';
import { resolveJail } from '../../src/sandbox/jail.ts';
import { createSupervisor, type Supervisor } from '../../src/sandbox/supervisor.ts';
import { DEDUP, makeWorld } from '../e2e/helpers.ts';
import { cls, expectCode, isAlive, spec, waitFor } from './helpers.ts';
import { childrenOf, describeJailed } from './jail-support.ts';

/** Generous: the jailed worker's start (spawn, bwrap, Node) counts toward the first load today. */
const SLOW = { limits: { callTimeoutMs: 10_000 } };

/** Every process below the test process, with its command line. */
function processesBelowHost(): { pid: number; cmdline: string[] }[] {
  const found: { pid: number; cmdline: string[] }[] = [];
  const stack = childrenOf(process.pid);
  while (stack.length > 0) {
    const pid = stack.pop()!;
    try {
      found.push({ pid, cmdline: readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').filter(Boolean) });
    } catch {
      continue; // exited meanwhile
    }
    stack.push(...childrenOf(pid));
  }
  return found;
}

/** The sandbox worker processes (Node running worker-main) below the host. */
function workerProcesses(): number[] {
  return processesBelowHost()
    .filter((p) => p.cmdline[0] === process.execPath && p.cmdline.some((a) => /worker-main\.[jt]s$/.test(a)))
    .map((p) => p.pid);
}

function status(pid: number, field: string): string {
  const match = new RegExp(`^${field}:\\s*(.*)$`, 'm').exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return match?.[1] ?? '';
}

const COMPONENT = cls(`
  constructor(params, context) { super(params, context); this.n = 0; }
  mix(text) { this.n++; return { n: this.n, words: text.split(/\\s+/).map((w) => w.toUpperCase()), sum: [1, 2, 3].reduce((a, b) => a + b) }; }
  spin() { for (;;) {} }
  grow() { const keep = []; for (;;) keep.push(new Array(1e5).fill(keep.length)); }
`);

describeJailed('when workers run with jail: required (layer: sandbox jail)', (jail) => {
  let supervisor: Supervisor;
  afterAll(() => supervisor?.close());

  it('starts every worker below the host in new net, mnt, pid namespaces, with CapEff 0 and a non-root uid', async () => {
    // No warm spare: this test counts the worker processes of two tenants.
    supervisor = createSupervisor({ workers: 2, jail, spareWorker: false });
    await supervisor.instantiate(spec(COMPONENT, { ...SLOW, tenant: 'acme' }));
    await supervisor.instantiate(spec(COMPONENT, { ...SLOW, tenant: 'globex' }));
    const workers = workerProcesses();
    // Two tenants on two workers; each worker is a Node process below bwrap below the host.
    expect(workers).toHaveLength(2);
    for (const pid of workers) {
      for (const ns of ['net', 'mnt', 'pid', 'ipc', 'uts', 'user']) {
        expect(readlinkSync(`/proc/${pid}/ns/${ns}`), `${ns} namespace of worker ${pid}`).not.toBe(
          readlinkSync(`/proc/self/ns/${ns}`),
        );
      }
      expect(status(pid, 'CapEff')).toBe('0000000000000000');
      expect(status(pid, 'CapPrm')).toBe('0000000000000000');
      expect(status(pid, 'NoNewPrivs')).toBe('1');
      // Real uid on the host: nobody when the host is root, else the host's own (never root).
      const hostUid = Number(status(pid, 'Uid').split(/\s+/)[0]);
      expect(hostUid).not.toBe(0);
    }
    // The host's view: the worker pids it supervises are the bwrap processes above them.
    for (const pid of supervisor.stats().pids)
      expect(readFileSync(`/proc/${pid}/comm`, 'utf8').trim()).toBe('bwrap');
  });

  it('gives the same results jailed and unjailed', async () => {
    const plain = createSupervisor({ workers: 1 });
    try {
      const a = await supervisor.instantiate(spec(COMPONENT, { ...SLOW, identifier: 'same' }));
      const b = await plain.instantiate(spec(COMPONENT, { ...SLOW, identifier: 'same' }));
      for (const text of ['hello jail', 'a  b\tc', '']) {
        expect(await a.call('mix', text)).toEqual(await b.call('mix', text));
      }
    } finally {
      await plain.close();
    }
  });

  it('recovers a SIGKILLed jailed worker: ERR_SANDBOX_CRASHED in flight, then a fresh jailed worker', async () => {
    const c = await supervisor.instantiate(spec(COMPONENT, { ...SLOW, identifier: 'kill' }));
    const before = new Set(workerProcesses());
    const call = c.call('spin');
    await new Promise((resolve) => setTimeout(resolve, 200));
    // Kill the Node worker inside the jail (not bwrap): bwrap must pass its death up to the host.
    for (const pid of before) process.kill(pid, 'SIGKILL');
    await expectCode(call, 'SandboxError', 'ERR_SANDBOX_CRASHED');
    await waitFor(() => [...before].every((pid) => !isAlive(pid)));
    expect(await c.call('mix', 'x y')).toMatchObject({ n: 1, words: ['X', 'Y'] });
    const after = workerProcesses();
    expect(after.some((pid) => before.has(pid))).toBe(false);
    for (const pid of after) expect(status(pid, 'CapEff')).toBe('0000000000000000');
  });

  it('stops a hang (ERR_TIMEOUT) and a heap bomb (ERR_MEMORY_LIMIT) and keeps serving', async () => {
    const c = await supervisor.instantiate(
      spec(COMPONENT, { identifier: 'faults', limits: { callTimeoutMs: 10_000 } }),
    );
    const hang = await supervisor.instantiate(
      spec(COMPONENT, { identifier: 'hang', limits: { callTimeoutMs: 300 } }),
    );
    await expectCode(hang.call('spin'), 'SandboxError', 'ERR_TIMEOUT');
    await expectCode(c.call('grow'), 'SandboxError', 'ERR_MEMORY_LIMIT');
    expect(await c.call('mix', 'ok')).toMatchObject({ words: ['OK'] });
  });
});

describeJailed('when a jailed worker grows past its hard memory cap (layer: sandbox memory cap)', (jail) => {
  it('counts the worker below bwrap and kills it: ERR_MEMORY_LIMIT, then serves again', async () => {
    const supervisor = createSupervisor({ workers: 1, jail, workerMemoryCapMb: 256 });
    try {
      const c = await supervisor.instantiate(
        spec(
          cls(`hold() { this.keep = new Uint8Array(320 * 1024 * 1024).fill(7); const end = Date.now() + 15000; while (Date.now() < end) {} return 1; }
               ok() { return 'ok'; }`),
          { limits: { callTimeoutMs: 20_000, memoryMb: 1024 } },
        ),
      );
      await expectCode(c.call('hold'), 'SandboxError', 'ERR_MEMORY_LIMIT');
      expect(supervisor.stats().restarts).toBe(1);
      expect(await c.call('ok')).toBe('ok');
    } finally {
      await supervisor.close();
    }
  });
});

describeJailed('when the loader is created with jail: required (layer: loader)', () => {
  it('reports jailed once, and its workers are jailed', async () => {
    const world = makeWorld();
    const statuses: unknown[] = [];
    // The default policy with a generous call timeout: the worker's start counts toward the first load today.
    const policy = world.write(
      'policy.yaml',
      readFileSync(new URL('../../policies/default.yaml', import.meta.url), 'utf8').replace(
        'callTimeoutMs: 1000',
        'callTimeoutMs: 10000',
      ),
    );
    const loader = createLoader({
      keyring: world.keyring,
      policy,
      workers: 1,
      jail: 'required',
      onJail: (s) => statuses.push(s),
    });
    try {
      expect(statuses).toEqual([loader.jail]);
      expect(loader.jail).toMatchObject({ mode: 'required', jailed: true });
      const component = await loader.load(
        world.envelope(DEDUP, { export: 'DedupFilter', identifier: 'dedup' }),
        {
          tenant: 'acme',
        },
      );
      expect(component.methods.length).toBeGreaterThan(0);
      // The serving worker, and the warm spare once it has started (supervisor.ts): all jailed.
      const workers = workerProcesses();
      expect(workers.length).toBeGreaterThanOrEqual(1);
      expect(workers.length).toBeLessThanOrEqual(2);
      for (const pid of workers) {
        expect(readlinkSync(`/proc/${pid}/ns/net`)).not.toBe(readlinkSync('/proc/self/ns/net'));
      }
    } finally {
      await loader.close();
    }
  });
});

describe('when the jail mode is not one of auto, required, off (layer: loader)', () => {
  it('throws ConfigError ERR_CONFIG_INVALID', () => {
    const world = makeWorld();
    for (const jail of ['on', '', 'AUTO', 1, null]) {
      let caught: unknown;
      try {
        createLoader({ keyring: world.keyring, jail: jail as never });
      } catch (error) {
        caught = error;
      }
      expect(caught).toMatchObject({ name: 'ConfigError', code: 'ERR_CONFIG_INVALID' });
    }
    expect(() => resolveJail('off')).not.toThrow();
    expect(resolveJail('off').status).toEqual({ mode: 'off', jailed: false, reason: 'jail is off' });
  });
});
