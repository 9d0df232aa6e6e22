#!/usr/bin/env -S node --disable-warning=ExperimentalWarning
/**
 * The installed `sealbox` executable. It checks the Node version before importing anything: on an
 * older Node the imports themselves fail (node:sqlite, isolated-vm's ABI) with a stack trace that
 * says nothing useful, so this file uses no import that an old Node lacks.
 */
const major = Number(process.versions.node.split('.')[0]);
if (!(major >= 24)) {
  process.stderr.write(
    `sealbox: needs Node >= 24, this is Node ${process.versions.node}. ` +
      'In a checkout, run it through npm (`npx sealbox`, `npm run demo`), which uses the pinned Node 26.\n',
  );
  process.exitCode = 2;
} else {
  const { runCli } = await import('./main.ts');
  await runCli();
}
