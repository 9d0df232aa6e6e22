/** `sealbox serve`: the node as a process, so that services in any language can call components. */
import { resolve } from 'node:path';
import { ConfigError, UsageError } from '../../errors.ts';
import { createLoader, type DecisionEvent, type Loader } from '../../loader.ts';
import { JAIL_MODES, type JailMode } from '../../sandbox/jail.ts';
import { createMetrics } from '../../serve/metrics.ts';
import { createServeApp } from '../../serve/server.ts';
import { parseTokens } from '../../serve/tokens.ts';
import { openStore } from '../../store/open.ts';
import { flag, optionalString, requireString } from '../args.ts';
import type { Command } from '../context.ts';
import { assertFileOrFolder, readTextBounded } from '../files.ts';

const usage = `Usage: sealbox serve --store URL --keyring FILE --policy FILE|DIR --tokens FILE --port N
                     [--host 127.0.0.1] [--workers N] [--jail auto|required|off]
                     [--poll-ms N] [--insecure-no-auth]

Runs a node: components are followed in the store's registry (the newest published version that
passes this node's keyring, rollback marks and policy is served) and called over HTTP:

  POST /v1/call/{tenant}/{identifier}/{method}   body {"args": [...]}, header Authorization: Bearer TOKEN
       → 200 {"result", "version", "digest"}; errors {"error": {"code", "message"}} with 400, 401,
         403, 404 (no accepted version), 422 (component threw), 429 (overloaded, quota), 504 (timeout), 500
  GET  /v1/health → {"ok": true}        GET /metrics → Prometheus text

--tokens is {"tokens": [{"tenant": "acme", "sha256": "<hex SHA-256 of the token>"}]}.
--insecure-no-auth serves without tokens, only on a loopback host. Prints "listening on
http://HOST:PORT" once ready (--port 0 picks a free port); SIGTERM drains calls in flight, then exits 0.
--jail runs the sandbox workers in the OS jail (bubblewrap; see sealbox run --help).
Decision events go to stderr as JSON lines. See docs/fleet.md.

Exit codes: 0 stopped by SIGTERM/SIGINT, 2 usage, 3 bad store, keyring, policy or tokens file.`;

const LOOPBACK = new Set(['127.0.0.1', '::1', 'localhost']);

function intFlag(value: string | undefined, name: string, min: number, max: number): number | undefined {
  if (value === undefined) return undefined;
  if (!/^\d{1,9}$/.test(value) || Number(value) < min || Number(value) > max) {
    throw new UsageError('ERR_USAGE', `serve: --${name} must be an integer from ${min} to ${max}`);
  }
  return Number(value);
}

/** The `sealbox serve` command (see `usage`). */
export const serveCommand: Command = {
  name: 'serve',
  summary: 'run a node: follow the registry and serve components over HTTP',
  usage,
  options: {
    store: { type: 'string' },
    keyring: { type: 'string' },
    policy: { type: 'string' },
    tokens: { type: 'string' },
    port: { type: 'string' },
    host: { type: 'string' },
    workers: { type: 'string' },
    'poll-ms': { type: 'string' },
    jail: { type: 'string' },
    'insecure-no-auth': { type: 'boolean' },
  },
  positionals: { min: 0, max: 0 },
  async run(args, io) {
    const storeSpec = requireString(args, 'store', this);
    const keyringPath = resolve(io.cwd, requireString(args, 'keyring', this));
    const policyPath = resolve(io.cwd, requireString(args, 'policy', this));
    assertFileOrFolder(io.cwd, policyPath, '--policy');
    const port = intFlag(requireString(args, 'port', this), 'port', 0, 65535)!;
    const host = optionalString(args, 'host') ?? '127.0.0.1';
    const workers = intFlag(optionalString(args, 'workers'), 'workers', 1, 64);
    const pollMs = intFlag(optionalString(args, 'poll-ms'), 'poll-ms', 10, 600_000);
    const insecure = flag(args, 'insecure-no-auth');
    const jail = optionalString(args, 'jail') ?? 'auto';
    if (!(JAIL_MODES as readonly string[]).includes(jail)) {
      throw new UsageError('ERR_USAGE', `serve: --jail must be one of ${JAIL_MODES.join(', ')}`);
    }
    const tokensPath = optionalString(args, 'tokens');
    if (insecure) {
      // Defends against an open node on a network: anonymous mode only listens on loopback.
      if (!LOOPBACK.has(host)) {
        throw new UsageError('ERR_USAGE', 'serve: --insecure-no-auth is allowed only with a loopback --host');
      }
      if (tokensPath !== undefined)
        throw new UsageError('ERR_USAGE', 'serve: give --tokens or --insecure-no-auth');
    } else if (tokensPath === undefined) {
      throw new UsageError('ERR_USAGE', `serve: --tokens is required (no token means no access)\n\n${usage}`);
    }
    const tokens =
      tokensPath === undefined
        ? undefined
        : parseTokens(readTextBounded(io.cwd, tokensPath, 4 * 1024 * 1024));
    // The keyring is read through the loader; check it exists so a wrong path is a usage error.
    readTextBounded(io.cwd, keyringPath, 16 * 1024 * 1024);

    const store = openStore(storeSpec, io.cwd);
    try {
      await store.ready();
    } catch (error) {
      await store.close();
      throw error;
    }
    const ref: { loader?: Loader } = {};
    const metrics = createMetrics(() => ref.loader?.stats().restarts ?? 0);
    const loader = createLoader({
      keyring: keyringPath,
      policy: policyPath,
      store,
      jail: jail as JailMode,
      onJail: (status) => io.stderr(`${JSON.stringify({ type: 'jail', ...status })}\n`),
      ...(workers !== undefined ? { workers } : {}),
      logger: (entry) => io.stderr(`${JSON.stringify({ type: 'log', ...entry })}\n`),
      onDecision: (event: DecisionEvent) => {
        metrics.load(event);
        io.stderr(`${JSON.stringify({ type: 'decision', ...event })}\n`);
      },
    });
    ref.loader = loader;
    const app = createServeApp({ loader, tokens, metrics, ...(pollMs !== undefined ? { pollMs } : {}) });
    try {
      await new Promise<void>((resolveListen, reject) => {
        app.server.once('error', reject);
        app.server.listen(port, host, () => resolveListen());
      });
    } catch (error) {
      await loader.close();
      await store.close();
      throw new ConfigError(
        'ERR_CONFIG_INVALID',
        `serve: cannot listen on ${host}:${port}: ${(error as Error).message}`,
      );
    }
    const address = app.server.address();
    const bound = typeof address === 'object' && address !== null ? address.port : port;
    const shownHost = host.includes(':') ? `[${host}]` : host;
    io.stdout(`listening on http://${shownHost}:${bound}\n`);
    await new Promise<void>((resolveStop) => {
      const stop = (): void => {
        process.off('SIGTERM', stop);
        process.off('SIGINT', stop);
        resolveStop();
      };
      process.on('SIGTERM', stop);
      process.on('SIGINT', stop);
    });
    await app.drain(10_000);
    await loader.close();
    await store.close();
    return 0;
  },
};
