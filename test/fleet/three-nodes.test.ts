/**
 * Issue 12's fleet test: three `sealbox serve` processes on one real PostgreSQL (a fresh database
 * of the embedded server, or of SEALBOX_TEST_PG_URL).
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { tokenHash } from '../../src/serve/tokens.ts';
import { publish } from '../../src/store/publish.ts';
import { generateKeyPair } from '../../src/trust/keys.ts';
import { boxSource, fleetPolicy, makeSigner, startNode, tamper, type Node } from './helpers.ts';

const signer = makeSigner();
const dir = signer.world.dir;
const ACME = 'acme-fleet-token-0123456789';
const GLOBEX = 'globex-fleet-token-9876543210';
writeFileSync(
  join(dir, 'tokens.json'),
  JSON.stringify({
    tokens: [
      { tenant: 'acme', sha256: tokenHash(ACME) },
      { tenant: 'globex', sha256: tokenHash(GLOBEX) },
    ],
  }),
);
const policy = fleetPolicy(dir, { maxKeys: 50 });
let storeUrl = '';
let nodeArgs: string[] = [];
const nodes: Node[] = [];
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

beforeAll(async () => {
  // A database of its own: nothing left by other tests or earlier runs.
  const admin = new pg.Client({ connectionString: inject('pgUrl') });
  await admin.connect();
  const name = `sealbox_fleet_${process.pid}_${Date.now()}`;
  await admin.query(`CREATE DATABASE ${name}`);
  await admin.end();
  const url = new URL(inject('pgUrl'));
  url.pathname = `/${name}`;
  storeUrl = url.toString();
  nodeArgs = [
    '--store',
    storeUrl,
    '--keyring',
    signer.world.keyringPath,
    '--policy',
    policy,
    '--tokens',
    'tokens.json',
    '--port',
    '0',
    '--workers',
    '1',
  ];
  nodes.push(...(await Promise.all([0, 1, 2].map(() => startNode(nodeArgs, dir)))));
}, 120_000);
afterAll(async () => {
  await Promise.all(nodes.map((node) => node.stop()));
});

async function versionOn(node: Node, tenant = 'acme', token = ACME): Promise<number | undefined> {
  const answer = await node.call(tenant, 'box', 'version', [], token);
  return answer.body.version;
}

describe('three sealbox serve nodes on one PostgreSQL', () => {
  const v1 = signer.envelope({ version: 1, source: boxSource('v1') });
  let firstLoadMs = 0;

  it('serves v1 everywhere', async () => {
    await publish(v1, { store: storeUrl });
    const started = performance.now();
    for (const node of nodes) expect(await versionOn(node)).toBe(1);
    firstLoadMs = (performance.now() - started) / nodes.length;
  });

  it('serves v2 on every node within 2 s of its publish', async () => {
    await publish(signer.envelope({ version: 2, source: boxSource('v2') }), { store: storeUrl });
    const published = performance.now();
    const seen = await Promise.all(
      nodes.map(async (node) => {
        while (performance.now() - published < 30_000) {
          if ((await versionOn(node)) === 2) return performance.now() - published;
          await sleep(25);
        }
        return Infinity;
      }),
    );
    // The contract is 2 s; under load on a shared machine a load's own time (measured above, in
    // this run) is added as slack.
    for (const ms of seen) expect(ms).toBeLessThan(2000 + firstLoadMs);
  });

  it('never serves a tampered v3, a v4 signed by an untrusted key or a re-published v1', async () => {
    const stranger = generateKeyPair();
    const v3 = signer.envelope({ version: 3, source: boxSource('v3') });
    const evil = signer.envelope({ version: 3, source: boxSource('v3-evil') });
    await publish(tamper(v3, evil), { store: storeUrl });
    await publish(signer.envelope({ version: 4, source: boxSource('v4'), key: stranger }), {
      store: storeUrl,
    });
    expect((await publish(v1, { store: storeUrl })).stored).toBe(false);
    await publish(signer.envelope({ version: 1, source: boxSource('v1-again') }), { store: storeUrl });
    // Every node looks at them (notification) and refuses them.
    const deadline = performance.now() + 20_000;
    for (const node of nodes) {
      while (
        performance.now() < deadline &&
        !(node.stderr().includes('"ERR_SIGNATURE_INVALID"') && node.stderr().includes('"ERR_KEY_UNKNOWN"'))
      ) {
        await sleep(50);
      }
      expect(node.stderr()).toContain('"ERR_SIGNATURE_INVALID"');
      expect(node.stderr()).toContain('"ERR_KEY_UNKNOWN"');
    }
    for (const node of nodes) expect(await versionOn(node)).toBe(2);
  });

  it('shares kv across nodes', async () => {
    expect((await nodes[0]!.call('acme', 'box', 'put', ['shared', { from: 0 }], ACME)).status).toBe(200);
    expect((await nodes[1]!.call('acme', 'box', 'read', ['shared'], ACME)).body.result).toEqual({ from: 0 });
  });

  it('stores exactly 50 of 90 concurrent distinct-key writes across the nodes (maxKeys 50)', async () => {
    await publish(signer.envelope({ version: 1, tenant: 'globex', source: boxSource('g1') }), {
      store: storeUrl,
    });
    for (const node of nodes) expect(await versionOn(node, 'globex', GLOBEX)).toBe(1);
    const answers = await Promise.all(
      Array.from({ length: 90 }, (_, i) => nodes[i % 3]!.call('globex', 'box', 'put', [`k${i}`, i], GLOBEX)),
    );
    expect(answers.filter((a) => a.status === 200)).toHaveLength(50);
    const refused = answers.filter((a) => a.status !== 200);
    expect(new Set(refused.map((a) => `${a.status} ${a.body.error?.code}`))).toEqual(
      new Set(['429 ERR_QUOTA_EXCEEDED']),
    );
    expect((await nodes[2]!.call('globex', 'box', 'keys', [], GLOBEX)).body.result).toBe(50);
  });

  it('restarts a SIGKILLed node serving the newest version', async () => {
    const victim = nodes.pop()!;
    victim.child.kill('SIGKILL');
    await victim.stop();
    const restarted = await startNode(nodeArgs, dir);
    nodes.push(restarted);
    expect(await versionOn(restarted)).toBe(2);
  }, 120_000);

  it('never rolls back to v1 when someone with write access deletes the newer rows from the store', async () => {
    // The store is untrusted storage: an attacker who can write to it removes every acme row above
    // v1 (v1 is then the newest published version). The nodes' shared rollback marks still say v2,
    // so a freshly started node refuses v1 (ERR_ROLLBACK) and serves nothing, and the running ones
    // keep serving the v2 they hold.
    const db = new pg.Client({ connectionString: storeUrl });
    await db.connect();
    try {
      const removed = await db.query(
        "DELETE FROM sealbox_registry WHERE tenant = 'acme' AND identifier = 'box' AND version > 1",
      );
      expect(removed.rowCount).toBeGreaterThan(0);
    } finally {
      await db.end();
    }
    const fresh = await startNode(nodeArgs, dir);
    try {
      const answer = await fresh.call('acme', 'box', 'version', [], ACME);
      expect(answer.status).toBe(404);
      const deadline = performance.now() + 20_000;
      while (performance.now() < deadline && !fresh.stderr().includes('"ERR_ROLLBACK"')) await sleep(50);
      expect(fresh.stderr()).toContain('"ERR_ROLLBACK"');
    } finally {
      await fresh.stop();
    }
    for (const node of nodes) expect(await versionOn(node)).toBe(2);
  }, 120_000);

  it('answers 401 without a known token and 403 with another tenant’s', async () => {
    expect((await nodes[0]!.call('acme', 'box', 'version', [])).status).toBe(401);
    expect((await nodes[1]!.call('acme', 'box', 'version', [], 'wrong')).status).toBe(401);
    expect((await nodes[2]!.call('acme', 'box', 'version', [], GLOBEX)).status).toBe(403);
  });
});
