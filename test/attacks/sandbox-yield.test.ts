/**
 * The worker's side of a yield (layer: sandbox worker; YIELDED), driven through one worker
 * process directly, so the order of frames is exact. A yield gives back a tenant's pipelined calls
 * that have not started, never the call running nor a turn's first call; and a call queued behind
 * an async call goes back too, instead of waiting in the worker and running once that call is
 * answered (review findings: both let a pipeline keep its turn).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createCapabilityRegistry } from '../../src/sandbox/capability-dispatch.ts';
import { checkSpec } from '../../src/sandbox/component-spec.ts';
import { MemoryKvStore } from '../../src/sandbox/kv-store.ts';
import { YIELDED, type Answer, type HostMessage, type WorkerMessage } from '../../src/sandbox/protocol.ts';
import { WorkerProcess } from '../../src/sandbox/worker-process.ts';
import { cls, spec } from '../sandbox/helpers.ts';

const BUDGET_MS = 500;
const SOURCE = `let n = 0;\n${cls(`
  count() { n++; return n; }
  spin(ms) { const end = Date.now() + ms; while (Date.now() < end) {} n++; return n; }
  async aspin(ms) { const end = Date.now() + ms; while (Date.now() < end) {} await this.host.kv.get('x'); n++; return n; }
`)}`;

let worker: WorkerProcess;
let tenantKey: number;
const KEY = 1;

beforeAll(async () => {
  const checked = checkSpec(
    spec(SOURCE, { limits: { callTimeoutMs: BUDGET_MS } }),
    createCapabilityRegistry(() => undefined, new MemoryKvStore(), []),
  );
  let ready!: () => void;
  const booted = new Promise<void>((resolve) => (ready = resolve));
  worker = new WorkerProcess(
    {
      onReady: () => ready(),
      // Capability answers come late: the async call stays unsettled while the yield lands.
      onCapability: (w: WorkerProcess, m: Extract<WorkerMessage, { t: 'cap' }>) => {
        setTimeout(
          () => w.send({ t: 'capres', key: m.key, req: m.req, ok: true, text: '', code: '' }),
          BUDGET_MS / 2,
        );
      },
      onLost: () => undefined,
      onLingering: () => undefined,
      onReleased: () => undefined,
      onStuck: () => undefined,
      onGone: () => undefined,
    },
    undefined,
  );
  await booted;
  tenantKey = worker.tenantKey('acme');
  const loaded = await worker.request(
    'acme',
    (id): HostMessage => ({
      t: 'load',
      id,
      key: KEY,
      tenantKey,
      memoryMb: 32,
      budgetMs: BUDGET_MS,
      filename: checked.filename,
      entry: 'C',
      source: SOURCE,
      sourceSha256: checked.sourceSha256,
      meta: checked.meta,
      artifactNames: checked.artifactNames,
      artifactBytes: checked.artifactBytes,
    }),
    10_000,
  );
  expect(loaded.kind).toBe('value');
});
afterAll(() => worker.kill('close'));

function call(method: string, args: unknown[], pipelined: boolean): Promise<string> {
  return worker
    .request(
      'acme',
      (id): HostMessage => ({
        t: 'call',
        id,
        key: KEY,
        method,
        args: JSON.stringify(args),
        budgetMs: BUDGET_MS,
        deadlineMs: 10_000,
        pipelined,
      }),
      30_000,
      pipelined ? KEY : undefined,
    )
    .then((answer: Answer) => (answer.kind === 'failed' ? answer.code : 'ran'));
}

describe('when a yield reaches the worker (layer: sandbox worker; YIELDED)', () => {
  it("keeps a turn's first call, sent in the same write, and gives back the pipelined one", async () => {
    const first = call('count', [], false);
    const behind = call('count', [], true);
    worker.send({ t: 'yield', tenantKey });
    expect(await Promise.all([first, behind])).toEqual(['ran', YIELDED]);
    // The next turn starts afresh: its first call clears the yield.
    expect(await Promise.all([call('count', [], false), call('count', [], true)])).toEqual(['ran', 'ran']);
  });

  it('gives back the calls queued behind an async call, which would otherwise run after it', async () => {
    const head = call('aspin', [BUDGET_MS / 5], false);
    const behind = Array.from({ length: 4 }, () => call('spin', [BUDGET_MS / 10], true));
    // The yield lands while the async call still runs its synchronous part: the calls behind it
    // reach the isolate after the yield, with the async call not settled yet.
    await new Promise((resolve) => setTimeout(resolve, BUDGET_MS / 25));
    worker.send({ t: 'yield', tenantKey });
    expect(await Promise.all([head, ...behind])).toEqual(['ran', YIELDED, YIELDED, YIELDED, YIELDED]);
  });
});
