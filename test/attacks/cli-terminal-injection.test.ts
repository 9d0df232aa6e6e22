/**
 * Attack: an unverified, hostile envelope handed to an operator's `sealbox inspect` / `check` /
 * `diff` carries terminal escape sequences (OSC title / clipboard writes, CSI screen clears) or
 * bidi overrides in places the schema echoes back: an unknown statement field name (quoted in the
 * refusal message), an artifact's unknown field, the repr. The operator's terminal must only ever
 * see them as visible escapes.
 * Layers that must stop it: envelope (refusal messages quote untrusted names escaped) and cli
 * (every text line bound for a terminal goes through one sanitiser).
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { CliIO } from '../../src/cli/context.ts';
import { main } from '../../src/cli/main.ts';
import { canonicalize } from '../../src/envelope/canonical-json.ts';
import { parseStatement } from '../../src/envelope/statement.ts';
import { PAYLOAD_TYPE } from '../../src/envelope/types.ts';
import { makeStatement } from '../trust/fixtures.ts';

const POLICY = new URL('../../policies/default.yaml', import.meta.url).pathname;
const ESC_KEY = '\u001b]52;c;cm0gLXJmIH4=\u0007\u001b[2J';
// eslint-disable-next-line no-control-regex
const DANGEROUS = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069]/;

let dir: string;

async function run(...argv: string[]): Promise<{ code: number; text: string }> {
  let text = '';
  const io: CliIO = { stdout: (t) => void (text += t), stderr: (t) => void (text += t), cwd: dir };
  const code = await main(argv, io);
  return { code, text };
}

/** An unsigned envelope around any statement object (inspect/check/diff never verify). */
function envelopeFile(name: string, statement: object): string {
  const payload = Buffer.from(canonicalize(statement), 'utf8').toString('base64');
  const envelope = {
    payloadType: PAYLOAD_TYPE,
    payload,
    signatures: [{ keyid: 'ab'.repeat(32), sig: Buffer.alloc(64).toString('base64') }],
  };
  writeFileSync(join(dir, name), JSON.stringify(envelope));
  return name;
}

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'sealbox-ansi-'));
});

afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});

describe('when a statement has an unknown field named with escape sequences (layer: envelope)', () => {
  it('throws ERR_STATEMENT_INVALID with the name escaped in the message', () => {
    const statement = { ...makeStatement(), [ESC_KEY]: 1 };
    let message = '';
    try {
      parseStatement(Buffer.from(canonicalize(statement), 'utf8'));
    } catch (error) {
      expect(error).toMatchObject({ code: 'ERR_STATEMENT_INVALID' });
      message = (error as Error).message;
    }
    expect(message).not.toBe('');
    expect(message).not.toMatch(DANGEROUS);
  });

  it('throws ERR_STATEMENT_INVALID with an artifact field name escaped', () => {
    const base = makeStatement() as unknown as { artifacts: Record<string, object> };
    const artifacts = { 'vocab.json': { ...base.artifacts['vocab.json'], [ESC_KEY]: 1 } };
    const statement = { ...base, artifacts };
    let message = '';
    try {
      parseStatement(Buffer.from(canonicalize(statement), 'utf8'));
    } catch (error) {
      expect(error).toMatchObject({ code: 'ERR_STATEMENT_INVALID' });
      message = (error as Error).message;
    }
    expect(message).not.toBe('');
    expect(message).not.toMatch(DANGEROUS);
  });
});

describe('when an operator inspects, checks or diffs a hostile envelope (layer: cli)', () => {
  it('inspect prints the refusal ERR_STATEMENT_INVALID without raw escapes', async () => {
    const file = envelopeFile('unknown-field.json', { ...makeStatement(), [ESC_KEY]: 1 });
    const r = await run('inspect', file);
    expect(r.code).toBe(0);
    expect(r.text).toContain('ERR_STATEMENT_INVALID');
    expect(r.text).not.toMatch(DANGEROUS);
  });

  it('check exits 3 (ERR_STATEMENT_INVALID) without raw escapes on stderr', async () => {
    const file = envelopeFile('unknown-field-2.json', { ...makeStatement(), [ESC_KEY]: 1 });
    const r = await run('check', file, '--policy', POLICY);
    expect(r.code).toBe(3);
    expect(r.text).toContain('ERR_STATEMENT_INVALID');
    expect(r.text).not.toMatch(DANGEROUS);
  });

  it('inspect shows a repr with bidi overrides as visible escapes', async () => {
    const file = envelopeFile(
      'bidi.json',
      makeStatement({ repr: 'Tokenizer(safe=True) \u202egnp.exe\u202c \u2066x\u2069' }),
    );
    const r = await run('inspect', file);
    expect(r.code).toBe(0);
    expect(r.text).toContain('repr');
    expect(r.text).not.toMatch(DANGEROUS);
  });

  it('diff shows params with C1 controls and bidi overrides as visible escapes', async () => {
    const a = envelopeFile('a.json', makeStatement({ params: { k: 'plain' } }));
    const b = envelopeFile(
      'b.json',
      makeStatement({ version: 4, params: { k: '\u009b2J\u202eevil', ['\u202ekey']: 1 } }),
    );
    const r = await run('diff', a, b);
    expect(r.code).toBe(0);
    expect(r.text).toContain('params');
    expect(r.text).not.toMatch(DANGEROUS);
  });
});
