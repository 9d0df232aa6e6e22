/**
 * How a sandbox worker process is started: the executable, its flags and its arguments, built in
 * one place so they can be reviewed (and wrapped, e.g. by an OS jail) on their own.
 *
 * Besides --no-node-snapshot (isolated-vm needs it), the worker runs under Node's permission
 * model: it may read only its own code and isolated-vm, and may not write files, spawn processes
 * or start threads.
 * Policy: --allow-addons is required to load isolated-vm; a native addon can bypass the permission
 * model, so this is defence in depth for an escape into the worker's JavaScript, not a hard wall.
 */
import { existsSync, realpathSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** A worker's command line: `command` followed by `args`. */
export interface WorkerCommand {
  readonly command: string;
  readonly args: readonly string[];
}

let cached: WorkerCommand | undefined;

/** The worker's entry file next to this module (`.ts` when run from source, `.js` from dist). */
export function workerEntryFile(): string {
  return fileURLToPath(
    new URL(`./worker-main${import.meta.url.endsWith('.ts') ? '.ts' : '.js'}`, import.meta.url),
  );
}

/** Real path of isolated-vm's entry file (the worker loads it by path, no resolution). */
export function isolatedVmEntry(): string {
  return realpathSync(createRequire(import.meta.url).resolve('isolated-vm'));
}

/**
 * The command line of every worker process: this Node binary, the permission flags, the worker's
 * entry file and isolated-vm's entry path (argv[2] of the worker).
 */
export function workerCommand(): WorkerCommand {
  if (cached !== undefined) return cached;
  const workerFile = workerEntryFile();
  cached = Object.freeze({
    command: process.execPath,
    args: Object.freeze([...workerExecArgv(workerFile), workerFile, isolatedVmEntry()]),
  });
  return cached;
}

/** The Node flags of a worker: no snapshot, permission model, reads of its own code only. */
export function workerExecArgv(workerFile: string): readonly string[] {
  const require = createRequire(import.meta.url);
  const ivmDir = dirname(realpathSync(require.resolve('isolated-vm/package.json')));
  const reads = [dirname(workerFile), ivmDir, '/etc/alpine-release'];
  try {
    reads.push(
      dirname(
        realpathSync(createRequire(join(ivmDir, 'package.json')).resolve('node-gyp-build/package.json')),
      ),
    );
  } catch {
    // isolated-vm without node-gyp-build: nothing more to allow
  }
  // The nearest package.json decides whether the worker's own files are ES modules.
  for (let dir = dirname(workerFile); ; dir = dirname(dir)) {
    if (existsSync(join(dir, 'package.json'))) {
      reads.push(join(dir, 'package.json'));
      break;
    }
    if (dirname(dir) === dir) break;
  }
  return Object.freeze([
    '--no-node-snapshot',
    '--disable-warning=ExperimentalWarning',
    '--disable-warning=SecurityWarning',
    // Defends against an escape into the worker reading host files, writing files or spawning.
    '--permission',
    '--allow-addons',
    ...reads.map((path) => `--allow-fs-read=${path}`),
  ]);
}
