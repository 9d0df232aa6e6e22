import { afterAll, describe, expect, it } from 'vitest';
import { createSupervisor } from '../../src/sandbox/supervisor.ts';
import { cls, expectCode, isAlive, spec, waitFor } from './helpers.ts';

const supervisor = createSupervisor({ workers: 1 });
afterAll(() => supervisor.close());

const TOKENIZER = cls(`
  constructor(params, context) { super(params, context); this.count = 0; this.context = context; }
  tokenize(text) { this.count++; return text.toLowerCase().split(/\\W+/).filter(Boolean); }
  async later(x) { await null; return { x, count: this.count }; }
  identity() { return { tenant: this.tenant, identifier: this.identifier, version: this.version, params: this.params, context: this.context }; }
  paramsFrozen() { try { this.params.a = 2; return 'mutated'; } catch (e) { return Object.isFrozen(this.params) ? 'frozen' : 'threw'; } }
  artifact() { const a = this.artifacts.bin; a[0] = 99; return { first: this.artifacts.bin[0], text: this.artifactText('txt'), json: this.artifactJson('cfg') }; }
  boom() { throw new TypeError('bad input: ' + 42); }
  throwString() { throw 'just a string'; }
  echo(...args) { return args; }
  nothing() {}
  get notAMethod() { return 1; }
  #hidden() { return 'secret'; }
  static helper() { return 1; }
`);

describe('when a component is instantiated', () => {
  it('lists only own public methods of the entry class', async () => {
    const c = await supervisor.instantiate(spec(TOKENIZER, { params: { a: 1 } }));
    expect(c.methods).toEqual([
      'artifact',
      'boom',
      'echo',
      'identity',
      'later',
      'nothing',
      'paramsFrozen',
      'throwString',
      'tokenize',
    ]);
    await c.dispose();
  });

  it('calls sync and async methods with JSON in and out', async () => {
    const c = await supervisor.instantiate(spec(TOKENIZER));
    expect(await c.call('tokenize', 'Hello, World')).toEqual(['hello', 'world']);
    expect(await c.call('later', 7)).toEqual({ x: 7, count: 1 });
    expect(await c.call('nothing')).toBeNull();
    expect(await c.call('echo', 1, 'two', [3], { four: null })).toEqual([1, 'two', [3], { four: null }]);
    await c.dispose();
  });

  it('gives the component its identity, frozen params and a context', async () => {
    const c = await supervisor.instantiate(spec(TOKENIZER, { params: { a: 1, nested: { b: [1] } } }));
    expect(await c.call('identity')).toEqual({
      tenant: 'acme',
      identifier: 'widget',
      version: 1,
      params: { a: 1, nested: { b: [1] } },
      context: { tenant: 'acme', identifier: 'widget', version: 1 },
    });
    expect(await c.call('paramsFrozen')).toBe('frozen');
    await c.dispose();
  });

  it('hands out artifact copies, text and JSON', async () => {
    const artifacts = {
      bin: new Uint8Array([1, 2, 3]),
      txt: new TextEncoder().encode('héllo ✓'),
      cfg: new TextEncoder().encode('{"k":[1,2]}'),
    };
    const c = await supervisor.instantiate(spec(TOKENIZER, { artifacts }));
    expect(await c.call('artifact')).toEqual({ first: 1, text: 'héllo ✓', json: { k: [1, 2] } });
    expect(artifacts.bin[0]).toBe(1);
    await c.dispose();
  });
});

describe('when a method is not an own public method', () => {
  it.each([
    'constructor',
    'notAMethod',
    '#hidden',
    'hidden',
    'helper',
    'artifactText',
    'toString',
    '__proto__',
    'hasOwnProperty',
  ])('throws ERR_METHOD_NOT_FOUND for %s', async (method) => {
    const c = await supervisor.instantiate(spec(TOKENIZER));
    await expectCode(c.call(method), 'SandboxError', 'ERR_METHOD_NOT_FOUND');
    await c.dispose();
  });
});

describe('when the component throws', () => {
  it('throws ERR_COMPONENT_THREW with its message and only its own frames', async () => {
    const c = await supervisor.instantiate(spec(TOKENIZER));
    const error = (await expectCode(c.call('boom'), 'ComponentError', 'ERR_COMPONENT_THREW')) as Error & {
      componentStack: string;
    };
    expect(error.message).toBe('bad input: 42');
    expect(error.componentStack).toMatch(/at C\.boom \(sealbox:widget:\d+:\d+\)/);
    expect(error.componentStack).not.toMatch(/bootstrap|node_modules|\/work|file:/);
    const other = await expectCode(c.call('throwString'), 'ComponentError', 'ERR_COMPONENT_THREW');
    expect(other.message).toBe('just a string');
    await c.dispose();
  });
});

