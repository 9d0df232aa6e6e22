import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';

// Defends against a silent wrong-runtime run: someone calling ./node_modules/.bin/vitest from a
// shell whose `node` is the system Node 20 gets confusing failures (isolated-vm 7 needs >= 24).
const major = Number(process.versions.node.split('.')[0]);
if (major < 24) {
  throw new Error(
    `sealbox tests need Node >= 24, this is Node ${process.versions.node}. ` +
      'Run them with `npm test` (npm puts the pinned Node 26 from node_modules/.bin first in PATH).',
  );
}

export default defineConfig({
  // Components under test/fixtures and examples/ import { Component } from 'sealbox': point it at src.
  resolve: { alias: { sealbox: fileURLToPath(new URL('./src/index.ts', import.meta.url)) } },
  test: {
    include: ['test/**/*.test.ts'],
    setupFiles: ['test/setup/fast-check.ts'],
    // A real PostgreSQL for the store tests (or SEALBOX_TEST_PG_URL).
    globalSetup: ['test/setup/postgres.ts'],
    // isolated-vm needs --no-node-snapshot on Node >= 20; the threads pool rejects execArgv.
    pool: 'forks',
    execArgv: ['--no-node-snapshot', '--disable-warning=ExperimentalWarning'],
    // The JSON report is what .ci/run counts to print its `N passed, N failed` line.
    reporters: ['default', 'json'],
    outputFile: { json: 'test-results/vitest.json' },
    testTimeout: 30_000,
    hookTimeout: 30_000,
  },
});
