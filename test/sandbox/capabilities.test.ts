import { afterAll, describe, expect, it } from 'vitest';
import { SandboxError } from '../../src/errors.ts';
import type { LogEntry } from '../../src/sandbox/capabilities.ts';
import { MemoryKvStore } from '../../src/sandbox/kv-store.ts';
import { createSupervisor } from '../../src/sandbox/supervisor.ts';
import { cls, expectCode, spec } from './helpers.ts';

const logs: LogEntry[] = [];
const kv = new MemoryKvStore();
const seenByHandler: unknown[] = [];
const supervisor = createSupervisor({
  workers: 1,
  kv,
  logger: (entry) => logs.push(entry),
  capabilities: [
    {
      name: 'geo',
      limits: { maxPoints: 3 },
      methods: {
        distance: {
          validate: (args, ctx) =>
            args.length === 2 && args.every((a) => typeof a === 'number') && ctx.limits['maxPoints'] === 3
              ? undefined
              : 'expected two numbers',
          handler: (ctx, a, b) => {
            seenByHandler.push({ tenant: ctx.tenant, identifier: ctx.identifier, version: ctx.version });
            return Math.abs((a as number) - (b as number));
          },
        },
        broken: {
          handler: () => {
            throw new Error('database password is hunter2 at /srv/secret/path');
          },
        },
        refuse: {
          handler: () => {
            throw new SandboxError('ERR_CAPABILITY_DENIED', 'not on weekends');
          },
        },
        nothing: { handler: () => undefined },
      },
    },
  ],
});
afterAll(() => supervisor.close());

const USER = cls(`
  async log(...args) { await this.host.log(...args); return true; }
  async kvSet(k, v) { await this.host.kv.set(k, v); return true; }
  async kvGet(k) { return await this.host.kv.get(k); }
  async kvDelete(k) { await this.host.kv.delete(k); return await this.host.kv.get(k); }
  async kvList(p) { return await this.host.kv.list(p); }
  async geo(method, ...args) { return await this.host.geo[method](...args); }
  async caught() { try { await this.host.geo.refuse(); } catch (e) { return [e.code, e.message]; } }
  async hasGeo() { return typeof this.host.geo; }
`);

describe('when the log capability is used', () => {
  it('delivers entries with the host-side identity to the logger', async () => {
    const c = await supervisor.instantiate(spec(USER, { tenant: 'logger-t', identifier: 'logs' }));
    await c.call('log', 'warn', 'disk low', { free: 3 });
    expect(logs.at(-1)).toEqual({
      tenant: 'logger-t',
      identifier: 'logs',
      version: 1,
      level: 'warn',
      message: 'disk low',
      fields: { free: 3 },
    });
  });
  it.each([
    ['a bad level', ['fatal', 'x']],
    ['a non-string message', ['info', 42]],
    ['array fields', ['info', 'x', [1]]],
    ['too many arguments', ['info', 'x', {}, 4]],
  ])('throws ERR_ARGS_INVALID for %s', async (_name, args) => {
    const c = await supervisor.instantiate(spec(USER));
    await expectCode(c.call('log', ...(args as never[])), 'SandboxError', 'ERR_ARGS_INVALID');
  });
  it('throws ERR_ARGS_INVALID for a message over maxMessageBytes', async () => {
    const c = await supervisor.instantiate(spec(USER, { grants: { log: { maxMessageBytes: 10 } } }));
    await expectCode(c.call('log', 'info', 'x'.repeat(11)), 'SandboxError', 'ERR_ARGS_INVALID');
  });
});

