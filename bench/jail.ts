/**
 * What the OS jail (bubblewrap) costs, jailed vs unjailed in the same run, rounds interleaved so
 * machine noise hits both alike; figures are medians:
 * - worker cold start: a new supervisor's first component (spawn, bwrap's namespaces and mounts,
 *   Node start, isolated-vm, isolate, context, compile, construct, first call); report only;
 * - sequential awaited calls/s and pipelined calls/s on a warm worker; target: no difference
 *   (jailed/unjailed >= 0.9), a call never crosses bwrap (the socket pair goes straight to Node).
 * On a machine that cannot jail the suite reports why and measures nothing.
 */
import { DEFAULT_SANDBOX_LIMITS, type SandboxLimits } from '../src/sandbox/limits.ts';
import { detectJail, type Jail } from '../src/sandbox/jail.ts';
import { createSupervisor, type ComponentSpec } from '../src/sandbox/supervisor.ts';
import { median, type BenchOptions, type BenchReport, type BenchRow } from './harness.ts';

const ECHO_SOURCE = 'class Echo extends Component { echo(x) { return x; } }';
const ARG = { text: 'the quick brown fox', n: 42 };

const LIMITS: SandboxLimits = {
  ...DEFAULT_SANDBOX_LIMITS,
  memoryMb: 64,
  callTimeoutMs: 30_000,
  maxConcurrentCalls: 10_000,
  maxQueuedCalls: 1_000_000,
};

function spec(tenant: string): ComponentSpec {
  return {
    tenant,
    identifier: 'echo',
    version: 1,
    digest: '00'.repeat(32),
    entry: 'Echo',
    source: ECHO_SOURCE,
    params: {},
    artifacts: {},
    grants: { log: {} },
    limits: LIMITS,
  };
}

async function rate(n: number, fn: () => Promise<unknown>): Promise<number> {
  const start = performance.now();
  await fn();
  return (n / (performance.now() - start)) * 1000;
}

/** ms from a new supervisor to the first call's answer of its first component. */
async function coldStart(jail: Jail | undefined): Promise<number> {
  const supervisor = createSupervisor({ workers: 1, ...(jail === undefined ? {} : { jail }) });
  try {
    const start = performance.now();
    const echo = await supervisor.instantiate(spec('cold'));
    await echo.call('echo', ARG);
    return performance.now() - start;
  } finally {
    await supervisor.close();
  }
}

/** Runs the jail suite. */
export async function bench(options: BenchOptions): Promise<BenchReport> {
  const { jail, reason } = detectJail();
  if (jail === undefined) {
    return {
      suite: 'jail',
      rows: [],
      ratios: [],
      notes: [`NOT RUN: this machine cannot jail workers: ${reason}`],
    };
  }
  const coldRuns = options.quick ? 2 : 12;
  const rounds = options.quick ? 2 : 7;
  const seqCalls = options.quick ? 50 : 2000;
  const pipeCalls = options.quick ? 100 : 5000;

  const cold = { plain: [] as number[], jailed: [] as number[] };
  for (let i = 0; i < coldRuns; i++) {
    cold.plain.push(await coldStart(undefined));
    cold.jailed.push(await coldStart(jail));
  }

  // The transport is what is measured: the worker's admission bound must hold a whole batch.
  const plain = createSupervisor({ workers: 1, maxQueuedPerWorker: pipeCalls });
  const jailed = createSupervisor({ workers: 1, jail, maxQueuedPerWorker: pipeCalls });
  const seq = { plain: [] as number[], jailed: [] as number[] };
  const pipe = { plain: [] as number[], jailed: [] as number[] };
  try {
    const echoes = {
      plain: await plain.instantiate(spec('warm')),
      jailed: await jailed.instantiate(spec('warm')),
    };
    for (let i = 0; i < 200; i++) {
      await echoes.plain.call('echo', ARG);
      await echoes.jailed.call('echo', ARG);
    }
    for (let round = 0; round < rounds; round++) {
      for (const kind of ['plain', 'jailed'] as const) {
        const echo = echoes[kind];
        seq[kind].push(
          await rate(seqCalls, async () => {
            for (let i = 0; i < seqCalls; i++) await echo.call('echo', ARG);
          }),
        );
        pipe[kind].push(
          await rate(pipeCalls, () =>
            Promise.all(Array.from({ length: pipeCalls }, () => echo.call('echo', ARG))),
          ),
        );
      }
    }
  } finally {
    await Promise.all([plain.close(), jailed.close()]);
  }

  const m = {
    coldPlain: median(cold.plain),
    coldJailed: median(cold.jailed),
    seqPlain: median(seq.plain),
    seqJailed: median(seq.jailed),
    pipePlain: median(pipe.plain),
    pipeJailed: median(pipe.jailed),
  };
  const rows: BenchRow[] = [
    { name: 'worker cold start, unjailed', medianMs: m.coldPlain },
    { name: 'worker cold start, jailed', medianMs: m.coldJailed },
    { name: 'sequential calls, unjailed', opsPerSec: m.seqPlain },
    { name: 'sequential calls, jailed', opsPerSec: m.seqJailed },
    { name: 'pipelined calls, unjailed', opsPerSec: m.pipePlain },
    { name: 'pipelined calls, jailed', opsPerSec: m.pipeJailed },
  ];
  const seqRatio = m.seqJailed / m.seqPlain;
  const pipeRatio = m.pipeJailed / m.pipePlain;
  return {
    suite: 'jail',
    rows,
    ratios: [
      {
        name: 'cold start jailed / unjailed (report only)',
        value: m.coldJailed / m.coldPlain,
        target: 'report',
        ok: true,
      },
      {
        name: 'sequential calls/s jailed / unjailed',
        value: seqRatio,
        target: '>= 0.9',
        ok: seqRatio >= 0.9,
      },
      {
        name: 'pipelined calls/s jailed / unjailed',
        value: pipeRatio,
        target: '>= 0.9',
        ok: pipeRatio >= 0.9,
      },
    ],
    notes: [
      `jailed with ${jail.bwrap}${jail.spawnUid === undefined ? '' : `, bwrap started as uid ${jail.spawnUid}`}`,
      `cold start medians over ${coldRuns} runs each; call rates over ${rounds} interleaved rounds`,
    ],
  };
}
