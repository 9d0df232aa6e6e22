/**
 * The comparison suite (issue 7): the same workloads through sealbox (full pipeline, and warm),
 * raw isolated-vm in-process (the floor), node:vm (no boundary, reference), quickjs-emscripten
 * (WebAssembly sandbox) and SES (lockdown + Compartment, in its own child process), in one run,
 * with every target computed as a ratio of figures from this same run.
 */
import * as ed from '@noble/ed25519';
import { nativeSha512 } from '../src/trust/ed25519.ts';
import { median, timeRuns } from './harness.ts';
import type { BenchOptions, BenchRatio, BenchReport, BenchRow } from './harness.ts';
import type { Engine, EngineName, SealboxExtras } from './peers/engine.ts';
import { createEngine, loadSealboxModule } from './peers/factory.ts';
import { FULL_SIZES, QUICK_SIZES, measureCompute, measureEngine, measureWarm } from './peers/measure.ts';
import type { EngineFigures, MemoryFigures, Sizes } from './peers/measure.ts';
import { runChild } from './peers/run-child.ts';
import { coldComponentSource } from './workloads/cold-component.ts';

/** Engines measured in this process (SES runs in a child: lockdown freezes its realm). */
const IN_PROCESS: readonly EngineName[] = ['sealbox', 'ivm-raw', 'node-vm', 'quickjs'];
const ALL: readonly EngineName[] = ['sealbox', 'ivm-raw', 'node-vm', 'quickjs', 'ses'];

/** Everything one comparison run measured, before it is flattened into a report. */
export interface Comparison {
  readonly sizes: Sizes;
  readonly timing: readonly EngineFigures[];
  readonly memory: readonly MemoryFigures[];
  /** sealbox-only figures (warm load, stage breakdown), when sealbox ran */
  readonly sealbox?: SealboxExtras;
  /** raw @noble/ed25519 verify of a message the size of the cold envelope's payload, median ms */
  readonly rawVerifyMs: number;
  /** engines that could not be measured, and why */
  readonly notes: readonly string[];
}

function message(error: unknown): string {
  return error instanceof Error ? error.message.split('\n')[0]!.slice(0, 300) : String(error);
}

async function rawVerifyMs(payloadBytes: number, runs: number): Promise<number> {
  ed.hashes.sha512 = nativeSha512;
  const secret = ed.utils.randomSecretKey();
  const publicKey = ed.getPublicKey(secret);
  const payload = new Uint8Array(payloadBytes).fill(97);
  const signature = ed.sign(payload, secret);
  // Policy: strict verification, as sealbox does (ZIP-215 would accept small-order keys).
  const times = await timeRuns(() => ed.verify(signature, payload, publicKey, { zip215: false }), runs, 5);
  return median(times);
}

/**
 * Runs the comparison: timing in this process (SES in a child), memory in one child per engine.
 * Engines that fail are skipped with a note, never silently.
 */
export async function runComparison(
  options: BenchOptions & { readonly engines?: readonly EngineName[] },
): Promise<Comparison> {
  const sizes = options.quick ? QUICK_SIZES : FULL_SIZES;
  const wanted = options.engines ?? ALL;
  const timing: EngineFigures[] = [];
  const memory: MemoryFigures[] = [];
  const notes: string[] = [];
  let sealbox: SealboxExtras | undefined;

  // Every in-process engine stays open until the interleaved warm-call and compute rounds are done.
  const engines: Engine[] = [];
  try {
    for (const name of IN_PROCESS.filter((engine) => wanted.includes(engine))) {
      let engine: Engine | undefined;
      try {
        engine = await createEngine(name, { quick: options.quick });
        timing.push(await measureEngine(engine, sizes, { compute: false, warm: false }));
        if (name === 'sealbox')
          sealbox = await (await loadSealboxModule()).measureSealboxExtras(engine, sizes);
        engines.push(engine);
      } catch (error) {
        notes.push(`${name}: timing not measured: ${message(error)}`);
        await engine?.close();
      }
    }
    try {
      const warm = await measureWarm(engines, sizes);
      for (const figures of timing) Object.assign(figures, warm.get(figures.engine));
    } catch (error) {
      notes.push(`warm calls not measured: ${message(error)}`);
    }
    try {
      const compute = await measureCompute(engines, sizes);
      for (const figures of timing) Object.assign(figures, compute.get(figures.engine));
    } catch (error) {
      notes.push(`compute not measured: ${message(error)}`);
    }
  } finally {
    for (const engine of engines) await engine.close();
  }
  if (wanted.includes('ses')) {
    try {
      timing.push(await runChild<EngineFigures>('ses', 'timing', options.quick));
    } catch (error) {
      notes.push(`ses: timing not measured: ${message(error)}`);
    }
  }
  for (const name of wanted) {
    try {
      memory.push(await runChild<MemoryFigures>(name, 'memory', options.quick));
    } catch (error) {
      notes.push(`${name}: memory not measured: ${message(error)}`);
    }
  }
  const verifyMs = await rawVerifyMs(
    coldComponentSource(sizes.coldLines).length + 1024,
    options.quick ? 5 : 200,
  );
  return { sizes, timing, memory, ...(sealbox ? { sealbox } : {}), rawVerifyMs: verifyMs, notes };
}

function ratio(name: string, value: number, target: string, ok: (value: number) => boolean): BenchRatio {
  return { name, value: Math.round(value * 1000) / 1000, target, ok: Number.isFinite(value) && ok(value) };
}

