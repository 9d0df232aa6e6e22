/**
 * The table of `sealbox` commands. Each command lives in src/cli/commands/<name>.ts; add it here.
 */
import type { Command } from './context.ts';
import { checkCommand } from './commands/check.ts';
import { demoCommand } from './commands/demo.ts';
import { diffCommand } from './commands/diff.ts';
import { inspectCommand } from './commands/inspect.ts';
import { keygenCommand } from './commands/keygen.ts';
import { keyringAddCommand } from './commands/keyring-add.ts';
import { keyringRevokeCommand } from './commands/keyring-revoke.ts';
import { packCommand } from './commands/pack.ts';
import { policySuggestCommand } from './commands/policy-suggest.ts';
import { policyValidateCommand } from './commands/policy-validate.ts';
import { publishCommand } from './commands/publish.ts';
import { registryLsCommand } from './commands/registry-ls.ts';
import { serveCommand } from './commands/serve.ts';
import { runCommand } from './commands/run.ts';
import { signCommand } from './commands/sign.ts';
import { verifyCommand } from './commands/verify.ts';

/** Every command, in the order `sealbox --help` lists them. */
export const COMMANDS: readonly Command[] = [
  keygenCommand,
  keyringAddCommand,
  keyringRevokeCommand,
  packCommand,
  signCommand,
  verifyCommand,
  inspectCommand,
  diffCommand,
  checkCommand,
  policyValidateCommand,
  policySuggestCommand,
  runCommand,
  publishCommand,
  registryLsCommand,
  serveCommand,
  demoCommand,
];
