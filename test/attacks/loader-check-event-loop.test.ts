/**
 * Attack (issue 13 #3, issue 11 "checker scale"): a signed source built to make the AST check
 * slow (the concat fold bomb, 2 MB of declarations in one scope) stalls the node's event loop
 * for every tenant while `loader.load` checks it.
 * Layer that must stop it: the loader's off-thread check (src/policy/check-pool.ts): the check
 * runs on a worker thread with a deadline, so the main thread only verifies and waits.
 *
 * Measured: the longest event-loop block (the largest gap in a 1 ms timer chain) while the hostile
 * sources load next to a normal load for another tenant, against a baseline taken in the same
 * run: the same envelopes refused by size before any parse, with the same sources checked on a
 * separate pool meanwhile (an equally busy machine). Before the fix the check ran inline:
 * seconds of block against tens of milliseconds.
 */
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PolicyError } from '../../src/errors.ts';
import { createLoader, type Loader } from '../../src/loader.ts';
import { evil } from './pipeline-support.ts';
import { makeWorld, type World } from '../e2e/helpers.ts';
import { createHash } from 'node:crypto';
import { pack } from '../../src/component/pack.ts';
import type { Statement } from '../../src/envelope/types.ts';
import { signEnvelope } from '../../src/trust/sign.ts';
import { verifyEnvelope } from '../../src/trust/verify.ts';
import { envelopeLimitsFor } from '../../src/envelope/limits.ts';
import { CheckPool } from '../../src/policy/check-pool.ts';
import { POLICIES_DIR } from '../policy/support.ts';

let world: World;
let loader: Loader;
let template: Statement;
let counter = 0;

/** A signed envelope as JSON text (text input: a verify-cache hit costs a hash, nothing more). */
function envelope(source: string, tenant: string): string {
  const statement: Statement = {
    ...template,
    tenant,
    identifier: `slow-${++counter}`,
    entry: 'Evil',
    source,
    sourceSha256: createHash('sha256').update(source, 'utf8').digest('hex'),
    params: {},
    requires: [],
  };
  return JSON.stringify(signEnvelope(statement, world.key));
}

beforeAll(() => {
  world = makeWorld(['acme', 'globex', 'sized']);
  // A policy folder: the shipped default, plus tenant `sized` whose overlay refuses any source
  // over 1 byte before parsing (the baseline: verification without a check).
  const dir = join(world.dir, 'policy');
  mkdirSync(join(dir, 'tenants'), { recursive: true });
  // callTimeoutMs raised in this copy only: this file measures the host's event loop, and the
  // normal tenant's instantiate must not time out on a busy shared machine (the time model is
  // the sandbox's concern, tested there).
  const base = readFileSync(join(POLICIES_DIR, 'default.yaml'), 'utf8');
  writeFileSync(join(dir, 'default.yaml'), base.replace(/callTimeoutMs: \d+/, 'callTimeoutMs: 30000'));
  writeFileSync(join(dir, 'tenants', 'sized.yaml'), 'revision: 1\nsource:\n  maxBytes: 1\n');
  loader = createLoader({ keyring: world.keyring, policy: dir, workers: 1 });
  const file = world.write(
    't.js',
    "import { Component } from 'sealbox';\nexport class Evil extends Component {}\n",
  );
  template = pack(file, { export: 'Evil', tenant: 'acme', identifier: 'template', version: 1 });
});

afterAll(async () => {
  await loader.close();
  rmSync(world.dir, { recursive: true, force: true });
});

/** The concat bomb of issue 13 #3: a 128 KiB constant concatenated with itself 60,000 times. */
const concatBomb = evil(
  `return a[s.concat(${Array.from({ length: 60_000 }, () => 's').join(', ')})];`,
  `const s = '${'a'.repeat(128 * 1024)}';`,
);
/** ~2 MB (under the 2 MiB default): 90,000 declarations in one scope, then a forbidden key. */
const bigSource = `${Array.from({ length: 90_000 }, (_, i) => `let v${i} = [${i}];`).join('\n')}\n${evil("return a['con' + 'structor'];")}`;

/**
 * Runs `work` and returns the longest event-loop block seen meanwhile, in ms: a 1 ms timer chain
 * records the largest gap between two of its ticks (a block delays the next tick by its length).
 */
