/**
 * The HTTP side of `sealbox serve`: node:http plus this small router (three routes do not need a
 * framework, and node:http adds no dependency to audit). Routes:
 *
 *   POST /v1/call/{tenant}/{identifier}/{method}  {"args": [...]}  → {"result", "version", "digest"}
 *   GET  /v1/health                                               → {"ok": true}
 *   GET  /metrics                                                 → Prometheus text
 *
 * Errors are {"error": {"code", "message"}} with the status of src/serve/status.ts.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { COMPONENT_IDENTIFIER, METHOD_NAME, TENANT_NAME } from '../names.ts';
import type { JsonValue } from '../envelope/types.ts';
import { SealboxError, UsageError, SandboxError } from '../errors.ts';
import type { FollowHandle } from '../follow.ts';
import type { Loader } from '../loader.ts';
import type { ServeMetrics } from './metrics.ts';
import { statusFor } from './status.ts';
import { MAX_TOKEN_LENGTH, type TokenTable } from './tokens.ts';

/** Options of {@link createServeHandler}. */
export interface ServeOptions {
  readonly loader: Loader;
  /** undefined only with `--insecure-no-auth` (loopback hosts only, checked by the caller). */
  readonly tokens: TokenTable | undefined;
  readonly metrics: ServeMetrics;
  /** Largest request body, bytes (default 1 MiB). */
  readonly maxBodyBytes?: number;
  /** Most components followed at once (default 1024). */
  readonly maxFollowed?: number;
  /** Registry poll period of each followed component (default: the store's). */
  readonly pollMs?: number;
}

/** A running server with graceful shutdown. */
export interface ServeApp {
  readonly server: Server;
  /** Stops accepting, waits for calls in flight (at most `timeoutMs`), closes follow handles. */
  drain(timeoutMs: number): Promise<void>;
}

const DEFAULT_MAX_BODY = 1024 * 1024;

function requestError(message: string): UsageError {
  return new UsageError('ERR_REQUEST_INVALID', message);
}

function send(res: ServerResponse, status: number, body: unknown, type = 'application/json'): void {
  const text = type === 'application/json' ? JSON.stringify(body) : String(body);
  res.writeHead(status, {
    'content-type': type === 'application/json' ? 'application/json; charset=utf-8' : type,
    'content-length': Buffer.byteLength(text),
    'cache-control': 'no-store',
    'x-content-type-options': 'nosniff',
  });
  res.end(text);
}

function sendError(res: ServerResponse, error: unknown): string {
  if (error instanceof SealboxError) {
    send(res, statusFor(error.code), { error: { code: error.code, message: error.message } });
    return error.code;
  }
  // Defends against leaking host internals (paths, stacks) to a client: untyped errors are opaque.
  send(res, 500, { error: { code: 'ERR_INTERNAL', message: 'internal error' } });
  return 'ERR_INTERNAL';
}

/** Reads the body up to `max` bytes; more is refused without buffering it. */
function readBody(req: IncomingMessage, max: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const declared = Number(req.headers['content-length'] ?? 0);
    // Defends against memory exhaustion by a large body: refused by its header before reading,
    // and by counting while reading when the header lies or is absent (chunked).
    if (declared > max) {
      reject(requestError(`request body is larger than ${max} bytes`));
      return;
    }
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > max) {
        req.removeAllListeners('data');
        req.resume();
        reject(requestError(`request body is larger than ${max} bytes`));
        return;
      }
      chunks.push(chunk);
    });
    req.on('end', () => resolve(Buffer.concat(chunks)));
    req.on('error', reject);
  });
}

function parseCallBody(body: Buffer): { args: JsonValue[]; deadlineMs?: number } {
  let value: unknown;
  try {
    value = JSON.parse(body.toString('utf8'));
  } catch {
    // Also catches the RangeError of absurdly deep nesting: still a bad request, never a crash.
    throw requestError('body must be JSON: {"args": [ ... ]}');
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw requestError('body must be a JSON object: {"args": [ ... ]}');
  }
  const keys = Object.keys(value);
  const args = (value as { args?: unknown }).args;
  if (!keys.every((k) => k === 'args' || k === 'deadlineMs') || !Array.isArray(args)) {
    throw requestError('body must be {"args": [ ... ]} (optionally with "deadlineMs")');
  }
  const deadlineMs = (value as { deadlineMs?: unknown }).deadlineMs;
  if (
    deadlineMs !== undefined &&
    (typeof deadlineMs !== 'number' || !Number.isSafeInteger(deadlineMs) || deadlineMs < 1)
  ) {
    throw requestError('deadlineMs must be an integer >= 1');
  }
  return deadlineMs === undefined ? { args: args as JsonValue[] } : { args: args as JsonValue[], deadlineMs };
}

