/** `sealbox sign`: canonicalise a statement JSON file as-is and sign it (for build pipelines). */
import { EnvelopeError, SealboxError, UsageError } from '../../errors.ts';
import { encodeEnvelope } from '../../envelope/envelope.ts';
import { DEFAULT_ENVELOPE_LIMITS, scanJson } from '../../envelope/limits.ts';
import { buildStatementPayload, statementDigest } from '../../envelope/statement.ts';
import type { Statement } from '../../envelope/types.ts';
import { parsePrivateKey } from '../../trust/keys.ts';
import { signEnvelope } from '../../trust/sign.ts';
import { flag, optionalString, stringList } from '../args.ts';
import type { Command } from '../context.ts';
import { assertSafeOutput, readTextBounded, writeFileAtomic } from '../files.ts';
import { printJson } from '../output.ts';
import { readEnvelopeFile } from './envelope-file.ts';

const usage = `Usage: sealbox sign STATEMENT.json --key KEY [--key KEY2]... [-o OUT] [--json]

Reads a statement (the closed schema of docs/envelope.md), canonicalises it (RFC 8785), checks it
(schema, source and artifact hashes) and signs it with each private key (at most 4). Writes the
envelope to OUT, or to stdout (without -o, or with -o -).

Exit codes: 0 ok, 2 usage, 3 invalid statement or key.`;

/** The `sealbox sign` command (see `usage`). */
export const signCommand: Command = {
  name: 'sign',
  summary: 'canonicalise (RFC 8785) and sign a statement as-is',
  usage,
  options: { key: { type: 'string', multiple: true }, out: { type: 'string', short: 'o' } },
  positionals: { min: 1, max: 1 },
  async run(args, io) {
    const statementPath = args.positionals[0]!;
    const keyPaths = stringList(args, 'key');
    if (keyPaths.length === 0) throw new UsageError('ERR_USAGE', `sign: --key is required\n\n${usage}`);
    const outFlag = optionalString(args, 'out');
    const out = outFlag === '-' ? undefined : outFlag; // `-o -` is stdout, as without -o
    // Defends against -o replacing the signing key or the statement (checked before any work).
    if (out !== undefined) assertSafeOutput(io.cwd, out, [...keyPaths, statementPath]);
    const keys = keyPaths.map((p) => parsePrivateKey(readTextBounded(io.cwd, p, 4096)));
    let text: string;
    try {
      // Defends against signing something other than the file: invalid UTF-8 is refused, not replaced.
      text = new TextDecoder('utf-8', { fatal: true }).decode(readEnvelopeFile(io.cwd, statementPath));
    } catch (error) {
      if (error instanceof SealboxError) throw error;
      throw new EnvelopeError('ERR_STATEMENT_INVALID', `${statementPath}: not valid UTF-8`, { field: '' });
    }
    if (scanJson(text, DEFAULT_ENVELOPE_LIMITS.maxJsonDepth, true) !== undefined) {
      throw new EnvelopeError(
        'ERR_STATEMENT_INVALID',
        `${statementPath}: nested too deep, duplicate keys or unterminated string`,
        {
          field: '',
        },
      );
    }
    let value: unknown;
    try {
      value = JSON.parse(text);
    } catch {
      throw new EnvelopeError('ERR_STATEMENT_INVALID', `${statementPath}: not valid JSON`, { field: '' });
    }
    const statement = value as Statement;
    const envelope = signEnvelope(statement, keys);
    const encoded = `${encodeEnvelope(envelope)}\n`;
    const digest = statementDigest(buildStatementPayload(statement));
    if (out !== undefined) writeFileAtomic(io.cwd, out, encoded, 0o644);
    if (flag(args, 'json')) {
      printJson(io, {
        digest,
        signers: envelope.signatures.map((s) => s.keyid),
        ...(out !== undefined ? { out } : { envelope }),
      });
    } else if (out !== undefined) {
      io.stdout(`signed ${statementPath} → ${out} (digest ${digest})\n`);
    } else {
      io.stdout(encoded);
    }
    return 0;
  },
};
