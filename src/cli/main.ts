#!/usr/bin/env -S node --disable-warning=ExperimentalWarning
/**
 * The `sealbox` command: finds the sub-command, parses its flags, runs it, maps errors to the exit
 * codes of docs/architecture.md, "Exit codes" (0 ok, 1 bug, 2 usage, 3 malformed input, 4 trust, 5 policy, 6 sandbox).
 */
import { realpathSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { UsageError } from '../errors.ts';
import { parseCommandArgs } from './args.ts';
import type { CliIO, Command } from './context.ts';
import { reportError } from './output.ts';
import { COMMANDS } from './registry.ts';

function helpText(): string {
  const width = Math.max(...COMMANDS.map((c) => c.name.length), 8);
  const lines = COMMANDS.map((c) => `  ${c.name.padEnd(width)}  ${c.summary}`);
  return [
    'sealbox: ship component classes as signed envelopes; load them safely on multi-tenant nodes.',
    '',
    'Usage: sealbox <command> [options]      sealbox <command> --help',
    '',
    'Commands:',
    ...lines,
    '',
    'Exit codes: 0 ok, 1 internal bug, 2 usage, 3 malformed input, 4 trust refused,',
    '            5 policy refused, 6 sandbox/runtime failure.',
    '',
  ].join('\n');
}

/** Finds the longest command name that prefixes argv (`keyring add` before `keyring`). */
function findCommand(argv: readonly string[]): { command: Command; rest: readonly string[] } | undefined {
  let best: { command: Command; rest: readonly string[] } | undefined;
  for (const command of COMMANDS) {
    const words = command.name.split(' ');
    if (
      words.every((w, i) => argv[i] === w) &&
      (!best || words.length > best.command.name.split(' ').length)
    ) {
      best = { command, rest: argv.slice(words.length) };
    }
  }
  return best;
}

/** Runs the CLI on `argv` (without `node` and the script path); resolves to the exit code. */
export async function main(argv: readonly string[], io: CliIO): Promise<number> {
  const json = argv.includes('--json');
  try {
    if (argv.length === 0 || argv[0] === '--help' || argv[0] === '-h' || argv[0] === 'help') {
      io.stdout(helpText());
      return argv.length === 0 ? 2 : 0;
    }
    if (argv[0] === '--version' || argv[0] === '-v') {
      const { SEALBOX_VERSION } = await import('./version.ts');
      io.stdout(`${SEALBOX_VERSION}\n`);
      return 0;
    }
    const found = findCommand(argv);
    if (!found) {
      const group = COMMANDS.filter((c) => c.name.startsWith(`${argv[0]} `)).map((c) => c.name);
      const hint = group.length > 0 ? ` (did you mean: ${group.join(', ')}?)` : '';
      throw new UsageError(
        'ERR_USAGE',
        `unknown command "${argv.slice(0, 2).join(' ')}"${hint}; see sealbox --help`,
      );
    }
    const args = parseCommandArgs(found.command, found.rest);
    if (args.values['help']) {
      io.stdout(`${found.command.usage}\n`);
      return 0;
    }
    return await found.command.run(args, io);
  } catch (error) {
    return reportError(io, error, json);
  }
}

function isEntryPoint(): boolean {
  const argv1 = process.argv[1];
  if (argv1 === undefined) return false;
  try {
    return realpathSync(argv1) === realpathSync(fileURLToPath(import.meta.url));
  } catch {
    return false;
  }
}

/** Runs the CLI on this process's argv and sets the exit code (the `sealbox` executable). */
export async function runCli(): Promise<void> {
  // A reader that stops early (`sealbox inspect x | head -1`) closes the pipe: later writes fail with
  // EPIPE, which is not a sealbox bug; the command finishes and exits with its own code.
  for (const stream of [process.stdout, process.stderr]) {
    stream.on('error', (error: NodeJS.ErrnoException) => {
      if (error.code !== 'EPIPE') throw error;
    });
  }
  const io: CliIO = {
    stdout: (text) => process.stdout.write(text),
    stderr: (text) => process.stderr.write(text),
    cwd: process.cwd(),
  };
  process.exitCode = await main(process.argv.slice(2), io);
}

if (isEntryPoint()) await runCli();
