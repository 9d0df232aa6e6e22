/** `sealbox check`: the AST policy check of an envelope's source (or a source file), for ops. */
import { resolve } from 'node:path';
import { UsageError } from '../../errors.ts';
import { CAPABILITY_NAME } from '../../names.ts';
import { checkSource } from '../../policy/check.ts';
import { loadPolicy } from '../../policy/load.ts';
import { checkTenant, flag, optionalString, requireString } from '../args.ts';
import type { Command } from '../context.ts';
import { assertFileOrFolder } from '../files.ts';
import { printJson, terminalSafe } from '../output.ts';
import { readCheckInput } from './check-input.ts';

const usage = `Usage: sealbox check ENVELOPE|SOURCE --policy FILE|DIR [--tenant T] [--requires CAP,CAP] [--json]

Checks the component source against the policy, before any isolate exists, and prints every
violation as "file:line:col rule message" with the offending line. For an envelope, the source,
tenant and requires come from its statement (signatures are NOT verified: use sealbox verify).
--tenant applies tenants/T.yaml from a policy folder; without it an envelope's own tenant is used,
and a plain source is checked against the base policy. --requires adds capability names.
SOURCE is script text as a statement carries it (no import/export): to check an author's module
file, pack it first (sealbox pack ... -o x.json) and check the envelope.

Exit codes: 0 no violation (or audit mode), 2 usage, 3 malformed input or policy, 5 refused.`;

function parseRequires(text: string | undefined): string[] {
  if (text === undefined) return [];
  const names = text
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '');
  for (const name of names) {
    if (!CAPABILITY_NAME.test(name)) {
      throw new UsageError(
        'ERR_USAGE',
        `check: --requires: ${JSON.stringify(name.slice(0, 64))} is not a capability name`,
      );
    }
  }
  return names;
}

export const checkCommand: Command = {
  name: 'check',
  summary: 'check a source or envelope against the AST policy (no signature check)',
  usage,
  options: {
    policy: { type: 'string' },
    tenant: { type: 'string' },
    requires: { type: 'string' },
  },
  positionals: { min: 1, max: 1 },
  async run(args, io) {
    const file = args.positionals[0]!;
    const policyPath = requireString(args, 'policy', checkCommand);
    const tenantFlag = optionalString(args, 'tenant');
    if (tenantFlag !== undefined) checkTenant(tenantFlag, checkCommand);
    assertFileOrFolder(io.cwd, policyPath, '--policy');
    const policies = loadPolicy(resolve(io.cwd, policyPath));
    const extra = parseRequires(optionalString(args, 'requires'));
    const input = readCheckInput(io.cwd, file);
    const tenant = tenantFlag ?? input.tenant;
    const policy = tenant === undefined ? policies.base() : policies.forTenant(tenant);
    const requires = [...new Set([...(input.requires ?? []), ...extra])];
    const result = checkSource(input.source, policy, { requires });
    if (flag(args, 'json')) {
      printJson(io, { file, kind: input.kind, ...result });
    } else {
      const lines: string[] = [];
      for (const v of result.violations) {
        lines.push(`${file}:${v.line}:${v.column} ${v.rule} ${v.message}`);
        if (v.snippet !== '') lines.push(`    ${v.snippet}`);
      }
      const who = tenant === undefined ? 'base policy' : `tenant ${tenant}`;
      const verdict = result.ok ? 'ok' : result.blocked ? 'REFUSED' : 'allowed (audit mode)';
      lines.push(
        `${file}: ${verdict}: ${result.violations.length} violation(s); ${who}, policy revision ${result.revision}, mode ${result.mode}`,
      );
      // Defends against terminal injection: messages quote names from unverified source text.
      (result.blocked ? io.stderr : io.stdout)(`${terminalSafe(lines.join('\n'))}\n`);
    }
    return result.blocked ? 5 : 0;
  },
};