describe('when the kv capability is used', () => {
  it('sets, gets, lists and deletes in the tenant namespace', async () => {
    const c = await supervisor.instantiate(spec(USER, { tenant: 'kv-t' }));
    expect(await c.call('kvSet', 'user:1', { name: 'ada' })).toBe(true);
    expect(await c.call('kvSet', 'user:2', [1, 2])).toBe(true);
    expect(await c.call('kvGet', 'user:1')).toEqual({ name: 'ada' });
    expect(await c.call('kvGet', 'absent')).toBeNull();
    expect(await c.call('kvList', 'user:')).toEqual(['user:1', 'user:2']);
    expect(await c.call('kvDelete', 'user:1')).toBeNull();
    expect(await kv.list('kv-t', '')).toEqual(['user:2']);
  });
  it('throws ERR_ARGS_INVALID for bad keys and oversized values', async () => {
    const c = await supervisor.instantiate(
      spec(USER, { grants: { kv: { maxKeyBytes: 8, maxValueBytes: 16 } } }),
    );
    await expectCode(c.call('kvSet', 'x'.repeat(9), 1), 'SandboxError', 'ERR_ARGS_INVALID');
    await expectCode(c.call('kvSet', '', 1), 'SandboxError', 'ERR_ARGS_INVALID');
    await expectCode(c.call('kvSet', 'k', 'y'.repeat(20)), 'SandboxError', 'ERR_ARGS_INVALID');
    await expectCode(c.call('kvGet', 5), 'SandboxError', 'ERR_ARGS_INVALID');
  });
  it('throws ERR_QUOTA_EXCEEDED beyond maxKeys', async () => {
    const c = await supervisor.instantiate(spec(USER, { tenant: 'kv-full', grants: { kv: { maxKeys: 2 } } }));
    await c.call('kvSet', 'a', 1);
    await c.call('kvSet', 'b', 1);
    await c.call('kvSet', 'a', 2);
    await expectCode(c.call('kvSet', 'c', 1), 'SandboxError', 'ERR_QUOTA_EXCEEDED');
  });
});

describe('when a custom capability is used', () => {
  it('validates arguments and passes the host-side identity to the handler', async () => {
    const c = await supervisor.instantiate(
      spec(USER, { tenant: 'geo-t', identifier: 'maps', grants: { geo: {} } }),
    );
    expect(await c.call('geo', 'distance', 3, 10)).toBe(7);
    expect(seenByHandler.at(-1)).toEqual({ tenant: 'geo-t', identifier: 'maps', version: 1 });
    await expectCode(c.call('geo', 'distance', 'a', 1), 'SandboxError', 'ERR_ARGS_INVALID');
    expect(await c.call('geo', 'nothing')).toBeNull();
  });
  it('throws ERR_CAPABILITY_DENIED without the handler message when the handler fails', async () => {
    const c = await supervisor.instantiate(spec(USER, { grants: { geo: {} } }));
    const error = await expectCode(c.call('geo', 'broken'), 'SandboxError', 'ERR_CAPABILITY_DENIED');
    expect(error.message).not.toMatch(/hunter2|\/srv/);
  });
  it('passes a SandboxError refusal code and message to the component', async () => {
    const c = await supervisor.instantiate(spec(USER, { grants: { geo: {} } }));
    expect(await c.call('caught')).toEqual(['ERR_CAPABILITY_DENIED', 'not on weekends']);
  });
  it('is absent when not granted', async () => {
    const c = await supervisor.instantiate(spec(USER, { grants: { log: {} } }));
    expect(await c.call('hasGeo')).toBe('undefined');
  });
  it('rejects a capability that reuses a built-in name (ERR_CONFIG_INVALID)', () => {
    expect(() =>
      createSupervisor({ capabilities: [{ name: 'kv', methods: { get: { handler: () => 1 } } }] }),
    ).toThrow(expect.objectContaining({ code: 'ERR_CONFIG_INVALID' }));
  });
  it.each([
    ['capabilities that are not an array', { capabilities: 5 }],
    ['a capability without methods', { capabilities: [{ name: 'geo' }] }],
    ['a capability whose methods are null', { capabilities: [{ name: 'geo', methods: null }] }],
  ])('rejects %s with a typed ERR_CONFIG_INVALID', (_name, options) => {
    expect(() => createSupervisor(options as never)).toThrow(
      expect.objectContaining({ name: 'ConfigError', code: 'ERR_CONFIG_INVALID' }),
    );
  });
});

describe('when a capability is granted with callsPerSecond 0', () => {
  it('throws ERR_QUOTA_EXCEEDED on the first call', async () => {
    const c = await supervisor.instantiate(
      spec(USER, { tenant: 'zero-rate', grants: { kv: { callsPerSecond: 0 } } }),
    );
    await expectCode(c.call('kvGet', 'k'), 'SandboxError', 'ERR_QUOTA_EXCEEDED');
  });
});
