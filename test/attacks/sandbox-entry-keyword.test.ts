/**
 * The entry name passes the identifier grammar (names.ts) but may be a keyword. The worker
 * appends it to the script so that the script's completion value is the entry class; a keyword
 * that is a statement (`debugger`) has no value, and the completion would fall back to whatever
 * expression the source ends with. Stopped by the sandbox: the name is appended in parentheses,
 * so it is an expression or a SyntaxError (ERR_INSTANTIATE).
 */
import { afterAll, describe, expect, it } from 'vitest';
import { SandboxError } from '../../src/errors.ts';
import { createSupervisor } from '../../src/sandbox/supervisor.ts';
import { spec } from '../sandbox/helpers.ts';

const supervisor = createSupervisor({ workers: 1 });
afterAll(() => supervisor.close());

// The class the statement names is A; the source ends with an anonymous class expression B.
const SOURCE = [
  'class A extends Component { who() { return "A"; } }',
  '(class extends Component { who() { return "B, never named"; } })',
].join('\n');

describe('when the entry is a keyword that would change what the script yields (layer: sandbox load, ERR_INSTANTIATE)', () => {
  it.each(['debugger', 'if', 'class', 'function', 'return', 'var'])(
    'refuses entry %s instead of constructing the last expression of the source',
    async (entry) => {
      let caught: unknown;
      try {
        const c = await supervisor.instantiate(spec(SOURCE, { entry }));
        caught = await c.call('who');
      } catch (error) {
        caught = error;
      }
      expect(caught).toBeInstanceOf(SandboxError);
      expect((caught as SandboxError).code).toBe('ERR_INSTANTIATE');
    },
  );

  it.each(['this', 'null', 'true'])('refuses entry %s (a value, not a class)', async (entry) => {
    let caught: unknown;
    try {
      await supervisor.instantiate(spec(SOURCE, { entry }));
    } catch (error) {
      caught = error;
    }
    expect((caught as SandboxError).code).toBe('ERR_INSTANTIATE');
  });

  it('still constructs the class a plain identifier names', async () => {
    const c = await supervisor.instantiate(spec(SOURCE, { entry: 'A', tenant: 'plain' }));
    expect(await c.call('who')).toBe('A');
  });
});
