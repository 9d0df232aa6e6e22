/**
 * Attack: a buggy or hostile caller passes a `tenant` (or load options) that is not a plain
 * string: an object whose toString throws, a null-prototype object, a getter that throws, a
 * Proxy, a string carrying control characters meant for the decision log.
 * Layer that must stop it: the loader (the tenant is validated once, before any other work, and
 * every failure is a typed ConfigError; the decision event never carries an unvalidated name).
 */
import { rmSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConfigError } from '../../src/errors.ts';
import { createLoader, type DecisionEvent, type Loader } from '../../src/loader.ts';
import { CHUNKER, makeWorld, type World } from '../e2e/helpers.ts';

let world: World;
let loader: Loader;
const decisions: DecisionEvent[] = [];

beforeAll(() => {
  world = makeWorld();
  loader = createLoader({ keyring: world.keyring, workers: 1, onDecision: (e) => decisions.push(e) });
});

afterAll(async () => {
  await loader.close();
  rmSync(world.dir, { recursive: true, force: true });
});

const hostileTenants: [string, () => unknown][] = [
  ['a null-prototype object', () => ({ tenant: Object.create(null) as unknown })],
  [
    'an object whose toString throws',
    () => ({
      tenant: {
        toString() {
          throw new Error('boom');
        },
      },
    }),
  ],
  ['a symbol', () => ({ tenant: Symbol('acme') })],
  [
    'a getter that throws',
    () =>
      Object.defineProperty({}, 'tenant', {
        get() {
          throw new Error('boom');
        },
      }),
  ],
  [
    'a Proxy whose get trap throws',
    () =>
      new Proxy(
        {},
        {
          get() {
            throw new Error('boom');
          },
        },
      ),
  ],
];

describe('when the tenant option is a hostile value (layer: loader)', () => {
  it.each(hostileTenants)('throws ERR_CONFIG_INVALID for %s', async (_name, make) => {
    const envelope = world.envelope(CHUNKER, { export: 'TextChunker', identifier: 'chunker-h' });
    const error = await loader.load(envelope, make() as { tenant: string }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ConfigError);
    expect(error).toMatchObject({ code: 'ERR_CONFIG_INVALID' });
  });

  it('throws ERR_CONFIG_INVALID for a tenant inherited from a polluted Object.prototype', async () => {
    const envelope = world.envelope(CHUNKER, { export: 'TextChunker', identifier: 'chunker-h3' });
    const proto = Object.prototype as unknown as Record<string, unknown>;
    proto['tenant'] = 'acme';
    try {
      const error = await loader.load(envelope, {} as { tenant: string }).catch((e: unknown) => e);
      expect(error).toMatchObject({ code: 'ERR_CONFIG_INVALID' });
    } finally {
      delete proto['tenant'];
    }
  });

  it('throws ERR_CONFIG_INVALID for a tenant carrying terminal escapes, and keeps them out of the event', async () => {
    const envelope = world.envelope(CHUNKER, { export: 'TextChunker', identifier: 'chunker-h2' });
    const before = decisions.length;
    const error = await loader
      .load(envelope, { tenant: 'acme\u001b[2J\n{"result":"loaded"}' })
      .catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 'ERR_CONFIG_INVALID' });
    expect(decisions.length).toBe(before + 1);
    const event = decisions.at(-1)!;
    expect(event.result).toBe('refused');
    // eslint-disable-next-line no-control-regex
    expect(event.tenant).not.toMatch(/[\u0000-\u001f]/);
  });
});

describe('when createLoader gets a misspelt option (layer: loader)', () => {
  it('throws ERR_CONFIG_INVALID instead of ignoring it', async () => {
    const { createLoader: make } = await import('../../src/loader.ts');
    const { Keyring: K } = await import('../../src/trust/keyring.ts');
    expect(() => make({ keyring: K.empty(), rollbak: '/tmp/x.sqlite' } as never)).toThrow(
      expect.objectContaining({ code: 'ERR_CONFIG_INVALID' }),
    );
  });
});
