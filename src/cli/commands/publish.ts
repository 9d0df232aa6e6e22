/** `sealbox publish`: put an envelope into a store's registry, where following nodes find it. */
import { openStore } from '../../store/open.ts';
import { publish } from '../../store/publish.ts';
import { flag, requireString } from '../args.ts';
import type { Command } from '../context.ts';
import { printJson, terminalSafe } from '../output.ts';
import { readEnvelopeFile } from './envelope-file.ts';

const usage = `Usage: sealbox publish ENVELOPE --store URL [--json]

Stores ENVELOPE in the registry of the store (postgres://… URL, or a node:sqlite file path), under
its statement's tenant, identifier and version. Publishing trusts nothing: every node that follows
the identifier verifies the envelope against its own keyring, rollback marks and policy before
serving it. Publishing the very same envelope twice is not an error.

Exit codes: 0 stored, 2 usage, 3 malformed envelope or store unusable.`;

/** The `sealbox publish` command (see `usage`). */
export const publishCommand: Command = {
  name: 'publish',
  summary: 'store an envelope in a registry (trusts nothing; nodes verify)',
  usage,
  options: { store: { type: 'string' } },
  positionals: { min: 1, max: 1 },
  async run(args, io) {
    const storeSpec = requireString(args, 'store', this);
    const envelope = readEnvelopeFile(io.cwd, args.positionals[0]!);
    const store = openStore(storeSpec, io.cwd);
    try {
      const result = await publish(envelope, { store });
      if (flag(args, 'json')) printJson(io, { published: result });
      else {
        io.stdout(
          `${result.stored ? 'published' : 'already published'} ${terminalSafe(result.tenant)}/${terminalSafe(result.identifier)} ` +
            `v${result.version} digest ${result.digest}\n`,
        );
      }
      return 0;
    } finally {
      await store.close();
    }
  },
};
