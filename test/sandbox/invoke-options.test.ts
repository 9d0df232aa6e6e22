/**
 * Per-call options of SandboxedComponent.invoke (supervisor-options.ts): anything but own data
 * properties `deadlineMs` (an integer in [1, 3600000]) and `signal` (an AbortSignal) is refused
 * with ConfigError ERR_CONFIG_INVALID before the call is sent.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { createSupervisor } from '../../src/sandbox/supervisor.ts';
import { cls, spec } from './helpers.ts';

const supervisor = createSupervisor({ workers: 1 });
afterAll(() => supervisor.close());

const BAD: readonly [string, unknown][] = [
  ['a misspelt option', { deadlineMS: 100 }],
  ['a misspelt option set to undefined', { timeout: undefined }],
  ['a fractional deadline', { deadlineMs: 1.5 }],
  ['a zero deadline', { deadlineMs: 0 }],
  ['a deadline past an hour', { deadlineMs: 3_600_001 }],
  ['a string deadline', { deadlineMs: '100' }],
  ['a signal that is not an AbortSignal', { signal: { aborted: false } }],
  [
    'a deadline getter',
    {
      get deadlineMs() {
        return 100;
      },
    },
  ],
  ['a symbol key', { [Symbol('x')]: 1 }],
  ['null', null],
];

describe('when a call is given bad options (layer: sandbox)', () => {
  it.each(BAD)(
    'refuses %s with ERR_CONFIG_INVALID, and the component keeps answering',
    async (_name, options) => {
      const c = await supervisor.instantiate(spec(cls('ok() { return 1; }')));
      await expect(c.invoke('ok', [], options as never)).rejects.toMatchObject({
        name: 'ConfigError',
        code: 'ERR_CONFIG_INVALID',
      });
      expect(await c.invoke('ok', [], { deadlineMs: 60_000, signal: new AbortController().signal })).toBe(1);
    },
  );
});