describe('when the spec is bad', () => {
  it('throws ERR_INSTANTIATE for a syntax error', async () => {
    await expectCode(
      supervisor.instantiate(spec('class C extends Component {')),
      'SandboxError',
      'ERR_INSTANTIATE',
    );
  });
  it('throws ERR_INSTANTIATE when the entry is missing or not a Component', async () => {
    await expectCode(
      supervisor.instantiate(spec(cls(''), { entry: 'Nope' })),
      'SandboxError',
      'ERR_INSTANTIATE',
    );
    await expectCode(supervisor.instantiate(spec('class C {}')), 'SandboxError', 'ERR_INSTANTIATE');
    await expectCode(supervisor.instantiate(spec('var C = 5;')), 'SandboxError', 'ERR_INSTANTIATE');
  });
  it('throws ERR_INSTANTIATE when the constructor throws', async () => {
    await expectCode(
      supervisor.instantiate(spec(cls('constructor(p, c) { super(p, c); throw new Error("no"); }'))),
      'SandboxError',
      'ERR_INSTANTIATE',
    );
  });
  it('throws ERR_CONFIG_INVALID for an entry that is not an identifier', async () => {
    await expectCode(
      supervisor.instantiate(spec(cls(''), { entry: 'C; globalThis.x = 1' })),
      'ConfigError',
      'ERR_CONFIG_INVALID',
    );
  });
  it('throws ERR_CONFIG_INVALID for grants of an unregistered capability', async () => {
    await expectCode(
      supervisor.instantiate(spec(cls(''), { grants: { net: {} } })),
      'ConfigError',
      'ERR_CONFIG_INVALID',
    );
  });
  it('throws ERR_CONFIG_INVALID for limits with unknown keys or bad values', async () => {
    const bad = { ...spec(cls('')), limits: { ...spec(cls('')).limits, extra: 1 } } as never;
    await expectCode(supervisor.instantiate(bad), 'ConfigError', 'ERR_CONFIG_INVALID');
    await expectCode(
      supervisor.instantiate(spec(cls(''), { limits: { memoryMb: 1 } })),
      'ConfigError',
      'ERR_CONFIG_INVALID',
    );
  });
  it('throws ERR_JSON_INVALID for params that are not JSON', async () => {
    await expectCode(
      supervisor.instantiate(spec(cls(''), { params: { f: (() => 1) as never } })),
      'EnvelopeError',
      'ERR_JSON_INVALID',
    );
  });
});

describe('when arguments are not acceptable JSON', () => {
  it.each([
    ['a function', () => 1],
    ['a BigInt', 5n],
    ['NaN', Number.NaN],
    ['a class instance', new Date(0)],
    ['a Map', new Map()],
    ['undefined', undefined],
    ['a symbol', Symbol('s')],
  ])('throws ERR_ARGS_INVALID for %s', async (_name, value) => {
    const c = await supervisor.instantiate(spec(TOKENIZER));
    await expectCode(c.call('echo', value as never), 'SandboxError', 'ERR_ARGS_INVALID');
    await c.dispose();
  });

  it('throws ERR_ARGS_INVALID for an accessor property (no host getter runs)', async () => {
    let ran = false;
    const value = Object.defineProperty({}, 'x', { enumerable: true, get: () => ((ran = true), 1) });
    const c = await supervisor.instantiate(spec(TOKENIZER));
    await expectCode(c.call('echo', value as never), 'SandboxError', 'ERR_ARGS_INVALID');
    expect(ran).toBe(false);
    await c.dispose();
  });

  it('throws ERR_ARGS_INVALID for too large and too deep arguments', async () => {
    const c = await supervisor.instantiate(spec(TOKENIZER));
    await expectCode(c.call('echo', 'x'.repeat(70 * 1024)), 'SandboxError', 'ERR_ARGS_INVALID');
    let deep: unknown = 1;
    for (let i = 0; i < 40; i++) deep = [deep];
    await expectCode(c.call('echo', deep as never), 'SandboxError', 'ERR_ARGS_INVALID');
    const cyclic: Record<string, unknown> = {};
    cyclic['self'] = cyclic;
    await expectCode(c.call('echo', cyclic as never), 'SandboxError', 'ERR_ARGS_INVALID');
    await c.dispose();
  });

  it('drops __proto__, constructor and prototype keys from arguments', async () => {
    const c = await supervisor.instantiate(
      spec(
        cls(
          'keys(o) { return Object.getOwnPropertyNames(o).concat([Object.getPrototypeOf(o) === Object.prototype]); }',
        ),
      ),
    );
    const hostile = JSON.parse(
      '{"__proto__": {"polluted": 1}, "constructor": 1, "prototype": 2, "ok": 3}',
    ) as never;
    expect(await c.call('keys', hostile)).toEqual(['ok', true]);
    await c.dispose();
  });
});

