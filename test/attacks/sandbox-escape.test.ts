/**
 * Escape attempts against the sandbox layer alone (no AST policy in front): each test names the
 * sandbox mechanism that must stop it.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createSupervisor } from '../../src/sandbox/supervisor.ts';
import { cls, expectCode, spec } from '../sandbox/helpers.ts';

const CANARY = `sealbox-canary-${Math.random().toString(36).slice(2)}`;
const logs: unknown[] = [];
let supervisor: ReturnType<typeof createSupervisor>;
let filesBefore: { cwd: string[]; tmp: string[] };

beforeAll(() => {
  process.env['SEALBOX_TEST_SECRET'] = CANARY;
  filesBefore = { cwd: readdirSync(process.cwd()).sort(), tmp: readdirSync(tmpdir()).sort() };
  supervisor = createSupervisor({ workers: 1, logger: (entry) => logs.push(entry) });
});
afterAll(async () => {
  await supervisor.close();
  delete process.env['SEALBOX_TEST_SECRET'];
});

const seen: string[] = [];
async function run(body: string, method = 'go', ...args: never[]): Promise<unknown> {
  const c = await supervisor.instantiate(spec(cls(body)));
  try {
    const result = await c.call(method, ...args);
    seen.push(JSON.stringify(result));
    return result;
  } catch (error) {
    seen.push(String(error), JSON.stringify(error), (error as Error).stack ?? '');
    throw error;
  } finally {
    await c.dispose();
  }
}

describe('when tenant code looks for host globals (bootstrap: only ECMAScript built-ins exist)', () => {
  it('finds no process, require, module, Buffer, timers, fetch or console-backed I/O', async () => {
    const result = await run(`go() {
      const names = ['process', 'require', 'module', 'exports', 'Buffer', 'setTimeout', 'setInterval', 'setImmediate',
        'fetch', 'XMLHttpRequest', 'console', 'global', '__dirname', 'import', 'Deno', 'Bun', 'ivm', '_ivm', '__sealbox_bridge'];
      return names.filter((n) => typeof globalThis[n] !== 'undefined');
    }`);
    expect(result).toEqual([]);
  });

  it('has no WebAssembly, SharedArrayBuffer or Atomics (memory outside the limit, shared memory)', async () => {
    const result = await run(`go() {
      return [typeof WebAssembly, typeof SharedArrayBuffer, typeof Atomics, typeof globalThis.WebAssembly];
    }`);
    expect(result).toEqual(['undefined', 'undefined', 'undefined', 'undefined']);
  });
});

describe('when tenant code generates code from strings (bootstrap: eval and Function constructors neutered)', () => {
  it.each([
    ['eval', `return eval('1+1')`],
    ['indirect eval', `return (0, globalThis['ev' + 'al'])('1+1')`],
    ['Function', `return Function('return 1')()`],
    ['new Function', `return new Function('return 1')()`],
    ['fn.constructor', `return (function(){}).constructor('return 1')()`],
    ['arrow constructor', `return (() => 1).constructor('return 1')()`],
    ['AsyncFunction', `return (async function(){}).constructor('return 1')`],
    ['GeneratorFunction', `return (function*(){}).constructor('yield 1')`],
    ['AsyncGeneratorFunction', `return (async function*(){}).constructor('yield 1')`],
    ['class constructor chain', `return (class {}).constructor.constructor('return 1')()`],
    ['Reflect.construct', `return Reflect.construct(Function, ['return 1'])()`],
    ['prototype constructor', `return Object.getPrototypeOf(function(){}).constructor('return 1')()`],
  ])('throws ERR_COMPONENT_THREW for %s', async (_name, code) => {
    await expectCode(run(`go() { ${code} }`), 'ComponentError', 'ERR_COMPONENT_THREW');
  });

  it('keeps instanceof Function working', async () => {
    expect(
      await run(`go() { return [(() => 1) instanceof Function, typeof Function.prototype.call] }`),
    ).toEqual([true, 'function']);
  });
});

describe('when tenant code tampers with intrinsics (bootstrap: intrinsics frozen before tenant code)', () => {
  it('cannot change Object.prototype, Array.prototype, JSON, Promise or Error', async () => {
    const result = await run(`go() {
      const attempts = [
        () => { Object.prototype.polluted = 1; },
        () => { Array.prototype.push = () => 0; },
        () => { JSON.stringify = () => 'x'; },
        () => { Promise.prototype.then = () => 0; },
        () => { Error.prepareStackTrace = () => 'x'; },
        () => { Object.defineProperty(Object.prototype, 'then', { get() { return 1; } }); },
        () => { Component.prototype.artifactText = () => 'x'; },
        () => { globalThis.Component = class {}; },
        () => { Object.getPrototypeOf(async function*(){}).x = 1; },
        () => { Object.getPrototypeOf(Int8Array).prototype.x = 1; },
      ];
      return attempts.map((f) => { try { f(); return 'changed'; } catch (e) { return e instanceof TypeError ? 'refused' : 'other'; } });
    }`);
    expect(result).toEqual(new Array(10).fill('refused'));
  });

  it('leaves the host Object.prototype clean whatever the result carries', async () => {
    await run(
      `go() { return JSON.parse('{"__proto__": {"hostPolluted": true}, "a": {"constructor": {"prototype": {"x": 1}}}}'); }`,
    );
    const probe: Record<string, unknown> = {};
    expect(probe['hostPolluted']).toBeUndefined();
    expect(Object.prototype).not.toHaveProperty('hostPolluted');
    expect(Object.prototype).not.toHaveProperty('x');
  });

  it('drops __proto__, constructor and prototype keys from results', async () => {
    const result = await run(
      `go() { const o = JSON.parse('{"__proto__": {"p": 1}, "constructor": 2, "prototype": 3, "ok": 4}'); return o; }`,
    );
    expect(Object.keys(result as object)).toEqual(['ok']);
    expect(Object.getPrototypeOf(result)).toBe(Object.prototype);
  });
});

describe('when tenant code walks everything reachable (bootstrap: no isolated-vm handle reachable)', () => {
  it('finds no isolated-vm Reference, Callback or native host function from globalThis, this and this.host', async () => {
    const result = await run(`go() {
      const seen = new Set();
      const queue = [globalThis, this, this.host, this.params, this.artifacts, Component];
      const suspicious = [];
      let visited = 0;
      while (queue.length > 0 && visited < 50000) {
        const o = queue.pop();
        if (o === null || (typeof o !== 'object' && typeof o !== 'function') || seen.has(o)) continue;
        seen.add(o); visited++;
        if (typeof o === 'function') {
          const text = Function.prototype.toString.call(o);
          const native = text.endsWith('{ [native code] }');
          // isolated-vm handles show up as native functions named after ivm internals.
          if (native && /ivm|Callback|isolated|applySync|setSync|getSync|derefInto|copyInto/.test(text + ' ' + o.name)) suspicious.push(o.name + ': ' + text.slice(0, 80));
          if (!native && new RegExp('__sealbox' + '_bridge').test(text)) suspicious.push('bootstrap source ' + o.name);
        }
        let keys = [];
        try { keys = Reflect.ownKeys(o); } catch (e) {}
        for (const k of keys) {
          if (typeof k === 'string' && /ivm|bridge|sealbox/i.test(k)) suspicious.push('key ' + k);
          let d; try { d = Object.getOwnPropertyDescriptor(o, k); } catch (e) { continue; }
          if (!d) continue;
          if ('value' in d) queue.push(d.value); else { queue.push(d.get); queue.push(d.set); }
        }
        try { queue.push(Object.getPrototypeOf(o)); } catch (e) {}
      }
      return { suspicious, visited };
    }`);
    const { suspicious, visited } = result as { suspicious: string[]; visited: number };
    expect(suspicious).toEqual([]);
    expect(visited).toBeGreaterThan(500);
  });

  it('has host stubs only for granted capabilities, frozen', async () => {
    const c = await supervisor.instantiate(
      spec(
        cls(
          `go() { return [Object.keys(this.host), Object.isFrozen(this.host), Object.isFrozen(this.host.kv), typeof this.host.log]; }`,
        ),
        {
          grants: { log: {}, kv: {} },
        },
      ),
    );
    const [keys, ...rest] = (await c.call('go')) as [string[], ...unknown[]];
    expect([[...keys].sort(), ...rest]).toEqual([['kv', 'log'], true, true, 'function']);
    await c.dispose();
    const only = await supervisor.instantiate(
      spec(cls(`go() { return Object.keys(this.host); }`), { grants: { log: {} } }),
    );
    expect(await only.call('go')).toEqual(['log']);
    await only.dispose();
  });

  it('cannot replace this.host, this.params or identity fields', async () => {
    const result = await run(`go() {
      const r = [];
      for (const k of ['host', 'params', 'tenant', 'identifier', 'version', 'artifacts']) {
        try { this[k] = 'x'; r.push('changed'); } catch (e) { r.push('refused'); }
      }
      return r;
    }`);
    expect(result).toEqual(new Array(6).fill('refused'));
  });
});

describe('when tenant code looks for the host environment (worker started with an empty environment)', () => {
  it('never sees the canary secret in any result, log or error', async () => {
    await run(`go() { return [typeof process, String(globalThis.process && process.env)]; }`);
    await expectCode(
      run(`go() { return process.env.SEALBOX_TEST_SECRET; }`),
      'ComponentError',
      'ERR_COMPONENT_THREW',
    );
    await expectCode(run(`go() { return require('fs'); }`), 'ComponentError', 'ERR_COMPONENT_THREW');
    await expectCode(
      run(`async go() { return import('node:fs'); }`),
      'ComponentError',
      'ERR_COMPONENT_THREW',
    );
    const haystack = JSON.stringify({ seen, logs });
    expect(haystack).not.toContain(CANARY);
  });

  it('creates no file outside the kv store', async () => {
    await run(
      `async go() { await this.host.kv.set('k', 'v'); await this.host.log('info', 'hello'); return 1; }`,
    );
    expect(readdirSync(process.cwd()).sort()).toEqual(filesBefore.cwd);
    // Other suites create their own temp dirs in parallel: look for what a worker could leave.
    const tmpNow = readdirSync(tmpdir()).filter((name) => !filesBefore.tmp.includes(name));
    expect(
      tmpNow.filter((name) => /isolate|ivm|^core|cpuprofile|heapsnapshot|sealbox-kv/i.test(name)),
    ).toEqual([]);
  });
});

describe('when the stack of an error is inspected (stack trimmed to component frames)', () => {
  it('contains no host path, bootstrap frame or file URL', async () => {
    const error = (await expectCode(
      run(
        `go() { function inner() { return [1].map(() => { throw new RangeError('deep'); }); } return inner(); }`,
      ),
      'ComponentError',
      'ERR_COMPONENT_THREW',
    )) as Error & { componentStack: string };
    expect(error.componentStack).toContain('sealbox:widget:');
    expect(error.componentStack).not.toMatch(/bootstrap|\/work\/|node:|file:|<isolated-vm/);
  });
});

describe('when tenant code escapes into the worker process (empty environment, permission model)', () => {
  it('runs workers with no environment, read access to their own code only, no writes or spawns', async () => {
    const c = await supervisor.instantiate(spec(cls(`go() { return 1; }`)));
    const [pid] = supervisor.stats().pids;
    const environ = readFileSync(`/proc/${pid}/environ`, 'utf8');
    // Only the IPC channel variables Node itself adds for fork().
    const names = environ
      .split('\0')
      .filter(Boolean)
      .map((entry) => entry.split('=')[0]);
    expect(names.filter((name) => !name!.startsWith('NODE_CHANNEL_'))).toEqual([]);
    expect(environ).not.toContain(CANARY);
    const argv = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
    expect(argv).toContain('--permission');
    expect(argv).toContain('--no-node-snapshot');
    expect(argv.filter((a) => /^--allow-(fs-write|child-process|worker|wasi)/.test(a))).toEqual([]);
    for (const read of argv.filter((a) => a.startsWith('--allow-fs-read='))) {
      expect(read).toMatch(/sandbox|isolated-vm|node-gyp-build|package\.json|alpine-release/);
    }
    await c.dispose();
  });
});
