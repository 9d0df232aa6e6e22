/**
 * Creates an engine by name. SES is only created inside its own child process (lockdown freezes
 * the realm); sealbox is imported lazily so the peers run even while it is not built.
 */
import { createIvmRawEngine } from './ivm-raw.ts';
import { createNodeVmEngine } from './node-vm.ts';
import { createQuickJsEngine } from './quickjs.ts';
import type { Engine, EngineName, SealboxExtras } from './engine.ts';
import type { Sizes } from './measure.ts';

const SEALBOX_MODULE = new URL('./sealbox.ts', import.meta.url).href;

/** What bench/peers/sealbox.ts exports. */
export interface SealboxModule {
  createSealboxEngine(options: FactoryOptions): Engine;
  measureSealboxExtras(engine: Engine, sizes: Sizes): Promise<SealboxExtras>;
}

/** Options every engine factory understands. */
export interface FactoryOptions {
  /** true for the smoke run: smaller pools where the engine has them */
  readonly quick: boolean;
}

/**
 * Creates the engine called `name`.
 * @throws Error for `ses` outside a child process, or when sealbox's loader is not available
 */
export async function createEngine(name: EngineName, options: FactoryOptions): Promise<Engine> {
  switch (name) {
    case 'ivm-raw':
      return createIvmRawEngine();
    case 'node-vm':
      return createNodeVmEngine();
    case 'quickjs':
      return createQuickJsEngine();
    case 'ses': {
      if (process.env['SEALBOX_BENCH_CHILD'] !== '1') {
        throw new Error('the SES engine locks its realm down: create it only in bench/peers/child.ts');
      }
      const { createSesEngine } = await import('./ses.ts');
      return createSesEngine();
    }
    case 'sealbox': {
      // Resolved at run time so the peers still run (and typecheck) while a sealbox layer is
      // missing from the tree: the failure becomes a note in the report, not a crash.
      return (await loadSealboxModule()).createSealboxEngine(options);
    }
  }
}

/**
 * Imports bench/peers/sealbox.ts at run time.
 * @throws Error when a sealbox layer it needs is not in the tree yet
 */
export async function loadSealboxModule(): Promise<SealboxModule> {
  return (await import(SEALBOX_MODULE)) as SealboxModule;
}