describe('when a component is disposed or the supervisor is closed', () => {
  it('throws ERR_SANDBOX_CLOSED after dispose', async () => {
    const c = await supervisor.instantiate(spec(TOKENIZER));
    await c.dispose();
    await expectCode(c.call('tokenize', 'x'), 'SandboxError', 'ERR_SANDBOX_CLOSED');
    await c.dispose();
  });

  it('leaves no worker process alive after close, and refuses new work', async () => {
    const own = createSupervisor({ workers: 2 });
    const a = await own.instantiate(spec(TOKENIZER, { tenant: 'a' }));
    await own.instantiate(spec(TOKENIZER, { tenant: 'b' }));
    const { pids, workers, isolates, components } = own.stats();
    expect({ workers, isolates, components }).toEqual({ workers: 2, isolates: 2, components: 2 });
    await own.close();
    for (const pid of pids) expect(isAlive(pid)).toBe(false);
    expect(own.stats().workers).toBe(0);
    await expectCode(a.call('tokenize', 'x'), 'SandboxError', 'ERR_SANDBOX_CLOSED');
    await expectCode(own.instantiate(spec(TOKENIZER)), 'SandboxError', 'ERR_SANDBOX_CLOSED');
  });

  it('lets a plain node process exit after close (no handle left behind)', async () => {
    const { spawnSync } = await import('node:child_process');
    const script = `
      import { createSupervisor } from './src/sandbox/supervisor.ts';
      import { DEFAULT_SANDBOX_LIMITS } from './src/sandbox/limits.ts';
      const s = createSupervisor();
      const c = await s.instantiate({ tenant: 't', identifier: 'i', version: 1, digest: 'd', entry: 'C',
        source: 'class C extends Component { m() { return 1 } }', params: {}, artifacts: {}, grants: {}, limits: DEFAULT_SANDBOX_LIMITS });
      await c.call('m');
      await s.close();
      console.log('closed');`;
    const result = spawnSync(process.execPath, ['--no-node-snapshot', '--input-type=module', '-e', script], {
      cwd: new URL('../..', import.meta.url),
      timeout: 15_000,
      encoding: 'utf8',
    });
    expect(result.stdout.trim()).toBe('closed');
    expect(result.status).toBe(0);
  });
});

describe('when a worker is idle', () => {
  it('answers heartbeats and keeps its pid', async () => {
    const own = createSupervisor({ workers: 1, heartbeatMs: 20 });
    const c = await own.instantiate(spec(TOKENIZER));
    const [pid] = own.stats().pids;
    await new Promise((resolve) => setTimeout(resolve, 150));
    expect(own.stats().pids).toEqual([pid]);
    expect(await c.call('tokenize', 'still here')).toEqual(['still', 'here']);
    await own.close();
    await waitFor(() => !isAlive(pid!));
  });
});

describe('when ordinary code shadows inherited properties (override mistake under frozen intrinsics)', () => {
  it('lets instances set name, message and toString while prototypes stay frozen', async () => {
    const c = await supervisor.instantiate(
      spec(`class AppError extends Error { constructor(m) { super(m); this.name = 'AppError'; this.code = 7; } }
        class C extends Component {
          go() {
            const o = { a: 1 }; o.toString = () => 'custom'; o.valueOf = () => 5;
            const e = new Error(); e.message = 'late';
            let protoChanged = 'no';
            try { Error.prototype.name = 'x'; protoChanged = 'yes'; } catch (err) { protoChanged = 'refused'; }
            return [String(o), o + 1, new AppError('m').name, e.message, protoChanged, new TypeError('t').name];
          }
          fail() { throw new AppError('typed failure'); }
        }`),
    );
    expect(await c.call('go')).toEqual(['custom', 6, 'AppError', 'late', 'refused', 'TypeError']);
    const error = await expectCode(c.call('fail'), 'ComponentError', 'ERR_COMPONENT_THREW');
    expect(error.message).toBe('typed failure');
    await c.dispose();
  });
});