/** Flattens a comparison into report rows (`workload/engine`) and the target ratios. */
export function toReport(comparison: Comparison): BenchReport {
  const { sizes } = comparison;
  const rows: BenchRow[] = [];
  for (const f of comparison.timing) {
    rows.push({ name: `cold-${sizes.coldLines}/${f.engine}`, medianMs: f.coldMs });
    rows.push({ name: `cold-${sizes.coldLinesLarge}/${f.engine}`, medianMs: f.coldLargeMs });
    rows.push({ name: `warm-call/${f.engine}`, opsPerSec: f.warmSeqOps, medianMs: f.warmSeqMedianMs });
    rows.push({ name: `pipelined/${f.engine}`, opsPerSec: f.pipelinedOps });
    rows.push({ name: `compute-bm25/${f.engine}`, medianMs: f.computeMs });
  }
  for (const m of comparison.memory) {
    rows.push({
      name: `memory/${m.engine}`,
      value: m.perComponentMb,
      unit: `MB/component (${m.count} tenants)`,
    });
    rows.push({ name: `cold-few-resident/${m.engine}`, medianMs: m.loadMsFirstTenth });
    rows.push({ name: `cold-${m.count}-resident/${m.engine}`, medianMs: m.loadMsLastTenth });
    if (m.engine === 'sealbox') {
      rows.push({
        name: 'memory-host-part/sealbox',
        value: m.hostPerComponentMb,
        unit: 'MB/component in the host process',
      });
    }
  }
  const floor = comparison.timing.find((f) => f.engine === 'ivm-raw');
  rows.push({
    name: 'ed25519-verify/noble',
    medianMs: comparison.rawVerifyMs,
    opsPerSec: 1000 / comparison.rawVerifyMs,
  });
  if (floor)
    rows.push({ name: 'cold-floor/ivm-raw+verify', medianMs: floor.coldMs + comparison.rawVerifyMs });
  const extras = comparison.sealbox;
  if (extras) {
    rows.push({ name: 'warm-load/sealbox', medianMs: extras.warmLoadMs });
    rows.push({ name: 'cold-stage-verify/sealbox', medianMs: extras.stages.verify });
    rows.push({ name: 'cold-stage-policy/sealbox', medianMs: extras.stages.policy });
    rows.push({ name: 'cold-stage-sandbox/sealbox', medianMs: extras.stages.sandbox });
  }

  const ratios: BenchRatio[] = [];
  const sealbox = comparison.timing.find((f) => f.engine === 'sealbox');
  const quickjs = comparison.timing.find((f) => f.engine === 'quickjs');
  if (sealbox && floor) {
    ratios.push(
      ratio(
        'compute: sealbox time / ivm-raw time',
        sealbox.computeMs / floor.computeMs,
        '<= 1.2',
        (v) => v <= 1.2,
      ),
    );
    ratios.push(
      ratio(
        'warm call: sealbox calls/s / ivm-raw calls/s',
        sealbox.warmSeqOps / floor.warmSeqOps,
        '>= 0.7',
        (v) => v >= 0.7,
      ),
    );
    ratios.push(
      ratio(
        'pipelined: sealbox calls/s / ivm-raw calls/s',
        sealbox.pipelinedOps / floor.pipelinedOps,
        '>= 0.7',
        (v) => v >= 0.7,
      ),
    );
    ratios.push(
      ratio(
        'cold load: sealbox / (ivm-raw cold + 1 raw verify)',
        sealbox.coldMs / (floor.coldMs + comparison.rawVerifyMs),
        '<= 1.5',
        (v) => v <= 1.5,
      ),
    );
  }
  if (sealbox && quickjs) {
    ratios.push(
      ratio(
        'compute: quickjs time / sealbox time',
        quickjs.computeMs / sealbox.computeMs,
        '>= 5',
        (v) => v >= 5,
      ),
    );
  }
  const sealboxMemory = comparison.memory.find((m) => m.engine === 'sealbox');
  if (sealboxMemory) {
    ratios.push(
      ratio('memory: sealbox MB per resident component', sealboxMemory.perComponentMb, '<= 2', (v) => v <= 2),
    );
  }
  if (extras) {
    ratios.push(ratio('warm load: sealbox median ms', extras.warmLoadMs, '< 1', (v) => v < 1));
    // Where a cold load's time goes: each stage's median as a share of the floor of this run.
    if (floor) {
      const floorMs = floor.coldMs + comparison.rawVerifyMs;
      for (const stage of ['verify', 'policy', 'sandbox'] as const) {
        ratios.push({
          name: `cold load stage ${stage}: median ms / floor (report only)`,
          value: Math.round((extras.stages[stage] / floorMs) * 1000) / 1000,
          target: 'report',
          ok: true,
        });
      }
    }
  }

  const notes = [
    `sizes: cold ${sizes.coldLines}/${sizes.coldLinesLarge} lines, corpus ${sizes.corpusBytes} bytes, ` +
      `${sizes.pipelineBatch} calls per pipelined batch, ${sizes.memoryCount} tenants for memory`,
    ...comparison.notes,
  ];
  return { suite: 'compare', rows, ratios, notes };
}

/** The comparison suite's entry point for bench/run.ts. */
export async function bench(options: BenchOptions): Promise<BenchReport> {
  return toReport(await runComparison(options));
}
