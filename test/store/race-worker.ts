/**
 * Child process of the two-process rollback race: opens the PostgreSQL store given on argv, says
 * `ready`, waits for `go` on stdin, then records version 1 of identifiers race-0 … race-(N-1) with
 * its own digest, 16 at a time, and prints the indexes it won as JSON.
 */
import { PostgresStore } from '../../src/store/postgres.ts';

const [url, tenant, digest, countText] = process.argv.slice(2);
const count = Number(countText);
const store = new PostgresStore(url!, { poolSize: 16 });
await store.ready();
process.stdout.write('ready\n');
await new Promise<void>((resolve) => process.stdin.once('data', () => resolve()));
// An open stdin would keep this process alive after its work.
process.stdin.destroy();
const won: number[] = [];
const other: string[] = [];
let next = 0;
async function lane(): Promise<void> {
  while (next < count) {
    const i = next++;
    try {
      await store.rollback.record(tenant!, `race-${i}`, 1, digest!);
      won.push(i);
    } catch (error) {
      const code = (error as { code?: string }).code ?? 'untyped';
      if (code !== 'ERR_ROLLBACK_DIGEST') other.push(code);
    }
  }
}
await Promise.all(Array.from({ length: 16 }, () => lane()));
await store.close();
process.stdout.write(`${JSON.stringify({ won, other })}\n`);
