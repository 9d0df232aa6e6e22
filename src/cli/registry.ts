/**
 * The table of `sealbox` commands. Each command lives in src/cli/commands/<name>.ts; add it here.
 */
import type { Command } from './context.ts';
import { checkCommand } from './commands/check.ts';
import { diffCommand } from './commands/diff.ts';
import { packCommand } from './commands/pack.ts';
import { policySuggestCommand } from './commands/policy-suggest.ts';
import { policyValidateCommand } from './commands/policy-validate.ts';

/** Every command, in the order `sealbox --help` lists them. */
export const COMMANDS: readonly Command[] = [
  packCommand,
  diffCommand,
  checkCommand,
  policyValidateCommand,
  policySuggestCommand,
];
