/**
 * `npm run demo` runs the built CLI from dist/ (built by `npm ci` through `prepare`), not the
 * TypeScript sources: this runs that exact script line, so a build that drops a file the CLI needs
 * at run time (the worker entry, the policies, a .js import that only resolves as .ts) fails here.
 * dist/ is rebuilt first when any source is newer than it, so the test is true on a fresh clone
 * after `npm ci` and after editing src/ alike.
 */
import { spawnSync } from 'node:child_process';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const BIN = join(ROOT, 'dist/cli/bin.js');

function newestSource(dir: string): number {
  let newest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const full = join(dir, entry.name);
    newest = Math.max(newest, entry.isDirectory() ? newestSource(full) : statSync(full).mtimeMs);
  }
  return newest;
}

function builtAt(): number {
  try {
    return statSync(BIN).mtimeMs;
  } catch {
    return -1;
  }
}

/** package.json's `demo` script, with `node` replaced by the Node running the tests. */
function demoCommand(): string[] {
  const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as {
    scripts: Record<string, string>;
  };
  const words = pkg.scripts['demo']!.split(/\s+/);
  expect(words[0]).toBe('node');
  expect(words).toContain('dist/cli/bin.js');
  return words.slice(1);
}

beforeAll(() => {
  if (builtAt() >= newestSource(join(ROOT, 'src'))) return;
  // The same command as `npm run build` / `prepare`.
  const tsc = join(ROOT, 'node_modules/typescript/bin/tsc');
  const build = spawnSync(process.execPath, [tsc, '-p', 'tsconfig.build.json'], {
    cwd: ROOT,
    encoding: 'utf8',
  });
  expect(build.status, build.stdout + build.stderr).toBe(0);
}, 300_000);

describe('when `npm run demo` runs the built CLI from dist/', () => {
  it('loads and calls a component, then prints the three refusals with their reasons', () => {
    expect(builtAt()).toBeGreaterThan(0);
    const run = spawnSync(process.execPath, demoCommand(), { cwd: ROOT, encoding: 'utf8', timeout: 120_000 });
    expect(run.stderr).toBe('');
    expect(run.status).toBe(0);
    expect(run.stdout).toContain('loaded as acme');
    expect(run.stdout).toMatch(/tampered envelope[\s\S]*ERR_SIGNATURE_INVALID/);
    expect(run.stdout).toMatch(/refused by policy[\s\S]*ERR_POLICY_VIOLATION[\s\S]*line \d+:\d+/);
    expect(run.stdout).toMatch(/stopped by the sandbox[\s\S]*ERR_TIMEOUT/);
    expect(run.stdout).toMatch(/globex completed [1-9]\d* calls/);
  }, 180_000);
});
