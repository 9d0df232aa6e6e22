/** `sealbox demo`, the README's main job, run as a separate process the way `npm run demo` runs it. */
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const MAIN = fileURLToPath(new URL('../../src/cli/main.ts', import.meta.url));

describe('when the demo runs', () => {
  it('loads and calls a component, then prints the three refusals with their reasons', () => {
    const run = spawnSync(process.execPath, ['--disable-warning=ExperimentalWarning', MAIN, 'demo'], {
      encoding: 'utf8',
      timeout: 60_000,
    });
    expect(run.stderr).toBe('');
    expect(run.status).toBe(0);
    expect(run.stdout).toContain('loaded as acme');
    expect(run.stdout).toMatch(/tampered envelope[\s\S]*ERR_SIGNATURE_INVALID/);
    expect(run.stdout).toMatch(/refused by policy[\s\S]*ERR_POLICY_VIOLATION[\s\S]*line \d+:\d+/);
    expect(run.stdout).toMatch(/stopped by the sandbox[\s\S]*ERR_TIMEOUT/);
    expect(run.stdout).toMatch(/globex completed [1-9]\d* calls/);
  });
});
