/**
 * sealbox itself, through its public pipeline: `createLoader` (size limits, envelope, Ed25519
 * verify against the keyring, statement, rollback, AST policy, worker ▸ isolate ▸ context) and
 * `component.call`. `prepare` packs and signs outside the clock: a cold load starts with a signed
 * envelope in hand, as on a real node.
 */
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseDocument } from 'yaml';
import { encodeBase64 } from '../../src/envelope/base64.ts';
import { encodeEnvelope } from '../../src/envelope/envelope.ts';
import { sha256Hex } from '../../src/envelope/statement.ts';
import { STATEMENT_TYPE } from '../../src/envelope/types.ts';
import type { Statement } from '../../src/envelope/types.ts';
import { createLoader } from '../../src/loader.ts';
import type { DecisionEvent, Loader } from '../../src/loader.ts';
import { Keyring } from '../../src/trust/keyring.ts';
import { generateKeyPair } from '../../src/trust/keys.ts';
import { loadPolicy } from '../../src/policy/load.ts';
import { POLICIES_DIR } from '../../src/policy/policy-file.ts';
import { signEnvelope } from '../../src/trust/sign.ts';
import { median } from '../harness.ts';
import { ECHO_COMPONENT } from '../workloads/echo.ts';
import type {
  Engine,
  Json,
  LoadedComponent,
  PreparedComponent,
  SealboxExtras,
  WorkloadComponent,
} from './engine.ts';
import type { FactoryOptions } from './factory.ts';
import { FULL_SIZES, QUICK_SIZES, type Sizes } from './measure.ts';

/**
 * The shipped default policy with `maxConcurrentCalls` raised to the pipelined batch, so that
 * batch is pipelined whole (as the harness raised it, to 128); every other figure is the
 * shipped file's. Written to a temporary folder: loadPolicy reads files.
 */
function benchPolicyFile(concurrentCalls: number): string {
  const text = readFileSync(fileURLToPath(new URL('default.yaml', POLICIES_DIR)), 'utf8');
  const document = parseDocument(text);
  document.setIn(['resources', 'maxConcurrentCalls'], concurrentCalls);
  const file = join(mkdtempSync(join(tmpdir(), 'sealbox-bench-policy-')), 'default.yaml');
  writeFileSync(file, document.toString());
  return file;
}

/** The sealbox engine, with the decision events of its loads for the stage breakdown. */
export interface SealboxEngine extends Engine {
  readonly decisions: readonly DecisionEvent[];
  /** The loader under test (for the warm-load figure). */
  readonly loader: Loader;
}

function statementFor(component: WorkloadComponent, tenant: string): Statement {
  const encoder = new TextEncoder();
  const artifacts: Record<string, Statement['artifacts'][string]> = {};
  for (const [name, text] of Object.entries(component.artifacts)) {
    const bytes = encoder.encode(text);
    artifacts[name] = {
      sha256: sha256Hex(bytes),
      size: bytes.length,
      mediaType: 'text/plain',
      data: encodeBase64(bytes),
    };
  }
  return {
    _type: STATEMENT_TYPE,
    tenant,
    identifier: component.entry.toLowerCase(),
    version: 1,
    entry: component.entry,
    source: component.source,
    sourceSha256: sha256Hex(component.source),
    params: component.params,
    artifacts,
    requires: [],
    repr: `${component.entry} (benchmark workload)`,
    issuedAt: new Date(Date.now() - 60_000).toISOString().replace(/\.\d{3}Z$/, 'Z'),
    packer: { name: 'sealbox-bench', version: '1' },
  };
}

/**
 * Creates the sealbox engine: one signing key, a keyring trusting it for every tenant the bench
 * prepares, the shipped default policy, the default worker pool (2).
 */
export function createSealboxEngine(options: FactoryOptions): SealboxEngine {
  const key = generateKeyPair();
  const tenants = new Set<string>();
  const decisions: DecisionEvent[] = [];
  const keyringFor = () =>
    Keyring.parse({
      version: tenants.size + 1,
      keys: [
        {
          keyid: key.keyid,
          publicKey: encodeBase64(key.publicKey),
          tenants: [...tenants],
          identifiers: ['*'],
          status: 'active',
        },
      ],
    });
  tenants.add('bench');
  const sizes = options.quick ? QUICK_SIZES : FULL_SIZES;
  const loader = createLoader({
    keyring: keyringFor(),
    policy: loadPolicy(benchPolicyFile(sizes.pipelineBatch)),
    ...(options.quick ? { workers: 1 } : {}),
    onDecision: (event) => decisions.push(event),
  });
  return {
    name: 'sealbox',
    decisions,
    loader,
    async prepare(component: WorkloadComponent, tenant: string): Promise<PreparedComponent> {
      if (!tenants.has(tenant)) {
        tenants.add(tenant);
        loader.setKeyring(keyringFor());
      }
      return {
        component,
        tenant,
        payload: encodeEnvelope(signEnvelope(statementFor(component, tenant), key)),
      };
    },
    async load(prepared: PreparedComponent): Promise<LoadedComponent> {
      const loaded = await loader.load(prepared.payload as string, { tenant: prepared.tenant });
      return {
        call: async (method: string, ...args: Json[]) => (await loaded.call(method, ...args)) as Json,
        dispose: () => loaded.dispose(),
      };
    },
    close: () => loader.close(),
  };
}

/**
 * sealbox-only figures, taken after {@link measureEngine} on the same engine: the warm load
 * (cached digest, tenant resident) and the median time per pipeline stage of the cold loads.
 */
export async function measureSealboxExtras(engine: Engine, sizes: Sizes): Promise<SealboxExtras> {
  const sealbox = engine as SealboxEngine;
  // The cold loads of the figure: the `coldLines` component (measure.ts names its tenants).
  const cold = sealbox.decisions.filter(
    (event) => event.tenant.startsWith(`cold${sizes.coldLines}-`) && !event.cached.verify,
  );
  const stages = {
    verify: median(cold.map((event) => event.stages.verify)),
    policy: median(cold.map((event) => event.stages.policy)),
    sandbox: median(cold.map((event) => event.stages.sandbox)),
  };
  const prepared = await sealbox.prepare(ECHO_COMPONENT, 'warm-load');
  const resident = await sealbox.load(prepared);
  await resident.call('echo', 1);
  const times: number[] = [];
  const runs = Math.max(5, sizes.coldRuns * 3);
  for (let i = 0; i < runs + 3; i++) {
    const start = performance.now();
    const again = await sealbox.load(prepared);
    const elapsed = performance.now() - start;
    await again.dispose();
    if (i >= 3) times.push(elapsed);
  }
  await resident.dispose();
  return { warmLoadMs: median(times), stages };
}
