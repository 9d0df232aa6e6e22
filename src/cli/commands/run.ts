/** `sealbox run`: load an envelope on this machine as a tenant and call one method. */
import { mkdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { UsageError } from '../../errors.ts';
import type { JsonValue } from '../../envelope/types.ts';
import { createLoader, type DecisionEvent } from '../../loader.ts';
import { JAIL_MODES, type JailMode } from '../../sandbox/jail.ts';
import { SqliteKvStore } from '../../sandbox/kv-store.ts';
import { checkTenant, flag, optionalString, requireString } from '../args.ts';
import type { Command } from '../context.ts';
import { assertFileOrFolder, readFileBounded, readTextBounded } from '../files.ts';
import { jsonText, printJson } from '../output.ts';

const usage = `Usage: sealbox run ENVELOPE --keyring FILE --policy FILE|DIR --tenant T --call METHOD
                   [--args JSON_ARRAY] [--state DIR] [--jail auto|required|off] [--json]

Verifies ENVELOPE against the keyring, checks it against the policy as tenant T, loads it into a
sandbox and calls METHOD with the JSON array of arguments (default []). Prints the method's JSON
result on stdout. Decision events and the component's log lines go to stderr as JSON lines.
Rollback state and the kv capability persist in node:sqlite files under --state
(default ./.sealbox-state).
--jail runs the sandbox worker in an OS jail (bubblewrap): auto (default) when this machine can,
required (refuse to run without it), off. Whether it is jailed is printed on stderr as one JSON
line of type "jail".

Exit codes: 0 ok, 2 usage, 3 malformed input, 4 trust refused, 5 policy refused, 6 sandbox failure.`;

function parseArgsArray(text: string | undefined): JsonValue[] {
  if (text === undefined) return [];
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw new UsageError('ERR_USAGE', 'run: --args must be a JSON array, e.g. --args \'["hello"]\'');
  }
  if (!Array.isArray(value)) throw new UsageError('ERR_USAGE', 'run: --args must be a JSON array');
  return value as JsonValue[];
}

export const runCommand: Command = {
  name: 'run',
  summary: 'verify, check, load an envelope as a tenant and call one method',
  usage,
  options: {
    keyring: { type: 'string' },
    policy: { type: 'string' },
    tenant: { type: 'string' },
    call: { type: 'string' },
    args: { type: 'string' },
    state: { type: 'string' },
    jail: { type: 'string' },
  },
  positionals: { min: 1, max: 1 },
  async run(args, io) {
    const envelopePath = args.positionals[0]!;
    const keyringPath = resolve(io.cwd, requireString(args, 'keyring', runCommand));
    const policyPath = resolve(io.cwd, requireString(args, 'policy', runCommand));
    assertFileOrFolder(io.cwd, policyPath, '--policy');
    const tenant = checkTenant(requireString(args, 'tenant', runCommand), runCommand);
    const method = requireString(args, 'call', runCommand);
    const callArgs = parseArgsArray(optionalString(args, 'args'));
    const json = flag(args, 'json');
    const jail = optionalString(args, 'jail') ?? 'auto';
    if (!(JAIL_MODES as readonly string[]).includes(jail)) {
      throw new UsageError('ERR_USAGE', `run: --jail must be one of ${JAIL_MODES.join(', ')}`);
    }
    const stateDir = resolve(io.cwd, optionalString(args, 'state') ?? '.sealbox-state');
    try {
      mkdirSync(stateDir, { recursive: true, mode: 0o700 });
    } catch {
      throw new UsageError('ERR_IO', `run: cannot create the state folder ${stateDir}`);
    }
    const envelope = readFileBounded(io.cwd, envelopePath);
    // The keyring is read through the loader (which re-reads it when it changes); check it exists first
    // so a wrong path is a usage error, not a trust refusal.
    readTextBounded(io.cwd, keyringPath, 16 * 1024 * 1024);
    const kv = new SqliteKvStore(join(stateDir, 'kv.sqlite'));
    const loader = createLoader({
      keyring: keyringPath,
      policy: policyPath,
      rollback: join(stateDir, 'rollback.sqlite'),
      kv,
      workers: 1,
      jail: jail as JailMode,
      onJail: (status) => io.stderr(`${jsonText({ type: 'jail', ...status })}\n`),
      // Defends against terminal injection by the component: its log lines, like its result, are
      // printed through jsonText (C1 controls and bidi overrides shown as \uXXXX escapes).
      logger: (entry) => io.stderr(`${jsonText({ type: 'log', ...entry })}\n`),
      onDecision: (event: DecisionEvent) => io.stderr(`${jsonText({ type: 'decision', ...event })}\n`),
    });
    try {
      const component = await loader.load(envelope, { tenant });
      const result = await component.call(method, ...callArgs);
      if (json) printJson(io, { result });
      else io.stdout(`${jsonText(result, 2)}\n`);
      return 0;
    } finally {
      await loader.close();
      kv.close?.();
    }
  },
};
