/**
 * Shared set-up for the pipeline-* attack files: a hostile tenant writes its statement by hand
 * (the packer is author-side tooling, not a defence) and signs it with its own trusted key, so
 * every attack goes through the node's full load pipeline: verify, AST policy, sandbox.
 */
import { createHash } from 'node:crypto';
import { rmSync } from 'node:fs';
import { expect } from 'vitest';
import { pack } from '../../src/component/pack.ts';
import type { Envelope, JsonValue, Statement } from '../../src/envelope/types.ts';
import { createLoader, type Loader } from '../../src/loader.ts';
import { MemoryKvStore } from '../../src/sandbox/kv-store.ts';
import { signEnvelope } from '../../src/trust/sign.ts';
import { makeWorld, type World } from '../e2e/helpers.ts';

export const CANARY = `sealbox-pipeline-canary-${Math.random().toString(36).slice(2)}`;

/** A script whose entry class `Evil` has one method `run(a, b)` with `body`; `before` goes first. */
export const evil = (body: string, before = ''): string =>
  `${before}\nclass Evil extends Component {\n  run(a, b) {\n    ${body}\n  }\n}\n`;

export interface Harness {
  readonly world: World;
  readonly loader: Loader;
  readonly logs: unknown[];
  /** Signs `source` as a hand-written statement (tenant acme unless given). */
  envelope(source: string, options?: { requires?: string[]; params?: JsonValue; tenant?: string }): Envelope;
  /** Host state that no tenant may change. */
  snapshot(): string;
  close(): Promise<void>;
}

let counter = 0;

export function harness(): Harness {
  process.env['SEALBOX_PIPELINE_SECRET'] = CANARY;
  const world = makeWorld();
  const logs: unknown[] = [];
  const loader = createLoader({
    keyring: world.keyring,
    kv: new MemoryKvStore(),
    workers: 1,
    logger: (entry) => logs.push(entry),
  });
  const file = world.write(
    't.js',
    "import { Component } from 'sealbox';\nexport class Evil extends Component {}\n",
  );
  const template = pack(file, {
    export: 'Evil',
    tenant: 'acme',
    identifier: 'template',
    version: 1,
  });
  return {
    world,
    loader,
    logs,
    envelope(source, options = {}) {
      const statement: Statement = {
        ...template,
        tenant: options.tenant ?? 'acme',
        identifier: `evil-${++counter}`,
        entry: 'Evil',
        source,
        sourceSha256: createHash('sha256').update(source, 'utf8').digest('hex'),
        params: options.params ?? {},
        requires: [...(options.requires ?? [])].sort(),
      };
      return signEnvelope(statement, world.key);
    },
    snapshot() {
      return JSON.stringify([
        Object.getOwnPropertyNames(globalThis).sort(),
        Object.getOwnPropertyNames(Object.prototype).sort(),
        Object.getOwnPropertyNames(Array.prototype).sort(),
        Object.getOwnPropertyNames(Function.prototype).sort(),
        Object.getOwnPropertyNames(Promise.prototype).sort(),
        typeof (Error as { prepareStackTrace?: unknown }).prepareStackTrace,
      ]);
    },
    async close() {
      await loader.close();
      rmSync(world.dir, { recursive: true, force: true });
      delete process.env['SEALBOX_PIPELINE_SECRET'];
    },
  };
}

/** Asserts that nothing the host or the test observed carries the secret. */
export function expectNoCanary(...seen: unknown[]): void {
  const text = JSON.stringify(seen, (_k, v: unknown) =>
    v instanceof Error ? { ...v, name: v.name, message: v.message, stack: v.stack } : v,
  );
  expect(text).not.toContain(CANARY);
}