/** The tenant a request's bearer token belongs to (or, without auth, the path's). */
function authenticate(req: IncomingMessage, tokens: TokenTable | undefined, pathTenant: string): void {
  if (tokens === undefined) return;
  const header = req.headers['authorization'];
  const match = typeof header === 'string' ? /^Bearer ([\x21-\x7e]{1,4096})$/.exec(header) : null;
  if (match === null || match[1]!.length > MAX_TOKEN_LENGTH) {
    throw new UsageError('ERR_UNAUTHORIZED', 'missing or malformed Authorization: Bearer token');
  }
  const tenant = tokens.tenantOf(match[1]!);
  if (tenant === undefined) throw new UsageError('ERR_UNAUTHORIZED', 'unknown token');
  // Defends against one tenant calling another's components with its own valid token.
  if (tenant !== pathTenant) throw new UsageError('ERR_FORBIDDEN', 'this token belongs to another tenant');
}

/** Builds the server (not yet listening). */
export function createServeApp(options: ServeOptions): ServeApp {
  const maxBody = options.maxBodyBytes ?? DEFAULT_MAX_BODY;
  const maxFollowed = options.maxFollowed ?? 1024;
  const handles = new Map<string, FollowHandle>();
  let inflight = 0;
  let draining = false;
  let idle: (() => void) | undefined;

  function handleFor(tenant: string, identifier: string): FollowHandle {
    const key = `${tenant}/${identifier}`;
    let handle = handles.get(key);
    if (handle === undefined) {
      // Defends against memory growth from requests naming ever new identifiers: followed
      // components are capped (only authenticated tenants can add one).
      if (handles.size >= maxFollowed) {
        throw new SandboxError('ERR_QUEUE_FULL', `this node already follows ${maxFollowed} components`);
      }
      handle = options.loader.follow(
        tenant,
        identifier,
        options.pollMs === undefined ? undefined : { pollMs: options.pollMs },
      );
      handles.set(key, handle);
    }
    return handle;
  }

  async function call(req: IncomingMessage, res: ServerResponse, parts: string[]): Promise<void> {
    const [tenant, identifier, method] = parts as [string, string, string];
    const started = performance.now();
    let outcome = 'ok';
    let counted = false;
    try {
      // Defends against path tricks and label/SQL/log injection: names use the statement's grammar.
      if (!TENANT_NAME.test(tenant) || !COMPONENT_IDENTIFIER.test(identifier) || !METHOD_NAME.test(method)) {
        throw requestError('tenant and identifier must be statement names, method a JavaScript identifier');
      }
      authenticate(req, options.tokens, tenant);
      counted = true;
      options.metrics.inflight(tenant, 1);
      const body = parseCallBody(await readBody(req, maxBody));
      const handle = handleFor(tenant, identifier);
      const answer = await handle.invokeServing(
        method,
        body.args,
        body.deadlineMs === undefined ? undefined : { deadlineMs: body.deadlineMs },
      );
      send(res, 200, { result: answer.result, version: answer.version, digest: answer.digest });
    } catch (error) {
      outcome = sendError(res, error);
    } finally {
      if (counted) {
        options.metrics.inflight(tenant, -1);
        options.metrics.call(tenant, identifier, outcome, (performance.now() - started) / 1000);
      }
    }
  }

  async function route(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = req.url ?? '/';
    const path = url.split('?', 1)[0]!;
    if (req.method === 'GET' && path === '/v1/health') return send(res, 200, { ok: true });
    if (req.method === 'GET' && path === '/metrics') {
      return send(res, 200, await options.metrics.registry.metrics(), options.metrics.registry.contentType);
    }
    const parts = path.split('/');
    if (parts.length === 6 && parts[0] === '' && parts[1] === 'v1' && parts[2] === 'call') {
      if (req.method !== 'POST') throw requestError('calls are POST requests');
      if (draining) throw new SandboxError('ERR_QUEUE_FULL', 'the node is shutting down');
      return call(req, res, parts.slice(3));
    }
    throw requestError(`no route ${req.method ?? ''} ${path.slice(0, 100)}`);
  }

  const server = createServer((req, res) => {
    inflight++;
    route(req, res)
      .catch((error: unknown) => {
        if (!res.headersSent) sendError(res, error);
      })
      .finally(() => {
        inflight--;
        if (inflight === 0) idle?.();
      });
  });
  // Defends against slow clients holding connections open (slowloris).
  server.headersTimeout = 10_000;
  server.requestTimeout = 60_000;
  server.keepAliveTimeout = 5_000;

  return {
    server,
    async drain(timeoutMs: number): Promise<void> {
      draining = true;
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeIdleConnections();
      if (inflight > 0) {
        await Promise.race([
          new Promise<void>((resolve) => (idle = resolve)),
          new Promise<void>((resolve) => setTimeout(resolve, timeoutMs).unref()),
        ]);
      }
      server.closeAllConnections();
      await closed;
      for (const handle of handles.values()) await handle.close();
      handles.clear();
    },
  };
}
