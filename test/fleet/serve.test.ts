/**
 * `sealbox serve` on one node with a node:sqlite store: the HTTP contract of issue 12 (routes,
 * statuses, tokens, bounded bodies, health, metrics, SIGTERM) against a real child process.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { main } from '../../src/cli/main.ts';
import { tokenHash } from '../../src/serve/tokens.ts';
import { publish } from '../../src/store/publish.ts';
import { cli } from '../e2e/helpers.ts';
import { boxSource, fleetPolicy, makeSigner, startNode, type Node } from './helpers.ts';

const signer = makeSigner();
const dir = signer.world.dir;
const storePath = join(dir, 'store.sqlite');
const POLICY = fleetPolicy(dir);
const ACME = 'acme-token-0123456789';
const GLOBEX = 'globex-token-9876543210';
writeFileSync(
  join(dir, 'tokens.json'),
  JSON.stringify({
    tokens: [
      { tenant: 'acme', sha256: tokenHash(ACME) },
      { tenant: 'globex', sha256: tokenHash(GLOBEX) },
    ],
  }),
);
const baseArgs = ['--store', storePath, '--keyring', signer.world.keyringPath, '--policy', POLICY];
let node: Node;

beforeAll(async () => {
  await publish(signer.envelope({ version: 1, source: boxSource('v1') }), { store: storePath });
  node = await startNode(
    [...baseArgs, '--tokens', 'tokens.json', '--port', '0', '--workers', '1', '--poll-ms', '200'],
    dir,
  );
}, 60_000);
afterAll(async () => {
  await node?.stop();
});

describe('sealbox serve (one node, SQLite store)', () => {
  it('answers a call with result, version and digest', async () => {
    const answer = await node.call('acme', 'box', 'echo', [{ a: [1, 'x'] }], ACME);
    expect(answer.status).toBe(200);
    expect(answer.body).toMatchObject({ result: { a: [1, 'x'] }, version: 1 });
    expect((answer.body as { digest: string }).digest).toMatch(/^[0-9a-f]{64}$/);
  });

  it('maps refusals to the contract statuses', async () => {
    expect((await node.call('acme', 'box', 'echo', [1])).status).toBe(401);
    expect((await node.call('acme', 'box', 'echo', [1], 'not-a-token')).status).toBe(401);
    const foreign = await node.call('acme', 'box', 'echo', [1], GLOBEX);
    expect(foreign.status).toBe(403);
    expect(foreign.body.error?.code).toBe('ERR_FORBIDDEN');
    expect((await node.call('acme', 'missing', 'echo', [1], ACME)).status).toBe(404);
    expect((await node.call('acme', 'box', 'nope', [], ACME)).status).toBe(400);
    expect((await node.call('acme', 'box', 'fail', [], ACME)).status).toBe(422);
    expect((await node.call('ACME', 'box', 'echo', [1], ACME)).status).toBe(400);
    expect((await node.call('acme', 'box', 'constructor%28', [1], ACME)).status).toBe(400);
  });

  it('refuses bodies that are not {"args": [...]} or too large, without crashing', async () => {
    const post = (body: string) =>
      fetch(`${node.url}/v1/call/acme/box/echo`, {
        method: 'POST',
        headers: { authorization: `Bearer ${ACME}` },
        body,
      });
    expect((await post('{"args": 1}')).status).toBe(400);
    expect((await post('[1]')).status).toBe(400);
    expect((await post('{"args": [], "x": 1}')).status).toBe(400);
    expect((await post('['.repeat(100_000))).status).toBe(400);
    const big = await post(JSON.stringify({ args: ['x'.repeat(2 * 1024 * 1024)] }));
    expect(big.status).toBe(400);
    expect(((await big.json()) as { error: { code: string } }).error.code).toBe('ERR_REQUEST_INVALID');
    expect((await node.call('acme', 'box', 'echo', [2], ACME)).status).toBe(200);
  });

  it('serves health and Prometheus metrics', async () => {
    const health = await fetch(`${node.url}/v1/health`);
    expect(health.status).toBe(200);
    expect(await health.json()).toEqual({ ok: true });
    const text = await (await fetch(`${node.url}/metrics`)).text();
    expect(text).toMatch(/sealbox_loads_total\{result="loaded",code="none"\} [1-9]/);
    expect(text).toMatch(/sealbox_calls_total\{tenant="acme",identifier="box",outcome="ok"\} [1-9]/);
    expect(text).toMatch(
      /sealbox_calls_total\{tenant="acme",identifier="box",outcome="ERR_COMPONENT_THREW"\} 1/,
    );
    expect(text).toContain('sealbox_call_duration_seconds_bucket');
    expect(text).toContain('sealbox_queue_depth');
    expect(text).toContain('sealbox_worker_restarts_total');
  });

  it('refuses --insecure-no-auth on a non-loopback host, and a missing --tokens', async () => {
    const open = await cli(
      [...baseArgs, '--port', '0', '--host', '0.0.0.0', '--insecure-no-auth'].toSpliced(0, 0, 'serve'),
      dir,
    );
    expect(open.code).toBe(2);
    const none = await main(['serve', ...baseArgs, '--port', '0'], {
      stdout: () => undefined,
      stderr: () => undefined,
      cwd: dir,
    });
    expect(none).toBe(2);
  });

  it('lists and publishes through the CLI (exit 3 for a malformed envelope)', async () => {
    writeFileSync(join(dir, 'v2.json'), signer.envelope({ version: 2, source: boxSource('v2') }));
    writeFileSync(join(dir, 'bad.json'), '{"payloadType": 1}');
    expect((await cli(['publish', 'v2.json', '--store', storePath], dir)).code).toBe(0);
    expect((await cli(['publish', 'bad.json', '--store', storePath], dir)).code).toBe(3);
    const listed = await cli(['registry', 'ls', '--store', storePath, '--tenant', 'acme', '--json'], dir);
    expect(listed.code).toBe(0);
    const entries = (JSON.parse(listed.stdout) as { entries: { version: number }[] }).entries;
    expect(entries.map((e) => e.version)).toEqual([2, 1]);
    // The node picks v2 up from the registry (SQLite: by polling).
    let version = 1;
    for (let i = 0; i < 100 && version !== 2; i++) {
      version = (await node.call('acme', 'box', 'echo', [0], ACME)).body.version ?? 0;
      if (version !== 2) await new Promise((resolve) => setTimeout(resolve, 100));
    }
    expect(version).toBe(2);
  });

  it('exits 0 on SIGTERM', async () => {
    const extra = await startNode([...baseArgs, '--insecure-no-auth', '--port', '0', '--workers', '1'], dir);
    expect((await extra.call('acme', 'box', 'echo', [3])).status).toBe(200);
    expect(await extra.stop()).toBe(0);
  });
});
