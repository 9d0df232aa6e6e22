/**
 * Shared set-up for the fleet tests: hand-written statements signed by a trusted key (so every
 * refusal comes from the node's own pipeline), and a small component that uses kv.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { pack } from '../../src/component/pack.ts';
import { encodeEnvelope } from '../../src/envelope/envelope.ts';
import type { Statement } from '../../src/envelope/types.ts';
import type { KeyPair } from '../../src/trust/keys.ts';
import { signEnvelope } from '../../src/trust/sign.ts';
import { makeWorld, type World } from '../e2e/helpers.ts';

/** A class `Box` whose `version()` returns `tag`, with kv helpers; `extra` adds methods or a constructor. */
export const boxSource = (tag: string, extra = ''): string =>
  `class Box extends Component {
  version() { return ${JSON.stringify(tag)}; }
  async put(key, value) { await this.host.kv.set(key, value); return true; }
  async read(key) { return await this.host.kv.get(key); }
  echo(x) { return x; }
  async keys() { return (await this.host.kv.list('')).length; }
  fail() { throw new Error('boom'); }
  ${extra}
}
`;

export interface Signer {
  readonly world: World;
  /** Signs a hand-written statement; returns the envelope's JSON text. */
  envelope(options: {
    version: number;
    source: string;
    identifier?: string;
    tenant?: string;
    requires?: string[];
    key?: KeyPair;
  }): string;
}

export function makeSigner(tenants: readonly string[] = ['acme', 'globex']): Signer {
  const world = makeWorld(tenants);
  const file = world.write(
    't.js',
    "import { Component } from 'sealbox';\nexport class Box extends Component {}\n",
  );
  const template = pack(file, { export: 'Box', tenant: 'acme', identifier: 'template', version: 1 });
  return {
    world,
    envelope(options) {
      const statement: Statement = {
        ...template,
        tenant: options.tenant ?? 'acme',
        identifier: options.identifier ?? 'box',
        version: options.version,
        entry: 'Box',
        source: options.source,
        sourceSha256: createHash('sha256').update(options.source, 'utf8').digest('hex'),
        params: {},
        requires: [...(options.requires ?? ['kv'])].sort(),
      };
      return encodeEnvelope(signEnvelope(statement, options.key ?? world.key));
    },
  };
}

/**
 * A tampered envelope: the signatures of `signed` over the (well-formed) payload of `other`, as if
 * someone rewrote the statement in the store after it was signed.
 */
export function tamper(signed: string, other: string): string {
  const a = JSON.parse(signed) as { payload: string; signatures: unknown };
  const b = JSON.parse(other) as { payload: string };
  return JSON.stringify({ ...a, payload: b.payload });
}

/**
 * The shipped default policy with `changes` applied (e.g. kv maxKeys), written to `dir`. The call
 * timeout is raised to 10 s: on a shared 2-core machine spawning a worker and loading a component
 * can overrun the default 1 s under load until the time model separates spawn time from call
 * time; these tests are about the fleet, not about call deadlines.
 */
export function fleetPolicy(dir: string, changes: { maxKeys?: number } = {}): string {
  let text = readFileSync(new URL('../../policies/default.yaml', import.meta.url), 'utf8');
  text = text.replace(/callTimeoutMs: \d+/, 'callTimeoutMs: 10000');
  if (changes.maxKeys !== undefined) text = text.replace(/maxKeys: \d+/, `maxKeys: ${changes.maxKeys}`);
  const path = join(dir, 'policy.yaml');
  writeFileSync(path, text);
  return path;
}

/** A `sealbox serve` child process. */
export interface Node {
  readonly url: string;
  readonly child: ChildProcess;
  /** stderr so far (decision events as JSON lines). */
  stderr(): string;
  /** POSTs a call; resolves status and parsed body. */
  call(
    tenant: string,
    identifier: string,
    method: string,
    args: unknown[],
    token?: string,
  ): Promise<{ status: number; body: { result?: unknown; version?: number; error?: { code: string } } }>;
  /** SIGTERM, then waits for the exit code. */
  stop(): Promise<number | null>;
}

const BIN = fileURLToPath(new URL('../../src/cli/bin.ts', import.meta.url));

/** Starts `sealbox serve` with `args` and waits for its `listening on` line. */
export function startNode(args: readonly string[], cwd: string): Promise<Node> {
  const child = spawn(
    process.execPath,
    ['--no-node-snapshot', '--disable-warning=ExperimentalWarning', BIN, 'serve', ...args],
    { cwd, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let out = '';
  let err = '';
  child.stderr!.on('data', (d: Buffer) => (err += d.toString()));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  return new Promise((resolve, reject) => {
    child.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
      const match = /listening on (http:\/\/[^\s]+)/.exec(out);
      if (match === null) return;
      const url = match[1]!;
      resolve({
        url,
        child,
        stderr: () => err,
        async call(tenant, identifier, method, callArgs, token) {
          const response = await fetch(`${url}/v1/call/${tenant}/${identifier}/${method}`, {
            method: 'POST',
            headers: {
              'content-type': 'application/json',
              ...(token === undefined ? {} : { authorization: `Bearer ${token}` }),
            },
            body: JSON.stringify({ args: callArgs }),
          });
          return { status: response.status, body: (await response.json()) as never };
        },
        async stop() {
          if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
          return exited;
        },
      });
    });
    void exited.then((code) => reject(new Error(`serve exited ${code} before listening: ${err}`)));
  });
}
