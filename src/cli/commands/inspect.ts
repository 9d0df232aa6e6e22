/** `sealbox inspect`: decode an envelope WITHOUT trusting it; never runs or verifies anything. */
import { SealboxError } from '../../errors.ts';
import { decodeEnvelope } from '../../envelope/envelope.ts';
import { parseStatement, statementDigest } from '../../envelope/statement.ts';
import type { Statement } from '../../envelope/types.ts';
import { flag } from '../args.ts';
import type { Command } from '../context.ts';
import { printJson, terminalSafe } from '../output.ts';
import { readEnvelopeFile } from './envelope-file.ts';

const usage = `Usage: sealbox inspect ENVELOPE [--json]

Decodes an envelope and shows what it claims: signer keyids, tenant, identifier, version, repr,
sizes, requires. NOTHING IS VERIFIED: signatures are not checked and no code runs. Use
\`sealbox verify\` before trusting any of it.

Exit codes: 0 decoded, 2 usage, 3 malformed envelope.`;

function summary(s: Statement): Record<string, unknown> {
  return {
    tenant: s.tenant,
    identifier: s.identifier,
    version: s.version,
    entry: s.entry,
    repr: s.repr,
    requires: s.requires,
    issuedAt: s.issuedAt,
    ...(s.expiresAt !== undefined ? { expiresAt: s.expiresAt } : {}),
    packer: s.packer,
    sourceBytes: new TextEncoder().encode(s.source).length,
    sourceSha256: s.sourceSha256,
    paramsBytes: JSON.stringify(s.params).length,
    artifacts: Object.entries(s.artifacts).map(([name, a]) => ({
      name,
      size: a.size,
      mediaType: a.mediaType,
    })),
    format: s._type,
    // The SBOM (v2): every package bundled into the source, with its files' hashes.
    ...(s.dependencies !== undefined ? { dependencies: s.dependencies } : {}),
  };
}

/** The `sealbox inspect` command (see `usage`). */
export const inspectCommand: Command = {
  name: 'inspect',
  summary: 'decode an envelope without trusting it (nothing is verified or run)',
  usage,
  options: {},
  positionals: { min: 1, max: 1 },
  async run(args, io) {
    const bytes = readEnvelopeFile(io.cwd, args.positionals[0]!);
    const decoded = decodeEnvelope(bytes);
    let statement: Record<string, unknown> | undefined;
    let statementError: Record<string, unknown> | undefined;
    try {
      statement = summary(parseStatement(decoded.payload));
    } catch (error) {
      if (!(error instanceof SealboxError)) throw error;
      statementError = { code: error.code, message: error.message };
    }
    const report = {
      verified: false,
      warning: 'UNVERIFIED: signatures were not checked; do not trust these claims',
      payloadType: decoded.envelope.payloadType,
      envelopeBytes: bytes.length,
      payloadBytes: decoded.payload.length,
      digest: statementDigest(decoded.payload),
      signatures: decoded.envelope.signatures.map((s) => ({ keyid: s.keyid })),
      ...(statement !== undefined ? { statement } : { statementError }),
    };
    if (flag(args, 'json')) {
      printJson(io, report);
      return 0;
    }
    const lines = [
      `UNVERIFIED envelope (signatures not checked; nothing runs)`,
      `payloadType ${report.payloadType}`,
      `sizes       envelope ${report.envelopeBytes} bytes, payload ${report.payloadBytes} bytes`,
      `digest      ${report.digest}`,
      `signatures  ${report.signatures.map((s) => s.keyid).join(', ')}`,
    ];
    if (statement !== undefined) {
      lines.push(
        `component   ${String(statement['tenant'])}/${String(statement['identifier'])} version ${String(statement['version'])}`,
        `entry       ${String(statement['entry'])}`,
        `repr        ${String(statement['repr'])}`,
        `requires    ${(statement['requires'] as string[]).join(', ') || '(none)'}`,
        `source      ${String(statement['sourceBytes'])} bytes`,
        `artifacts   ${(statement['artifacts'] as { name: string; size: number }[]).map((a) => `${a.name} (${a.size} bytes)`).join(', ') || '(none)'}`,
        `issuedAt    ${String(statement['issuedAt'])}${statement['expiresAt'] !== undefined ? `, expiresAt ${String(statement['expiresAt'])}` : ''}`,
        `format      ${String(statement['format'])}`,
        `packages    ${
          (statement['dependencies'] as Statement['dependencies'])
            ?.map(
              (d) =>
                `${d.name}@${d.version} (${d.license}, ${d.files.length} file${d.files.length === 1 ? '' : 's'})`,
            )
            .join(', ') ?? '(none)'
        }`,
      );
    } else {
      lines.push(
        `statement   refused: ${String(statementError?.['code'])}: ${String(statementError?.['message'])}`,
      );
    }
    // Defends against terminal injection: every claim shown here is unverified, attacker-chosen text.
    io.stdout(`${terminalSafe(lines.join('\n'))}\n`);
    return 0;
  },
};
