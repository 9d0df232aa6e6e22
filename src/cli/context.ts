/**
 * What every CLI command receives, and what it is: a name, a usage line and a `run`.
 * Commands are thin: they parse flags, call the library, and print.
 */
import type { ParseArgsOptionsConfig } from 'node:util';

/** Where a command writes. Tests pass their own to capture output. */
export interface CliIO {
  readonly stdout: (text: string) => void;
  readonly stderr: (text: string) => void;
  /** Working directory for relative paths. */
  readonly cwd: string;
}

/** Parsed flags and positionals of one command line. */
export interface ParsedArgs {
  readonly values: Readonly<Record<string, string | boolean | (string | boolean)[] | undefined>>;
  readonly positionals: readonly string[];
}

/** One `sealbox` sub-command (or sub-sub-command such as `keyring add`). */
export interface Command {
  /** Words after `sealbox`, e.g. `verify` or `keyring add`. */
  readonly name: string;
  /** One line for `sealbox --help`. */
  readonly summary: string;
  /** Full usage text for `sealbox NAME --help`. */
  readonly usage: string;
  /** Flags, in node:util parseArgs form. `--json` and `--help` are added for every command. */
  readonly options: ParseArgsOptionsConfig;
  /** How many positionals the command takes. */
  readonly positionals: { readonly min: number; readonly max: number };
  /** Runs the command; returns the exit code (0 unless it reports a refusal itself). */
  run(args: ParsedArgs, io: CliIO): Promise<number>;
}
