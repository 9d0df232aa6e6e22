/** The host keeps only plain-identifier method names from what a worker advertises. */
import { afterAll, describe, expect, it } from 'vitest';
import { createSupervisor } from '../../src/sandbox/supervisor.ts';
import { cls, expectCode, spec } from './helpers.ts';

const supervisor = createSupervisor({ workers: 1 });
afterAll(() => supervisor.close());

describe('when a class has methods with non-identifier names', () => {
  it('lists and routes only the plain identifiers', async () => {
    const c = await supervisor.instantiate(spec(cls(`ok() { return 1; }\n'kebab-name'() { return 2; }`)));
    expect(c.methods).toEqual(['ok']);
    expect(await c.call('ok')).toBe(1);
    await expectCode(c.call('kebab-name'), 'SandboxError', 'ERR_METHOD_NOT_FOUND');
    await c.dispose();
  });
});
