/** `sealbox check`, `sealbox policy validate`, `sealbox policy suggest`, run in-process. */
import { mkdtempSync, rmSync, writeFileSync, mkdirSync, copyFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { main } from '../../src/cli/main.ts';
import type { CliIO } from '../../src/cli/context.ts';
import { encodeEnvelope } from '../../src/envelope/envelope.ts';
import { sha256Hex } from '../../src/envelope/statement.ts';
import { STATEMENT_TYPE, type Statement } from '../../src/envelope/types.ts';
import { generateKeyPair } from '../../src/trust/keys.ts';
import { signEnvelope } from '../../src/trust/sign.ts';
import { POLICIES_DIR } from '../policy/support.ts';

let dir: string;

async function run(...argv: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  let stdout = '';
  let stderr = '';
  const io: CliIO = { stdout: (t) => void (stdout += t), stderr: (t) => void (stderr += t), cwd: dir };
  const code = await main(argv, io);
  return { code, stdout, stderr };
}

function envelopeFor(source: string, requires: string[], tenant = 'acme'): string {
  const statement: Statement = {
    _type: STATEMENT_TYPE,
    tenant,
    identifier: 'probe',
    version: 1,
    entry: 'Probe',
    source,
    sourceSha256: sha256Hex(source),
    params: {},
    artifacts: {},
    requires,
    repr: 'Probe()',
    issuedAt: '2026-01-01T00:00:00.000Z',
    packer: { name: 'sealbox', version: '0.1.0' },
  };
  return encodeEnvelope(signEnvelope(statement, generateKeyPair()));
}

const GOOD =
  'class Probe extends Component {\n  async run() {\n    await this.host.kv.set("k", Object.keys({ a: 1 }));\n  }\n}\n';
const BAD = 'class Probe extends Component {\n  run() {\n    return process.env;\n  }\n}\n';

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'sealbox-cli-policy-'));
  writeFileSync(join(dir, 'good.js'), GOOD);
  writeFileSync(join(dir, 'bad.js'), BAD);
  writeFileSync(join(dir, 'good.envelope.json'), envelopeFor(GOOD, ['kv']));
  writeFileSync(join(dir, 'net.envelope.json'), envelopeFor(GOOD, ['kv', 'net']));
  mkdirSync(join(dir, 'pol', 'tenants'), { recursive: true });
  copyFileSync(join(POLICIES_DIR, 'default.yaml'), join(dir, 'pol', 'default.yaml'));
  writeFileSync(join(dir, 'pol', 'tenants', 'acme.yaml'), 'capabilities:\n  kv:\n    granted: false\n');
  writeFileSync(join(dir, 'broken.yaml'), 'schemaVersion: 1\nrevison: 2\n');
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('when sealbox check reads a clean source', () => {
  it('exits 0 and says ok', async () => {
    const r = await run('check', 'good.js', '--policy', join(POLICIES_DIR, 'default.yaml'));
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('good.js: ok: 0 violation(s)');
  });
});

describe('when sealbox check reads a hostile source', () => {
  it('exits 5 and prints file:line:col rule message and the snippet', async () => {
    const r = await run('check', 'bad.js', '--policy', join(POLICIES_DIR, 'default.yaml'));
    expect(r.code).toBe(5);
    expect(r.stderr).toContain('bad.js:3:11 globals.not-allowed');
    expect(r.stderr).toContain('    return process.env;');
    expect(r.stderr).toContain('REFUSED');
  });

  it('prints one JSON object with --json', async () => {
    const r = await run('check', 'bad.js', '--policy', join(POLICIES_DIR, 'default.yaml'), '--json');
    expect(r.code).toBe(5);
    const out = JSON.parse(r.stdout);
    expect(out).toMatchObject({ ok: false, blocked: true, kind: 'source' });
    expect(out.violations[0]).toMatchObject({ rule: 'globals.not-allowed', line: 3, column: 11 });
  });
});

describe('when sealbox check reads an envelope', () => {
  it('takes requires and tenant from the statement and exits 0 under the default policy', async () => {
    const r = await run(
      'check',
      'good.envelope.json',
      '--policy',
      join(POLICIES_DIR, 'default.yaml'),
      '--json',
    );
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({ ok: true, kind: 'envelope', tenant: 'acme' });
  });

  it('exits 5 with capability.not-granted when the statement requires net', async () => {
    const r = await run('check', 'net.envelope.json', '--policy', join(POLICIES_DIR, 'default.yaml'));
    expect(r.code).toBe(5);
    expect(r.stderr).toContain('net.envelope.json:0:0 capability.not-granted');
  });

  it('applies the tenant overlay from a policy folder', async () => {
    const r = await run('check', 'good.envelope.json', '--policy', 'pol', '--json');
    expect(r.code).toBe(5);
    expect(JSON.parse(r.stdout).violations).toMatchObject([{ rule: 'capability.not-granted' }]);
  });

  it('exits 3 for a malformed envelope', async () => {
    writeFileSync(join(dir, 'junk.json'), '{"payloadType": 1}');
    const r = await run('check', 'junk.json', '--policy', join(POLICIES_DIR, 'default.yaml'));
    expect(r.code).toBe(3);
  });
});

describe('when sealbox check is used wrongly', () => {
  it('exits 2 without --policy', async () => {
    expect((await run('check', 'good.js')).code).toBe(2);
  });

  it('exits 2 for a traversal tenant name', async () => {
    expect((await run('check', 'good.js', '--policy', 'pol', '--tenant', '../x')).code).toBe(2);
  });

  it('exits 3 for a broken policy', async () => {
    expect((await run('check', 'good.js', '--policy', 'broken.yaml')).code).toBe(3);
  });
});

describe('when sealbox policy validate runs', () => {
  it('exits 0 for the shipped policies and a folder with overlays', async () => {
    expect((await run('policy', 'validate', join(POLICIES_DIR, 'default.yaml'))).code).toBe(0);
    expect((await run('policy', 'validate', join(POLICIES_DIR, 'strict.yaml'))).code).toBe(0);
    const r = await run('policy', 'validate', 'pol', '--json');
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({ ok: true, tenants: ['acme'] });
  });

  it('exits 3 naming file and line for a misspelt field', async () => {
    const r = await run('policy', 'validate', 'broken.yaml', '--json');
    expect(r.code).toBe(3);
    const error = JSON.parse(r.stdout).error;
    expect(error).toMatchObject({ code: 'ERR_POLICY_INVALID', line: 2, field: 'revison' });
  });
});

describe('when sealbox policy suggest runs', () => {
  it('prints YAML with the node types, globals and capabilities the source uses', async () => {
    const r = await run('policy', 'suggest', 'good.js');
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('- Object.keys');
    expect(r.stdout).toContain('- ClassDeclaration');
    expect(r.stdout).toContain('kv:');
  });

  it('lists host names that do not exist in the sandbox', async () => {
    const r = await run('policy', 'suggest', 'bad.js', '--json');
    expect(JSON.parse(r.stdout)).toMatchObject({
      unavailable: ['process'],
      globals: ['Component', 'process.env'],
    });
  });

  it('reads an envelope and adds its requires', async () => {
    const r = await run('policy', 'suggest', 'net.envelope.json', '--json');
    expect(JSON.parse(r.stdout).capabilities).toEqual(['kv', 'net']);
  });

  it('exits 5 for a source that does not parse', async () => {
    writeFileSync(join(dir, 'broken.js'), 'class {');
    expect((await run('policy', 'suggest', 'broken.js')).code).toBe(5);
  });
});
