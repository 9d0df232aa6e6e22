/**
 * Attack: a signed, policy-clean component attacks the host through what comes back from a call:
 * thenables, toJSON, Symbol.species arrays, dangerous keys meant to pollute the host's prototypes,
 * hostile thrown values (getters, Proxies, huge messages), stack traces that might name host
 * paths, and kv keys crafted to reach another tenant's namespace.
 * Layer that must stop each: the sandbox (serialiser inside the timed call, result caps, host
 * re-parse dropping `__proto__`/`constructor`/`prototype`, error capture, per-tenant kv namespace).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ComponentError, SandboxError } from '../../src/errors.ts';
import { evil, expectNoCanary, harness, type Harness } from './pipeline-support.ts';

let h: Harness;
let before: string;

beforeAll(() => {
  h = harness();
  before = h.snapshot();
});

afterAll(async () => {
  await h.close();
});

async function call(source: string, args: unknown[] = [], requires: string[] = []): Promise<unknown> {
  const component = await h.loader.load(h.envelope(source, { requires }), { tenant: 'acme' });
  try {
    return await component.call('run', ...(args as never[]));
  } catch (error) {
    return error;
  } finally {
    await component.dispose();
  }
}

describe('when a component returns hostile values (layer: sandbox serialiser and host re-parse)', () => {
  it('returns plain JSON for a thenable whose then runs inside the isolate', async () => {
    const result = await call(
      evil('return { then(resolve) { resolve({ keys: Object.keys(this).length, ok: true }); } };'),
    );
    expect(result).toEqual({ keys: 1, ok: true });
    expect(h.snapshot()).toBe(before);
  });

  it('throws ERR_TIMEOUT for a thenable that never settles', async () => {
    const result = await call(evil('return { then() {} };'));
    expect(result).toBeInstanceOf(SandboxError);
    expect(result).toMatchObject({ code: 'ERR_TIMEOUT' });
  });

  it('fails a never-settling call at once (ERR_TIMEOUT, not the deadline) and keeps the component serving', async () => {
    // Nothing in the sandbox can ever settle it (no timers, no capability request outstanding):
    // waiting for the deadline would only hold the component's queue.
    const component = await h.loader.load(
      h.envelope(evil("if (a === 'hang') return new Promise(() => {}); return 'ok';")),
      { tenant: 'acme' },
    );
    try {
      const outcomes = await Promise.allSettled([component.call('run', 'hang'), component.call('run', 'x')]);
      expect(outcomes[0]).toMatchObject({ status: 'rejected', reason: { code: 'ERR_TIMEOUT' } });
      expect(outcomes[1]).toEqual({ status: 'fulfilled', value: 'ok' });
    } finally {
      await component.dispose();
    }
  });

  it('throws ERR_RESULT_INVALID for a toJSON that returns a 4 MiB string', async () => {
    const result = await call(evil("return { toJSON() { return 'x'.repeat(4 * 1024 * 1024); } };"));
    expect(result).toBeInstanceOf(SandboxError);
    expect(result).toMatchObject({ code: 'ERR_RESULT_INVALID' });
  });

  it('throws ERR_TIMEOUT for a result getter that never returns', async () => {
    const result = await call(evil('return { get x() { for (;;) {} } };'));
    expect(result).toMatchObject({ code: 'ERR_TIMEOUT' });
  });

  it('returns a plain array for an Array subclass with a hostile Symbol.species', async () => {
    const source = evil(
      'const r = Sneaky.from([1, 2, 3]);\n    return r.map((x) => x * 2);',
      'class Weird { constructor() { this.length = 0; } get leak() { return "getter"; } }\n' +
        'class Sneaky extends Array { static get [Symbol.species]() { return Weird; } }',
    );
    const result = await call(source);
    // map() built a Weird through the species; it crosses as the plain data it holds.
    expect(result).toEqual({ 0: 2, 1: 4, 2: 6, length: 0 });
    expect(Object.getPrototypeOf(result)).toBe(Object.prototype);
  });

  it('drops __proto__, constructor and prototype keys parsed from JSON before they reach the host', async () => {
    const payload = '{"__proto__":{"polluted":1},"constructor":{"prototype":{"polluted":2}},"ok":2}';
    const result = await call(evil('return JSON.parse(a);'), [payload]);
    expect(result).toEqual({ ok: 2 });
    expect(({} as { polluted?: unknown }).polluted).toBeUndefined();
    expect(h.snapshot()).toBe(before);
  });

  it('drops a computed __proto__ own key (built at run time) from the result', async () => {
    const result = await call(
      evil('return { [a]: { polluted: true }, nested: [{ [a]: 1, x: 2 }], ok: 1 };'),
      ['__proto__'],
    );
    expect(result).toEqual({ nested: [{ x: 2 }], ok: 1 });
    expect(({} as { polluted?: unknown }).polluted).toBeUndefined();
  });
});

describe('when a component throws hostile values (layer: sandbox error capture)', () => {
  it('throws ERR_COMPONENT_THREW for a thrown object whose message getter throws and stack getter loops', async () => {
    const result = await call(
      evil("throw { get message() { throw new Error('nested'); }, get stack() { for (;;) {} } };"),
    );
    expect(result).toBeInstanceOf(ComponentError);
    expect(result).toMatchObject({ code: 'ERR_COMPONENT_THREW' });
  });

  it('throws ERR_COMPONENT_THREW for a thrown Proxy whose traps throw', async () => {
    const result = await call(evil("throw new Proxy({}, { get() { throw new Error('trap'); } });"));
    expect(result).toMatchObject({ code: 'ERR_COMPONENT_THREW' });
  });

  it('caps a 1 MiB error message and keeps host paths out of the stack', async () => {
    const result = (await call(evil("throw new RangeError('m'.repeat(1024 * 1024));"))) as ComponentError;
    expect(result).toBeInstanceOf(ComponentError);
    expect(result.message.length).toBeLessThan(16 * 1024);
    const stack = String(result.details['componentStack'] ?? '');
    expect(stack).not.toContain(process.cwd());
    expect(stack).not.toMatch(/node:|node_modules|worker-main|bootstrap/);
    expectNoCanary(result);
  });
});

describe('when a component crafts kv keys to reach another tenant (layer: sandbox kv namespace)', () => {
  it('never sees or overwrites the other tenant’s keys', async () => {
    const victimSource = evil(
      "if (a) await this.host.kv.set('shared', 'globex-value');\n    return [await this.host.kv.get('shared'), await this.host.kv.list('')];",
    ).replace('run(a, b)', 'async run(a, b)');
    const victim = await h.loader.load(h.envelope(victimSource, { requires: ['kv'], tenant: 'globex' }), {
      tenant: 'globex',
    });
    expect(await victim.call('run', true)).toEqual(['globex-value', ['shared']]);

    const writer = evil(
      "await this.host.kv.set('shared', 'acme-value');\n" +
        "    for (const k of a) { try { await this.host.kv.set(k, 'acme-forged'); } catch { /* refused key */ } }\n" +
        "    return [await this.host.kv.get('shared'), await this.host.kv.list('')];",
    ).replace('run(a, b)', 'async run(a, b)');
    const forged = [
      '../globex/shared',
      'globex/shared',
      'globex:shared',
      '\u0000globex\u0000shared',
      '/globex/shared',
    ];
    const acme = (await call(writer, [forged], ['kv'])) as [string, string[]];
    expect(acme[0]).toBe('acme-value');
    expect(acme[1]).toContain('shared');

    expect(await victim.call('run', false)).toEqual(['globex-value', ['shared']]);
    await victim.dispose();
  });
});
