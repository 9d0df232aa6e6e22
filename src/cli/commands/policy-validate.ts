/** `sealbox policy validate`: load a policy file or folder exactly as a node would, and report. */
import { resolve } from 'node:path';
import { loadPolicy } from '../../policy/load.ts';
import { flag } from '../args.ts';
import type { Command } from '../context.ts';
import { assertFileOrFolder } from '../files.ts';
import { printJson } from '../output.ts';

const usage = `Usage: sealbox policy validate FILE|DIR [--json]

Loads a policy file, or a folder with default.yaml and tenants/<tenant>.yaml overlays, validates
every file against policies/policy.schema.json and checks that every overlay only narrows the base.
Errors name the file, the line and the field.

Exit codes: 0 valid, 2 usage, 3 invalid policy.`;

export const policyValidateCommand: Command = {
  name: 'policy validate',
  summary: 'validate a policy file or folder (schema, overlays only narrow)',
  usage,
  options: {},
  positionals: { min: 1, max: 1 },
  async run(args, io) {
    const path = args.positionals[0]!;
    assertFileOrFolder(io.cwd, path, 'policy');
    const set = loadPolicy(resolve(io.cwd, path));
    const base = set.base();
    if (flag(args, 'json')) {
      printJson(io, {
        ok: true,
        source: path,
        revision: set.revision,
        mode: base.mode,
        tenants: set.tenants,
      });
    } else {
      const tenants = set.tenants.length > 0 ? `; overlays: ${set.tenants.join(', ')}` : '';
      io.stdout(`${path}: valid (revision ${set.revision}, mode ${base.mode}${tenants})\n`);
    }
    return 0;
  },
};
