/**
 * Attack: a tenant builds the forbidden names at run time from its arguments or params
 * (`Array.join`, `String.fromCharCode`, `super[k]`, `arguments[k]`), which no static filter can
 * fold, and uses them to reach the Function constructors, the V8 stack hook, Object.prototype or
 * its own frozen params. The AST policy lets every one of these through (the load succeeds);
 * layer that must stop them: the sandbox (neutered constructors, frozen intrinsics and params,
 * strict mode), with a typed ComponentError and no change to the host.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { JsonValue } from '../../src/envelope/types.ts';
import { ComponentError } from '../../src/errors.ts';
import { evil, expectNoCanary, harness, type Harness } from './pipeline-support.ts';

const CODEGEN = /code generation from strings is disabled/;
const FROZEN = /not extensible|read.only|Cannot (add|assign|define)/;

type Case = readonly [title: string, source: string, args: readonly JsonValue[], message: RegExp];

const CTOR = [...'constructor'].map((c) => c.charCodeAt(0));

const CASES: readonly Case[] = [
  [
    'super[k][k] with k = "constructor" from the arguments (Component → Function)',
    evil('const F = super[a][a];\n    return F(b)();'),
    ['constructor', 'return typeof process'],
    CODEGEN,
  ],
  [
    'a constructor key joined from parts at run time',
    evil("const k = a.join('');\n    return (() => 1)[k]('return this')();"),
    [['con', 'struc', 'tor']],
    CODEGEN,
  ],
  [
    'a constructor key from String.fromCharCode(...args)',
    evil('const k = String.fromCharCode(...a);\n    return (() => 1)[k][k]("return 1")();'),
    [CTOR],
    CODEGEN,
  ],
  [
    'the AsyncFunction constructor by a dynamic key',
    evil("const f = async () => {};\n    return f[a]('return 1');"),
    ['constructor'],
    CODEGEN,
  ],
  [
    'the GeneratorFunction constructor through a thenable resolve function',
    evil(
      "const g = function* () {};\n    return { then(resolve) { resolve(g[a]('yield 1')().next().value); } };",
    ),
    ['constructor'],
    CODEGEN,
  ],
  ['writing its frozen params', evil('this.params[a] = 1;\n    return this.params;'), ['injected'], FROZEN],
  [
    'installing Error.prepareStackTrace by a dynamic key (frames expose receivers)',
    evil('Error[a] = (e, frames) => frames.map((f) => f.getThis());\n    return new Error("x").stack;'),
    ['prepareStackTrace'],
    FROZEN,
  ],
  [
    'Error.captureStackTrace on its frozen params',
    evil('Error.captureStackTrace(this.params);\n    return Object.keys(this.params);'),
    [],
    FROZEN,
  ],
  [
    'Object.prototype.then through ({})[k] with k = "__proto__" (thenable poisoning)',
    evil('const base = ({})[a];\n    base[b] = (r) => r(1);\n    return 1;'),
    ['__proto__', 'then'],
    FROZEN,
  ],
  [
    'Array.prototype.push replaced through [][k]',
    evil('const base = [][a];\n    base[b] = () => 0;\n    return [].push(1);'),
    ['__proto__', 'push'],
    FROZEN,
  ],
  [
    'arguments[k] with k = "callee" in a strict class method',
    evil('return typeof arguments[a];'),
    ['callee'],
    /callee|strict/,
  ],
];

/**
 * What the attacks try to change lives in the component's own context, not in this test process
 * (the tenant runs in a worker): after each attack, a probe in the same context reports the state
 * of what it went after, compared with a fresh component's probe taken in the same run.
 */
const PROBE = `
  probe(c, p, s) {
    let codegen;
    try { codegen = typeof (() => 1)[c]('return 1'); } catch (e) { codegen = e.message; }
    return [codegen, typeof ({})[p].then, typeof Error[s], [].push(1),
      Object.keys(this.params), typeof this.params.injected];
  }`;
const PROBE_ARGS = ['constructor', '__proto__', 'prepareStackTrace'] as const;

/** `source` (from `evil`) with the probe method added to its class. */
function probed(source: string): string {
  expect(source.endsWith('\n}\n')).toBe(true);
  return `${source.slice(0, -2)}${PROBE}\n}\n`;
}

let h: Harness;
let baseline: JsonValue;

beforeAll(async () => {
  h = harness();
  const clean = await h.loader.load(h.envelope(probed(evil('return 1;')), { params: { k: 1 } }), {
    tenant: 'acme',
  });
  baseline = await clean.call('probe', ...PROBE_ARGS);
  await clean.dispose();
});

afterAll(async () => {
  await h.close();
});

describe('when a signed component builds forbidden names at run time (layer: sandbox)', () => {
  it('has at least 10 distinct sources', () => {
    expect(new Set(CASES.map((c) => c[1])).size).toBe(CASES.length);
    expect(CASES.length).toBeGreaterThanOrEqual(10);
  });

  for (const [title, source, args, message] of CASES) {
    it(`passes policy, then throws ERR_COMPONENT_THREW for ${title}`, async () => {
      const component = await h.loader.load(h.envelope(probed(source), { params: { k: 1 } }), {
        tenant: 'acme',
      });
      const error = await component.call('run', ...args).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(ComponentError);
      expect(error).toMatchObject({ code: 'ERR_COMPONENT_THREW' });
      expect((error as Error).message).toMatch(message);
      expectNoCanary(error);
      // Nothing the attack went after changed in its context, and the component still works.
      expect(await component.call('probe', ...PROBE_ARGS)).toEqual(baseline);
      expect(component.methods).toEqual(['probe', 'run']);
      await component.dispose();
    });
  }

  it('gives a sloppy toJSON, called by the bootstrap serialiser, no callee.caller into the bootstrap (strict: null)', async () => {
    const source = evil(
      'K = a;\n    C = b;\n    return { v: { toJSON: probe } };',
      'let K, C;\nfunction probe() { const f = arguments[K]; const up = f[C]; return up === null ? "null" : typeof up; }',
    );
    const component = await h.loader.load(h.envelope(probed(source), { params: { k: 1 } }), {
      tenant: 'acme',
    });
    expect(await component.call('run', 'callee', 'caller')).toEqual({ v: 'null' });
    expect(await component.call('probe', ...PROBE_ARGS)).toEqual(baseline);
  });
});
