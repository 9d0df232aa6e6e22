/** `sealbox registry ls`: what a store's registry holds, newest first. */
import { listPublished } from '../../store/publish.ts';
import { openStore } from '../../store/open.ts';
import { checkTenant, flag, optionalString, requireString } from '../args.ts';
import type { Command } from '../context.ts';
import { printJson, terminalSafe } from '../output.ts';

const usage = `Usage: sealbox registry ls --store URL [--tenant T] [--json]

Lists the envelopes published in the store (postgres://… URL, or a node:sqlite file path), newest
first, at most 1000: tenant, identifier, version, statement digest, publish time. The labels are read
from unverified statements: a listed envelope is not necessarily one any node will serve.

Exit codes: 0 ok, 2 usage, 3 store unusable.`;

/** The `sealbox registry ls` command (see `usage`). */
export const registryLsCommand: Command = {
  name: 'registry ls',
  summary: 'list the envelopes published in a store',
  usage,
  options: { store: { type: 'string' }, tenant: { type: 'string' } },
  positionals: { min: 0, max: 0 },
  async run(args, io) {
    const storeSpec = requireString(args, 'store', this);
    const tenantFlag = optionalString(args, 'tenant');
    const tenant = tenantFlag === undefined ? undefined : checkTenant(tenantFlag, this);
    const store = openStore(storeSpec, io.cwd);
    try {
      const rows = await listPublished(store, tenant === undefined ? {} : { tenant });
      if (flag(args, 'json')) {
        printJson(io, { entries: rows });
        return 0;
      }
      if (rows.length === 0) io.stdout('nothing published\n');
      for (const row of rows) {
        // Defends against terminal injection: labels come from the store, which anyone may write.
        io.stdout(
          `${terminalSafe(row.tenant)}/${terminalSafe(row.identifier)}  v${row.version}  ` +
            `${terminalSafe(row.digest.slice(0, 16))}  ${terminalSafe(row.publishedAt)}\n`,
        );
      }
      return 0;
    } finally {
      await store.close();
    }
  },
};
