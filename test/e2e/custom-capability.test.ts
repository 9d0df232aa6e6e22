/**
 * A custom host capability, end to end through the loader: the host registers `geo`, a policy
 * grants it to the tenant, the statement `requires` it, and the component reaches it as
 * `this.host.geo.lookup(...)`. Without the grant the load is refused before the sandbox.
 */
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { CAPABILITY_NAME } from '../../src/names.ts';
import { createLoader } from '../../src/loader.ts';
import type { HostCapability } from '../../src/sandbox/capabilities.ts';
import { makeWorld } from './helpers.ts';

const world = makeWorld();
afterAll(() => rmSync(world.dir, { recursive: true, force: true }));

const COMPONENT = world.write(
  'geo-component.js',
  `import { Component } from 'sealbox';
export class Where extends Component {
  async where(ip) {
    return await this.host.geo.lookup(ip);
  }
}
`,
);

const seen: unknown[] = [];
const GEO: HostCapability = {
  name: 'geo',
  methods: {
    lookup: {
      handler: (ctx, ip) => {
        seen.push({ tenant: ctx.tenant, ip });
        return { city: 'Warsaw', ip: ip ?? null };
      },
    },
  },
};

/** default.yaml with `geo` granted to every tenant (and a call budget that tolerates a busy machine). */
function grantingPolicy(): string {
  const dir = join(world.dir, 'geo-policy');
  mkdirSync(dir, { recursive: true });
  const base = readFileSync(new URL('../../policies/default.yaml', import.meta.url), 'utf8');
  const text = base
    .replace(
      /^capabilities:\n/m,
      'capabilities:\n  geo:\n    granted: true\n    limits:\n      callsPerSecond: 100\n',
    )
    .replace(/callTimeoutMs: \d+/, 'callTimeoutMs: 10000');
  expect(text).toContain('  geo:\n');
  writeFileSync(join(dir, 'default.yaml'), text);
  return dir;
}

describe('when a policy grants a custom host capability (layers: policy, sandbox)', () => {
  const envelope = world.envelope(COMPONENT, { export: 'Where', identifier: 'where', requires: ['geo'] });

  it('the component calls it through this.host and gets the host answer', async () => {
    expect(CAPABILITY_NAME.test('geo')).toBe(true);
    const loader = createLoader({
      keyring: world.keyring,
      policy: grantingPolicy(),
      capabilities: [GEO],
      workers: 1,
    });
    try {
      const loaded = await loader.load(envelope, { tenant: 'acme' });
      expect(await loaded.call('where', '192.0.2.1')).toEqual({ city: 'Warsaw', ip: '192.0.2.1' });
      expect(seen).toContainEqual(expect.objectContaining({ ip: '192.0.2.1' }));
    } finally {
      await loader.close();
    }
  }, 60_000);

  it('throws ERR_CAPABILITY_NOT_GRANTED under the default policy, which does not grant it', async () => {
    const loader = createLoader({ keyring: world.keyring, capabilities: [GEO], workers: 1 });
    try {
      await expect(loader.load(envelope, { tenant: 'acme' })).rejects.toMatchObject({
        code: 'ERR_CAPABILITY_NOT_GRANTED',
      });
    } finally {
      await loader.close();
    }
  });
});
