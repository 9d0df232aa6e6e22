/**
 * Child-process entry for measurements that must not share a process with the others:
 * `child.ts --engine NAME --mode timing|memory [--quick]`. SES runs here because lockdown
 * freezes the realm; every engine's memory figure is taken here so RSS deltas are not mixed.
 * Prints one line `BENCH_RESULT <json>` on stdout.
 */
import { ENGINE_NAMES } from './engine.ts';
import type { EngineName } from './engine.ts';
import { createEngine } from './factory.ts';
import { FULL_SIZES, QUICK_SIZES, measureEngine, measureMemory } from './measure.ts';

/** Marker of the result line on the child's stdout. */
export const RESULT_MARKER = 'BENCH_RESULT ';

async function main(argv: readonly string[]): Promise<void> {
  const engineName = argv[argv.indexOf('--engine') + 1];
  const mode = argv[argv.indexOf('--mode') + 1];
  const quick = argv.includes('--quick');
  if (!ENGINE_NAMES.includes(engineName as EngineName)) throw new Error(`unknown engine ${engineName}`);
  if (mode !== 'timing' && mode !== 'memory') throw new Error(`unknown mode ${mode}`);
  const sizes = quick ? QUICK_SIZES : FULL_SIZES;
  const engine = await createEngine(engineName as EngineName, { quick });
  try {
    const result =
      mode === 'timing' ? await measureEngine(engine, sizes) : await measureMemory(engine, sizes.memoryCount);
    process.stdout.write(`${RESULT_MARKER}${JSON.stringify(result)}\n`);
  } finally {
    await engine.close();
  }
}

main(process.argv.slice(2)).then(
  () => process.exit(0),
  (error: unknown) => {
    process.stderr.write(
      `bench child failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`,
    );
    process.exit(1);
  },
);
