/** `sealbox policy suggest`: the least policy a source or envelope needs, as YAML ops can paste. */
import { suggestPackages } from '../../policy/packages.ts';
import { suggestPolicy } from '../../policy/suggest.ts';
import { flag } from '../args.ts';
import type { Command } from '../context.ts';
import { printJson } from '../output.ts';
import { readCheckInput } from './check-input.ts';

const usage = `Usage: sealbox policy suggest SOURCE|ENVELOPE [--json]

Prints the least policy the component needs: the syntax node types it uses, the free globals
(down to members such as Object.keys) and the capabilities it calls through this.host (plus an
envelope's requires), as a YAML snippet to paste into a policy or tenant overlay.
Signatures are not verified.

Exit codes: 0 ok, 2 usage, 3 malformed input, 5 the source does not parse.`;

export const policySuggestCommand: Command = {
  name: 'policy suggest',
  summary: 'print the least policy (syntax, globals, capabilities) a source needs',
  usage,
  options: {},
  positionals: { min: 1, max: 1 },
  async run(args, io) {
    const file = args.positionals[0]!;
    const input = readCheckInput(io.cwd, file);
    const suggestion = suggestPolicy(input.source);
    const requires = input.requires ?? [];
    const missing = requires.filter((r) => !suggestion.capabilities.includes(r));
    let yaml = suggestion.yaml;
    if (missing.length > 0) {
      yaml += `# The statement also requires: ${missing.join(', ')}\n`;
    }
    yaml += suggestPackages(input.dependencies ?? []);
    if (flag(args, 'json')) {
      printJson(io, {
        file,
        kind: input.kind,
        syntax: suggestion.syntax,
        globals: suggestion.globals,
        unavailable: suggestion.unavailable,
        capabilities: [...new Set([...suggestion.capabilities, ...requires])].sort(),
        packages: (input.dependencies ?? []).map((d) => ({ name: d.name, versions: `^${d.version}` })),
        yaml,
      });
    } else {
      io.stdout(yaml);
    }
    return 0;
  },
};
