/**
 * The off-thread policy check (src/policy/check-pool.ts): same verdicts as checkSource, a deadline
 * that fails closed, bounded and lazily started workers that never hold the process open.
 */
import { spawnSync } from 'node:child_process';
import { afterEach, describe, expect, it } from 'vitest';
import { PolicyError, SandboxError } from '../../src/errors.ts';
import { checkSource } from '../../src/policy/check.ts';
import { CheckPool } from '../../src/policy/check-pool.ts';
import { defaultPolicy } from './support.ts';

const pools: CheckPool[] = [];
function pool(options?: ConstructorParameters<typeof CheckPool>[0]): CheckPool {
  const p = new CheckPool(options);
  pools.push(p);
  return p;
}

afterEach(async () => {
  await Promise.all(pools.splice(0).map((p) => p.close()));
});

const clean = 'class A extends Component { run(x) { return Math.max(x, 1); } }';
const dirty = "class A extends Component { run(o) { return o['con' + 'structor'] ?? process.env; } }";
/** About 1.3 MB of declarations: seconds of checking on any machine, far more than 1 ms. */
const slow = `class A extends Component {}\n${Array.from({ length: 60_000 }, (_, i) => `let v${i} = [${i}];`).join('\n')}`;

describe('when a source is checked on the pool', () => {
  it('returns exactly what checkSource returns, frozen', async () => {
    const p = pool();
    for (const source of [clean, dirty, 'let x = ;', '']) {
      const off = await p.check(source, defaultPolicy, { requires: ['log', 'nope'] });
      const on = checkSource(source, defaultPolicy, { requires: ['log', 'nope'] });
      expect(off).toEqual(on);
      expect(Object.isFrozen(off)).toBe(true);
      expect(Object.isFrozen(off.violations)).toBe(true);
      expect(off.violations.every((v) => Object.isFrozen(v))).toBe(true);
    }
  });

  it('refuses a source over the byte limit without a worker', async () => {
    const p = pool();
    const tiny = { ...defaultPolicy, source: { ...defaultPolicy.source, maxBytes: 10 } };
    const result = await p.check(clean, tiny);
    expect(result.violations.map((v) => v.rule)).toEqual(['source.too-large']);
  });

  it('runs many checks at once through a bounded number of workers, each with its own verdict', async () => {
    const p = pool({ size: 2 });
    const sources = Array.from({ length: 12 }, (_, i) => (i % 2 === 0 ? clean : dirty));
    const results = await Promise.all(sources.map((s) => p.check(s, defaultPolicy)));
    expect(results.map((r) => r.ok)).toEqual(sources.map((s) => s === clean));
  });
});

describe('when a check passes its deadline', () => {
  it('terminates it and fails closed with ERR_POLICY_VIOLATION and rule source.budget, in any mode', async () => {
    const p = pool({ size: 1, deadlineMs: 1 });
    for (const policy of [defaultPolicy, { ...defaultPolicy, mode: 'audit' as const }]) {
      const error = await p.check(slow, policy).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(PolicyError);
      expect((error as PolicyError).code).toBe('ERR_POLICY_VIOLATION');
      expect((error as PolicyError).violations.map((v) => v.rule)).toEqual(['source.budget']);
    }
  });

  it('keeps serving later checks on a fresh worker', async () => {
    const p = pool({ size: 1, deadlineMs: 1 });
    await expect(p.check(slow, defaultPolicy)).rejects.toBeInstanceOf(PolicyError);
    const roomy = pool({ size: 1 });
    expect((await roomy.check(clean, defaultPolicy)).ok).toBe(true);
  });
});

describe('when the pool is closed', () => {
  it('rejects pending and later checks with ERR_SANDBOX_CLOSED', async () => {
    const p = pool({ size: 1 });
    const settled = Promise.allSettled([p.check(slow, defaultPolicy), p.check(clean, defaultPolicy)]);
    await p.close();
    for (const outcome of await settled) {
      expect(outcome.status).toBe('rejected');
      const reason = (outcome as PromiseRejectedResult).reason as SandboxError;
      expect(reason).toBeInstanceOf(SandboxError);
      expect(reason.code).toBe('ERR_SANDBOX_CLOSED');
    }
    await expect(p.check(clean, defaultPolicy)).rejects.toMatchObject({ code: 'ERR_SANDBOX_CLOSED' });
  });

  it('never holds a process open: a script that checks and does not close still exits', () => {
    const poolUrl = new URL('../../src/policy/check-pool.ts', import.meta.url).href;
    const loadUrl = new URL('../../src/policy/load.ts', import.meta.url).href;
    const script = `
      import { CheckPool } from ${JSON.stringify(poolUrl)};
      import { loadPolicy } from ${JSON.stringify(loadUrl)};
      const result = await new CheckPool().check(${JSON.stringify(clean)}, loadPolicy().forTenant('acme'));
      console.log(result.ok ? 'checked' : 'refused');
    `;
    const run = spawnSync(
      process.execPath,
      ['--disable-warning=ExperimentalWarning', '--input-type=module', '-e', script],
      { encoding: 'utf8', timeout: 60_000 },
    );
    expect(run.stdout.trim()).toBe('checked');
    // Exited by itself (a hung process is killed by the timeout: status null).
    expect(run.status).toBe(0);
  });
});

describe('when a new check thread warms itself on the built-in sample after its first job', () => {
  it('answers every job that arrives meanwhile with exactly the verdict checkSource gives', async () => {
    const p = pool({ size: 1 });
    await p.check(clean, defaultPolicy);
    // The thread is now checking sample pieces between jobs; these arrive while it does.
    const sources = Array.from({ length: 30 }, (_, i) =>
      i % 2 === 0 ? `${clean}\n// ${i}` : `${dirty}\n// ${i}`,
    );
    const results = await Promise.all(sources.map((source) => p.check(source, defaultPolicy)));
    results.forEach((result, i) => expect(result).toEqual(checkSource(sources[i]!, defaultPolicy)));
    expect(results.filter((r) => r.violations.length > 0)).toHaveLength(15);
  });

  it('checks pieces that parse and use the common syntax (the sample is not dead weight)', async () => {
    const { WARM_SAMPLES } = await import('../../src/policy/warm-sample.ts');
    expect(WARM_SAMPLES.length).toBeGreaterThan(3);
    for (const piece of WARM_SAMPLES) {
      const result = checkSource(piece, defaultPolicy);
      expect(result.violations.map((v) => v.rule)).not.toContain('syntax.parse');
      expect(result.stats.nodes).toBeGreaterThan(30);
    }
  });
});
