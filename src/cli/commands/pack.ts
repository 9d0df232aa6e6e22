/** `sealbox pack`: a component module file becomes a signed envelope. */
import { UsageError } from '../../errors.ts';
import { pack, type ArtifactInput } from '../../component/pack.ts';
import { encodeEnvelope } from '../../envelope/envelope.ts';
import { buildStatementPayload, statementDigest } from '../../envelope/statement.ts';
import type { JsonValue } from '../../envelope/types.ts';
import { parsePrivateKey } from '../../trust/keys.ts';
import { checkTenant, flag, optionalString, requireString, stringList } from '../args.ts';
import type { Command } from '../context.ts';
import { assertSafeOutput, readFileBounded, readTextBounded, writeFileAtomic } from '../files.ts';
import { printJson } from '../output.ts';

const usage = `Usage: sealbox pack FILE --export CLASS --tenant T --id ID --version N --key KEY
             [--params JSON_FILE] [--artifact NAME=PATH]... [--requires CAP,CAP]
             [--expires ISO] [--issued-at ISO] [-o OUT] [--json]

Packs the class exported as CLASS from FILE (.js, .mjs, .ts, .mts; relative imports are bundled,
and npm packages it imports are bundled with rolldown and listed in the statement's dependencies)
with its params and artifacts into a statement, signs it with KEY (a sealbox-ed25519-private-key
file from sealbox keygen), and writes the envelope to OUT (stdout without -o, or with -o -).
--issued-at fixes the timestamp (default now), for reproducible packs.

Exit codes: 0 packed, 2 usage, 3 the source, params, artifacts or key cannot be used.`;

function parseVersion(text: string): number {
  if (!/^[1-9][0-9]{0,15}$/.test(text) || !Number.isSafeInteger(Number(text))) {
    throw new UsageError(
      'ERR_USAGE',
      `pack: --version: expected an integer >= 1, got ${JSON.stringify(text.slice(0, 32))}`,
    );
  }
  return Number(text);
}

function parseArtifacts(specs: readonly string[]): Record<string, ArtifactInput> {
  const out: Record<string, ArtifactInput> = Object.create(null) as Record<string, ArtifactInput>;
  for (const spec of specs) {
    const at = spec.indexOf('=');
    if (at <= 0 || at === spec.length - 1) {
      throw new UsageError(
        'ERR_USAGE',
        `pack: --artifact: expected NAME=PATH, got ${JSON.stringify(spec.slice(0, 80))}`,
      );
    }
    const name = spec.slice(0, at);
    if (Object.prototype.hasOwnProperty.call(out, name)) {
      throw new UsageError(
        'ERR_USAGE',
        `pack: --artifact: ${JSON.stringify(name.slice(0, 64))} is given twice`,
      );
    }
    out[name] = { path: spec.slice(at + 1) };
  }
  return out;
}

function parseParams(cwd: string, path: string | undefined): JsonValue | undefined {
  if (path === undefined) return undefined;
  const text = readTextBounded(cwd, path, 16 * 1024 * 1024);
  try {
    return JSON.parse(text) as JsonValue;
  } catch {
    throw new UsageError('ERR_USAGE', `pack: --params: ${path} is not valid JSON`, { path });
  }
}

export const packCommand: Command = {
  name: 'pack',
  summary: 'pack a component class (JS/TS module) with params and artifacts, and sign it',
  usage,
  options: {
    export: { type: 'string' },
    tenant: { type: 'string' },
    id: { type: 'string' },
    version: { type: 'string' },
    key: { type: 'string' },
    params: { type: 'string' },
    artifact: { type: 'string', multiple: true },
    requires: { type: 'string' },
    expires: { type: 'string' },
    'issued-at': { type: 'string' },
    out: { type: 'string', short: 'o' },
  },
  positionals: { min: 1, max: 1 },
  async run(args, io) {
    const file = args.positionals[0] as string;
    const exportName = requireString(args, 'export', packCommand);
    const tenant = checkTenant(requireString(args, 'tenant', packCommand), packCommand);
    const identifier = requireString(args, 'id', packCommand);
    const version = parseVersion(requireString(args, 'version', packCommand));
    const keyPath = requireString(args, 'key', packCommand);
    const outFlag = optionalString(args, 'out');
    const out = outFlag === '-' ? undefined : outFlag; // `-o -` is stdout, as without -o
    const paramsPath = optionalString(args, 'params');
    // Defends against -o replacing the signing key, the source or params (checked before any work).
    if (out !== undefined)
      assertSafeOutput(io.cwd, out, [keyPath, file, ...(paramsPath === undefined ? [] : [paramsPath])]);
    // Read the key first: a bad key is reported before any packing work.
    const key = parsePrivateKey(new TextDecoder().decode(readFileBounded(io.cwd, keyPath, 64 * 1024)));
    const params = parseParams(io.cwd, optionalString(args, 'params'));
    const requiresText = optionalString(args, 'requires');
    const requires =
      requiresText === undefined
        ? []
        : requiresText
            .split(',')
            .map((s) => s.trim())
            .filter(Boolean);
    const expires = optionalString(args, 'expires');
    const issuedAt = optionalString(args, 'issued-at');
    const statement = pack(file, {
      export: exportName,
      tenant,
      identifier,
      version,
      requires,
      artifacts: parseArtifacts(stringList(args, 'artifact')),
      cwd: io.cwd,
      ...(params === undefined ? {} : { params }),
      ...(expires === undefined ? {} : { expiresAt: expires }),
      ...(issuedAt === undefined ? {} : { issuedAt }),
    });
    const envelope = statement.sign(key);
    const text = `${encodeEnvelope(envelope)}\n`;
    const digest = statementDigest(buildStatementPayload(statement));
    if (out !== undefined) writeFileAtomic(io.cwd, out, text);
    const summary = {
      out: out ?? null,
      tenant,
      identifier,
      version,
      entry: statement.entry,
      digest,
      keyid: key.keyid,
      requires: statement.requires,
      sourceBytes: new TextEncoder().encode(statement.source).byteLength,
      artifacts: Object.keys(statement.artifacts),
      repr: statement.repr,
      format: statement._type,
      packages: (statement.dependencies ?? []).map((d) => `${d.name}@${d.version}`),
    };
    if (flag(args, 'json')) printJson(io, out === undefined ? { ...summary, envelope } : summary);
    else if (out === undefined) io.stdout(text);
    else
      io.stdout(
        `packed ${statement.repr}\n  -> ${out} (digest ${digest}, signed by ${key.keyid.slice(0, 16)}…)\n`,
      );
    return 0;
  },
};
