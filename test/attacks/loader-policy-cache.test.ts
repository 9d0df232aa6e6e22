/**
 * Attack: ride the loader's verified-and-checked cache past a policy change. The check cache was
 * keyed by digest + tenant + the base policy's revision number; a tenant overlay edit (which does
 * not touch the base revision) or an audit → enforce switch made without bumping the revision
 * (reload accepts an equal revision) left the old verdict in force.
 * Layer that must stop it: the loader (its check cache must be keyed by the policy actually in force).
 */
import { copyFileSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PolicyError } from '../../src/errors.ts';
import { createLoader, type DecisionEvent } from '../../src/loader.ts';
import { makeWorld, type World } from '../e2e/helpers.ts';

const POLICIES = new URL('../../policies/', import.meta.url).pathname;
const SOURCE = `import { Component } from 'sealbox';
export class Looper extends Component {
  count(n) { let i = 0; while (i < n) i++; return i; }
}
`;

let world: World;

beforeAll(() => {
  world = makeWorld();
});

afterAll(() => {
  rmSync(world.dir, { recursive: true, force: true });
});

function policyDir(name: string, edit: (text: string) => string = (t) => t): string {
  const dir = join(world.dir, name);
  mkdirSync(dir, { recursive: true });
  copyFileSync(join(POLICIES, 'default.yaml'), join(dir, 'default.yaml'));
  writeFileSync(join(dir, 'default.yaml'), edit(readFileSync(join(dir, 'default.yaml'), 'utf8')));
  return dir;
}

describe('when a tenant overlay narrows the policy after a load was cached (layer: loader)', () => {
  it('throws ERR_POLICY_VIOLATION on the next load of the same digest', async () => {
    const dir = policyDir('overlay-edit');
    const file = world.write('looper-a.js', SOURCE);
    const envelope = world.envelope(file, { export: 'Looper', identifier: 'looper-a' });
    const loader = createLoader({ keyring: world.keyring, policy: dir, workers: 1 });
    try {
      const first = await loader.load(envelope, { tenant: 'acme' });
      expect(await first.call('count', 3)).toBe(3);
      mkdirSync(join(dir, 'tenants'), { recursive: true });
      writeFileSync(join(dir, 'tenants', 'acme.yaml'), 'syntax:\n  deny: [WhileStatement]\n');
      expect(loader.reloadPolicy().ok).toBe(true);
      const error = await loader.load(envelope, { tenant: 'acme' }).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(PolicyError);
      expect(error).toMatchObject({ code: 'ERR_POLICY_VIOLATION' });
    } finally {
      await loader.close();
    }
  });
});

describe('when audit mode is switched to enforce without a revision bump (layer: loader)', () => {
  it('throws ERR_POLICY_VIOLATION instead of reusing the audited verdict', async () => {
    const audit = (t: string) =>
      t.replace(/^mode:\s*enforce/m, 'mode: audit').replace(/^(\s+)- WhileStatement\n/m, '');
    const dir = policyDir('audit-switch', audit);
    const file = world.write('looper-b.js', SOURCE);
    const envelope = world.envelope(file, { export: 'Looper', identifier: 'looper-b' });
    const decisions: DecisionEvent[] = [];
    const loader = createLoader({
      keyring: world.keyring,
      policy: dir,
      workers: 1,
      onDecision: (e) => decisions.push(e),
    });
    try {
      await loader.load(envelope, { tenant: 'acme' });
      expect(decisions.at(-1)).toMatchObject({ result: 'audited', policyMode: 'audit' });
      const text = readFileSync(join(dir, 'default.yaml'), 'utf8');
      writeFileSync(join(dir, 'default.yaml'), text.replace(/^mode:\s*audit/m, 'mode: enforce'));
      expect(loader.reloadPolicy().ok).toBe(true);
      const error = await loader.load(envelope, { tenant: 'acme' }).catch((e: unknown) => e);
      expect(error).toMatchObject({ code: 'ERR_POLICY_VIOLATION' });
      expect(decisions.at(-1)).toMatchObject({ result: 'refused', policyMode: 'enforce' });
    } finally {
      await loader.close();
    }
  });
});
