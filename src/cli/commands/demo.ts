/**
 * `sealbox demo`: the main job on embedded defaults. In a temporary folder: a key and a keyring,
 * an example component packed and signed, loaded as tenant acme and called; then three refusals,
 * each with its reason: a tampered envelope (trust), a source breaking the policy (rule, line,
 * snippet), and an infinite loop stopped by the sandbox while tenant globex keeps working.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { pack } from '../../component/pack.ts';
import { encodeEnvelope } from '../../envelope/envelope.ts';
import type { Envelope } from '../../envelope/types.ts';
import { PolicyError, SealboxError } from '../../errors.ts';
import { createLoader } from '../../loader.ts';
import { generateKeyPair, type KeyPair } from '../../trust/keys.ts';
import { Keyring } from '../../trust/keyring.ts';
import { signEnvelope } from '../../trust/sign.ts';
import { flag } from '../args.ts';
import type { CliIO, Command } from '../context.ts';
import { printJson } from '../output.ts';

const CHUNKER = fileURLToPath(new URL('../../../examples/text-chunker/chunker.ts', import.meta.url));

const HOSTILE_SOURCE = `import { Component } from 'sealbox';

export class Exfiltrator extends Component {
  steal() {
    const env = globalThis.process.env;
    return Object.keys(env);
  }
}
`;

const SPINNER_SOURCE = `import { Component } from 'sealbox';

export class Spinner extends Component {
  spin() {
    let n = 0;
    for (;;) n++;
  }
}
`;

const TEXT =
  'Sealbox ships component classes as signed envelopes. A node checks the signature against its keyring, ' +
  'checks the source against policy, and runs the class inside an isolate in a worker process. ' +
  'Pickle and dill run whatever bytes they are given; sealbox runs only what a trusted key signed and ops allowed.';

function tamper(envelope: Envelope): string {
  // Change one byte of the signed statement (version 1 → 9), keeping the signature.
  const payload = Buffer.from(envelope.payload, 'base64')
    .toString('utf8')
    .replace('"version":1', '"version":9');
  return encodeEnvelope({ ...envelope, payload: Buffer.from(payload).toString('base64') });
}

function describeError(error: unknown): string {
  if (error instanceof PolicyError) {
    const lines = error.violations.map(
      (v) => `      line ${v.line}:${v.column}  ${v.rule}  ${v.message}\n        > ${v.snippet}`,
    );
    return `${error.code}\n${lines.join('\n')}`;
  }
  if (error instanceof SealboxError) return `${error.code}: ${error.message}`;
  throw error;
}

async function runDemo(io: CliIO): Promise<number> {
  const say = (text = '') => io.stdout(`${text}\n`);
  const started = performance.now();
  const dir = mkdtempSync(join(tmpdir(), 'sealbox-demo-'));
  try {
    say('sealbox demo: signed components, checked by policy, run in a sandbox');
    say(`  working folder ${dir}`);
    say();

    // 1. A signing key, and a keyring that trusts it for two tenants.
    const key: KeyPair = generateKeyPair();
    const keyring = Keyring.empty().withKey({
      keyid: key.keyid,
      publicKey: Buffer.from(key.publicKey).toString('base64'),
      tenants: ['acme', 'globex'],
      identifiers: ['*'],
      status: 'active',
      comment: 'demo key',
    });
    writeFileSync(join(dir, 'keyring.json'), `${JSON.stringify(keyring.toJSON(), null, 2)}\n`);
    say(`1. key ${key.keyid.slice(0, 16)}… trusted for tenants acme and globex`);

    // 2. Pack and sign the example component, once per tenant.
    const sign = (tenant: string, file: string, exportName: string, identifier: string, params = {}) =>
      signEnvelope(pack(file, { export: exportName, tenant, identifier, version: 1, params }), key);
    const chunkerParams = { maxChars: 120, overlap: 20 };
    const acmeChunker = sign('acme', CHUNKER, 'TextChunker', 'chunker', chunkerParams);
    const globexChunker = sign('globex', CHUNKER, 'TextChunker', 'chunker', chunkerParams);
    say('2. packed examples/text-chunker/chunker.ts (TextChunker) and signed it for each tenant');

    const loader = createLoader({
      keyring,
      workers: 2,
      onJail: (status) =>
        say(
          status.jailed
            ? '   sandbox workers run in the OS jail (bubblewrap)'
            : `   sandbox workers run WITHOUT the OS jail: ${status.reason ?? 'unknown'}`,
        ),
    });
    try {
      // 3. Load as acme and call.
      const chunker = await loader.load(acmeChunker, { tenant: 'acme' });
      const chunks = (await chunker.call('chunk', TEXT)) as { index: number; text: string }[];
      say(`3. loaded as acme; chunk(text) returned ${chunks.length} chunks:`);
      for (const c of chunks) say(`     [${c.index}] ${c.text.slice(0, 70)}${c.text.length > 70 ? '…' : ''}`);
      say();
      say('Three refusals:');

      // 4. Tampered envelope: trust refuses it.
      try {
        await loader.load(tamper(acmeChunker), { tenant: 'acme' });
        say('  ✗ tampered envelope was accepted (this is a bug)');
        return 1;
      } catch (error) {
        say(`  a) tampered envelope (one byte of the statement changed) → refused by trust:`);
        say(`       ${describeError(error)}`);
      }

      // 5. A source breaking the policy.
      const hostileFile = join(dir, 'exfiltrator.js');
      writeFileSync(hostileFile, HOSTILE_SOURCE);
      try {
        await loader.load(sign('acme', hostileFile, 'Exfiltrator', 'exfiltrator'), { tenant: 'acme' });
        say('  ✗ hostile source was accepted (this is a bug)');
        return 1;
      } catch (error) {
        say(`  b) signed source reading globalThis.process → refused by policy before any isolate exists:`);
        say(`       ${describeError(error)}`);
      }

      // 6. An infinite loop, while another tenant keeps working.
      const spinnerFile = join(dir, 'spinner.js');
      writeFileSync(spinnerFile, SPINNER_SOURCE);
      const spinner = await loader.load(sign('acme', spinnerFile, 'Spinner', 'spinner'), { tenant: 'acme' });
      const globex = await loader.load(globexChunker, { tenant: 'globex' });
      const t0 = performance.now();
      const spin = spinner.call('spin').then(
        () => 'returned (this is a bug)',
        (error: unknown) => describeError(error),
      );
      let globexCalls = 0;
      let spinDone = false;
      void spin.finally(() => (spinDone = true));
      while (!spinDone) {
        await globex.call('stats', TEXT);
        globexCalls++;
      }
      const outcome = await spin;
      say(
        `  c) acme's spin() runs for(;;) → stopped by the sandbox after ${Math.round(performance.now() - t0)} ms:`,
      );
      say(`       ${outcome}`);
      say(`     meanwhile tenant globex completed ${globexCalls} calls in its own isolate`);
      const after = (await chunker.call('stats', TEXT)) as { chunks: number };
      say(`     and acme's chunker still answers: stats(text).chunks = ${after.chunks}`);
    } finally {
      await loader.close();
    }
    say();
    say(`done in ${((performance.now() - started) / 1000).toFixed(1)} s`);
    return 0;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

export const demoCommand: Command = {
  name: 'demo',
  summary: 'run the end-to-end demo on embedded defaults (keys, pack, load, three refusals)',
  usage:
    'Usage: sealbox demo [--json]\n\nRuns the end-to-end demo in a temporary folder; touches nothing else.\nWith --json, the transcript is printed as one JSON object { ok, transcript }.',
  options: {},
  positionals: { min: 0, max: 0 },
  async run(args, io) {
    if (!flag(args, 'json')) return runDemo(io);
    // With --json the transcript is collected and printed as the one JSON object on stdout.
    let transcript = '';
    const code = await runDemo({ ...io, stdout: (text) => void (transcript += text) });
    printJson(io, { ok: code === 0, transcript: transcript.split('\n').filter((line) => line !== '') });
    return code;
  },
};
