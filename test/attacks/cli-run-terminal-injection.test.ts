/**
 * Attack (issue 16 #6): a component returns, and logs through `this.host.log`, text carrying a C1
 * control (U+009B is a one-byte CSI: `\u009b2J` clears the screen on many terminals) and a bidi
 * override (U+202E). `sealbox run` printed results and log lines with JSON.stringify only, which
 * escapes C0 controls but lets both through to the operator's terminal.
 * Layer that must stop it: cli (output.ts jsonText: JSON.stringify, then visibleText, for the
 * result, the log lines and the decision events). The printed JSON still parses to the same value.
 */
import { readFileSync, rmSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { CliIO } from '../../src/cli/context.ts';
import { main } from '../../src/cli/main.ts';
import { encodeEnvelope } from '../../src/envelope/envelope.ts';
import { makeWorld, type World } from '../e2e/helpers.ts';

const HOSTILE = '\u009b2J\u001b]0;owned\u0007\u202eevil\u2028';
// eslint-disable-next-line no-control-regex
const DANGEROUS = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069\u2028\u2029]/;

let world: World;
let policy: string;

beforeAll(() => {
  world = makeWorld();
  // The default policy with a longer call budget: this file tests what the CLI prints; the
  // sandbox's time model on a loaded machine is another issue's.
  const defaults = readFileSync(new URL('../../policies/default.yaml', import.meta.url), 'utf8');
  policy = world.write('policy.yaml', defaults.replace(/callTimeoutMs: 1000/, 'callTimeoutMs: 20000'));
  const file = world.write(
    'loud.js',
    [
      "import { Component } from 'sealbox';",
      'export class Loud extends Component {',
      '  async shout() {',
      `    const text = ${JSON.stringify(HOSTILE)};`,
      "    await this.host.log('info', text, { [text]: text });",
      '    return { [text]: [text] };',
      '  }',
      '}',
    ].join('\n'),
  );
  const envelope = world.envelope(file, { export: 'Loud', identifier: 'loud', requires: ['log'] });
  world.write('loud.envelope.json', encodeEnvelope(envelope));
});

afterAll(() => {
  rmSync(world.dir, { recursive: true, force: true });
});

async function run(...extra: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const io: CliIO = { stdout: (t) => void (out += t), stderr: (t) => void (err += t), cwd: world.dir };
  const argv = ['run', 'loud.envelope.json', '--keyring', world.keyringPath, '--policy', policy];
  const code = await main([...argv, '--tenant', 'acme', '--call', 'shout', '--state', 'state', ...extra], io);
  return { code, out, err };
}

describe('when a component returns and logs terminal escapes (layer: cli run)', () => {
  it.each([[[]], [['--json']]])(
    'prints them only as visible escapes (%j)',
    async (extra) => {
      const { code, out, err } = await run(...extra);
      expect(code, err).toBe(0);
      expect(out).not.toMatch(DANGEROUS);
      expect(err).not.toMatch(DANGEROUS);
      // Still the same JSON: the escapes are JSON escapes of the same characters.
      const printed = JSON.parse(out) as unknown;
      const result = extra.length > 0 ? (printed as { result: unknown }).result : printed;
      expect(result).toEqual({ [HOSTILE]: [HOSTILE] });
      const log = err
        .split('\n')
        .filter((line) => line.startsWith('{'))
        .map((line) => JSON.parse(line) as { type: string; message?: string })
        .find((entry) => entry.type === 'log');
      expect(log?.message).toBe(HOSTILE);
    },
    60_000,
  );
});
