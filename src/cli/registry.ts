/**
 * The table of `sealbox` commands. Each command lives in src/cli/commands/<name>.ts; add it here.
 */
import type { Command } from './context.ts';

/** Every command, in the order `sealbox --help` lists them. */
export const COMMANDS: readonly Command[] = [];
