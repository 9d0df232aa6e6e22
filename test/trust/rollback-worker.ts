/**
 * Child process for the two-process rollback test: opens the same SQLite file and accepts
 * (tenant, identifier, version, digest) given on argv; prints OK or the error code.
 */
import { SqliteRollbackStore } from '../../src/trust/rollback.ts';

const [path, tenant, identifier, version, digest, count] = process.argv.slice(2);
const store = new SqliteRollbackStore(path!);
const results: string[] = [];
for (let i = 0; i < Number(count ?? 1); i++) {
  try {
    store.accept(tenant!, identifier!, Number(version) + i, digest!);
    results.push('OK');
  } catch (error) {
    results.push((error as { code?: string }).code ?? 'untyped');
  }
}
store.close();
process.stdout.write(results.join(','));