async function longestBlock(work: () => Promise<unknown>): Promise<number> {
  let longest = 0;
  let last = performance.now();
  let timer: NodeJS.Timeout | undefined;
  const tick = (): void => {
    const now = performance.now();
    longest = Math.max(longest, now - last);
    last = now;
    timer = setTimeout(tick, 1);
  };
  timer = setTimeout(tick, 1);
  try {
    await work();
    // One more tick, so a block at the very end is counted too.
    await new Promise((resolve) => setTimeout(resolve, 1));
  } finally {
    clearTimeout(timer);
  }
  return Math.max(longest, performance.now() - last);
}

async function refusal(load: Promise<unknown>): Promise<unknown> {
  return load.then(
    () => undefined,
    (error: unknown) => error,
  );
}

describe('when hostile sources are checked next to a normal load (layer: loader, check off the main thread)', () => {
  it('keeps the longest event-loop block within a small factor of the same work without a check', async () => {
    expect(Buffer.byteLength(bigSource)).toBeGreaterThan(1_900_000);
    expect(Buffer.byteLength(bigSource)).toBeLessThan(2 * 1024 * 1024);
    const hostile = [concatBomb, bigSource];
    const normal = envelope(evil('return a + b;'), 'globex');
    const sized = hostile.map((s) => envelope(s, 'sized'));
    const attacks = hostile.map((s) => envelope(s, 'acme'));
    // Verifying a 2 MB envelope runs on the main thread and is the trust layer's cost (issue 16):
    // it is done here first, so both windows below hit the verify cache and measure the policy
    // step.
    for (const [e, tenant] of [
      ...sized.map((e) => [e, 'sized'] as const),
      ...attacks.map((e) => [e, 'acme'] as const),
    ]) {
      // The same limits the loader passes (its verify-cache key includes them).
      const limits = envelopeLimitsFor(loader.policy.forTenant(tenant).envelope);
      verifyEnvelope(e, world.keyring, { tenant, limits });
    }
    // Warm-up: the first load starts the sandbox worker and a check worker.
    await (await loader.load(normal, { tenant: 'globex' })).dispose();

    const normalLoad = async (): Promise<readonly string[]> => {
      const component = await loader.load(normal, { tenant: 'globex' });
      await component.dispose();
      return component.methods;
    };

    // Baseline: the normal load, the same envelopes refused by size before any parse (tenant
    // `sized`), and the same sources checked on a separate pool, so the machine is as busy.
    const pool = new CheckPool();
    const policy = loader.policy.forTenant('acme');
    let baseline: number;
    try {
      baseline = await longestBlock(async () => {
        const [refusals, methods] = await Promise.all([
          Promise.all(sized.map((e) => refusal(loader.load(e, { tenant: 'sized' })))),
          normalLoad(),
          ...hostile.map((s) => pool.check(s, policy)),
        ]);
        for (const error of refusals) {
          expect((error as PolicyError).violations.map((v) => v.rule)).toEqual(['source.too-large']);
        }
        expect(methods).toEqual(['run']);
      });
    } finally {
      await pool.close();
    }

    // Attack: the same sources as tenant acme, fully checked by the loader, while globex loads.
    const attacked = await longestBlock(async () => {
      const [bomb, big, methods] = await Promise.all([
        refusal(loader.load(attacks[0]!, { tenant: 'acme' })),
        refusal(loader.load(attacks[1]!, { tenant: 'acme' })),
        normalLoad(),
      ]);
      expect(methods).toEqual(['run']);
      expect(bomb).toBeInstanceOf(PolicyError);
      expect((bomb as PolicyError).violations.map((v) => v.rule)).toEqual(['names.forbidden']);
      expect(big).toBeInstanceOf(PolicyError);
      expect((big as PolicyError).violations.map((v) => v.rule)).toContain('names.forbidden');
    });
    console.log(
      `longest event-loop block: baseline ${baseline.toFixed(1)} ms, attacked ${attacked.toFixed(1)} ms`,
    );
    // Inline, the check blocked for seconds (measured: 30-100x the baseline); off the main
    // thread it adds about nothing. 3x leaves room for a busy shared machine.
    expect(attacked).toBeLessThan(baseline * 3);
  }, 180_000);
});
