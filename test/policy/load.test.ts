/**
 * Policy files: loading, schema errors with line numbers, overlays that may only narrow, reload
 * keeping the last good policy, watch, and the deep freeze of what forTenant returns.
 */
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { ConfigError } from '../../src/errors.ts';
import { checkSource, assertSourceAllowed } from '../../src/policy/check.ts';
import { loadPolicy } from '../../src/policy/load.ts';
import { FIXTURES_DIR, POLICIES_DIR } from './support.ts';

const DEFAULT_TEXT = readFileSync(join(POLICIES_DIR, 'default.yaml'), 'utf8');

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'sealbox-policy-'));
});
afterEach(() => {
  rmSync(dir, { recursive: true, force: true });
});

function folder(base: string, tenants: Record<string, string> = {}): string {
  writeFileSync(join(dir, 'default.yaml'), base);
  if (Object.keys(tenants).length > 0) mkdirSync(join(dir, 'tenants'), { recursive: true });
  for (const [name, text] of Object.entries(tenants)) writeFileSync(join(dir, 'tenants', name), text);
  return dir;
}

function configError(fn: () => unknown): ConfigError {
  try {
    fn();
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as ConfigError).code).toBe('ERR_POLICY_INVALID');
    return error as ConfigError;
  }
  return expect.fail('expected ERR_POLICY_INVALID');
}

describe('when no path is given', () => {
  it('loads the shipped default.yaml with the documented values', () => {
    const set = loadPolicy();
    const p = set.forTenant('acme');
    expect(set.revision).toBeGreaterThanOrEqual(1);
    expect(p.mode).toBe('enforce');
    expect(p.resources).toEqual({
      memoryMb: 64,
      callTimeoutMs: 1000,
      maxArgBytes: 1048576,
      maxResultBytes: 1048576,
      maxJsonDepth: 64,
      maxCapabilityCalls: 1000,
      maxConcurrentCalls: 4,
      maxQueuedCalls: 64,
    });
    expect(Object.keys(p.capabilities).sort()).toEqual(['kv', 'log']);
    expect(Object.keys(p.capabilities['kv']!).sort()).toEqual([
      'callsPerSecond',
      'maxKeyBytes',
      'maxKeys',
      'maxTotalBytes',
      'maxValueBytes',
    ]);
    // The per-tenant byte quota that bounds what one tenant's kv data holds (docs/sandbox.md).
    expect(p.capabilities['kv']!['maxTotalBytes']).toBe(8 * 1024 * 1024);
    expect(Object.keys(p.capabilities['log']!).sort()).toEqual(['callsPerSecond', 'maxMessageBytes']);
    expect(p.trust).toEqual({ minSignatures: 1, requireExpiry: false });
    expect(p.globals.has('Object.keys')).toBe(true);
    expect(p.globals.has('Object.defineProperty')).toBe(false);
  });

  it('loads strict.yaml, tighter on every axis', () => {
    const strict = loadPolicy(join(POLICIES_DIR, 'strict.yaml')).forTenant('acme');
    const def = loadPolicy().forTenant('acme');
    expect(strict.source.maxBytes).toBeLessThan(def.source.maxBytes);
    expect(strict.resources.callTimeoutMs).toBeLessThan(def.resources.callTimeoutMs);
    expect([...strict.syntax].every((t) => def.syntax.has(t))).toBe(true);
    expect(strict.capabilities['kv']).toBeUndefined();
  });

  it('strict.yaml still accepts a plain component', () => {
    const strict = loadPolicy(join(POLICIES_DIR, 'strict.yaml')).forTenant('acme');
    const source =
      'class Upper extends Component {\n  async run(text) {\n    await this.host.log("info", "run");\n    return text.toUpperCase().split(/\\s+/).filter(Boolean);\n  }\n}\n';
    expect(checkSource(source, strict, { requires: ['log'] }).violations).toEqual([]);
  });
});

describe('when the effective policy is handed out', () => {
  it('is deep-frozen: sets, limits and grants refuse changes', () => {
    const p = loadPolicy().forTenant('acme');
    expect(Object.isFrozen(p)).toBe(true);
    expect(Object.isFrozen(p.resources)).toBe(true);
    expect(Object.isFrozen(p.capabilities['kv'])).toBe(true);
    expect(() => (p.globals as Set<string>).add('process')).toThrow(TypeError);
    expect(() => (p.syntax as Set<string>).delete('Program')).toThrow(TypeError);
    expect(() => (p.forbiddenNames as Set<string>).clear()).toThrow(TypeError);
    expect(p.globals.has('process')).toBe(false);
  });

  it('throws ERR_USAGE for a tenant name that could traverse paths', () => {
    const set = loadPolicy(join(FIXTURES_DIR, 'folder'));
    for (const bad of ['../acme', 'ACME', '', '.', '..', 'a/b', 'a\\b', 'x'.repeat(65), '__proto__']) {
      expect(() => set.forTenant(bad)).toThrow(expect.objectContaining({ code: 'ERR_USAGE' }));
    }
  });
});

describe('when a folder has tenant overlays', () => {
  const set = loadPolicy(join(FIXTURES_DIR, 'folder'));

  it('lists the tenants and stamps the base revision', () => {
    expect(set.tenants).toEqual(['acme', 'beta']);
    expect(set.revision).toBe(7);
    expect(set.forTenant('acme').revision).toBe(7);
    expect(set.forTenant('acme').tenantRevision).toBe(3);
  });

  it('narrows acme: limits lower, kv revoked, globals denied, trust higher', () => {
    const acme = set.forTenant('acme');
    expect(acme.source.maxBytes).toBe(65536);
    expect(acme.capabilities['kv']).toBeUndefined();
    expect(acme.capabilities['log']).toEqual({ maxMessageBytes: 4096, callsPerSecond: 10 });
    expect(acme.resources.callTimeoutMs).toBe(500);
    expect(acme.trust).toEqual({ minSignatures: 2, requireExpiry: true });
    expect(acme.globals.has('Proxy')).toBe(false);
    expect(
      checkSource('class A extends Component { run() { return new Proxy({}, {}); } }', acme).violations,
    ).toMatchObject([{ rule: 'globals.not-allowed', line: 1, column: 47 }]);
  });

  it('leaves other tenants on the base policy', () => {
    const other = set.forTenant('zeta');
    expect(other.tenantRevision).toBe(0);
    expect(other.globals.has('Proxy')).toBe(true);
    expect(Object.keys(other.capabilities).sort()).toEqual(['kv', 'log']);
  });

  it('refuses a capability revoked by the overlay with ERR_CAPABILITY_NOT_GRANTED', () => {
    const result = checkSource('class A extends Component {}', set.forTenant('acme'), { requires: ['kv'] });
    expect(() => assertSourceAllowed(result)).toThrow(
      expect.objectContaining({ code: 'ERR_CAPABILITY_NOT_GRANTED' }),
    );
  });

  it('adds forbidden names and denied syntax from beta', () => {
    const beta = set.forTenant('beta');
    expect(beta.forbiddenNames.has('arguments')).toBe(true);
    expect(beta.syntax.has('LabeledStatement')).toBe(false);
    expect(checkSource('function f() { return arguments.length; }', beta).ok).toBe(true);
    expect(checkSource('a: for (;;) break a;', beta).violations.map((v) => v.rule)).toEqual([
      'syntax.node-type',
    ]);
  });
});

describe('when an overlay tries to widen the base', () => {
  const cases: [string, string, number][] = [
    ['audit over enforce', 'mode: audit\n', 1],
    ['a higher byte limit', 'source:\n  maxBytes: 99999999\n', 2],
    ['a node type the base does not allow', 'syntax:\n  allow: [Program, WithStatement]\n', 2],
    [
      'a global the base does not allow',
      '# comment\nglobals:\n  allow:\n    - Object.keys\n    - process\n',
      5,
    ],
    ['a capability the base does not define', 'capabilities:\n  net:\n    granted: true\n', 2],
    ['a higher capability limit', 'capabilities:\n  kv:\n    limits:\n      maxKeys: 999999999\n', 4],
    ['a longer timeout', 'resources:\n  callTimeoutMs: 5000\n', 2],
    ['fewer signatures', 'trust:\n  minSignatures: 0\n', 2],
    ['grantable in an overlay', 'capabilities:\n  kv:\n    grantable: true\n', 3],
  ];
  for (const [title, overlay, line] of cases) {
    it(`throws ERR_POLICY_INVALID for ${title}, naming file and line ${line}`, () => {
      folder(DEFAULT_TEXT, { 'acme.yaml': overlay });
      const error = configError(() => loadPolicy(dir));
      expect(error.details['file']).toContain(join('tenants', 'acme.yaml'));
      expect(error.details['line']).toBe(line);
      expect(error.message).toContain(`acme.yaml:${line}:`);
    });
  }

  it('throws ERR_POLICY_INVALID for granting a capability the base neither grants nor marks grantable', () => {
    const base = DEFAULT_TEXT.replace(
      /kv:\n {4}granted: true\n {4}grantable: true/,
      'kv:\n    granted: false\n    grantable: false',
    );
    expect(base).not.toBe(DEFAULT_TEXT);
    folder(base, { 'acme.yaml': 'capabilities:\n  kv:\n    granted: true\n' });
    expect(configError(() => loadPolicy(dir)).details['line']).toBe(3);
  });

  it('accepts granting a capability the base marks grantable', () => {
    const base = DEFAULT_TEXT.replace(/kv:\n {4}granted: true/, 'kv:\n    granted: false');
    folder(base, { 'acme.yaml': 'capabilities:\n  kv:\n    granted: true\n' });
    const set = loadPolicy(dir);
    expect(set.forTenant('acme').capabilities['kv']).toBeDefined();
    expect(set.forTenant('other').capabilities['kv']).toBeUndefined();
  });

  it('accepts an empty overlay as no change', () => {
    folder(DEFAULT_TEXT, { 'acme.yaml': '# nothing yet\n' });
    expect(loadPolicy(dir).forTenant('acme').capabilities['kv']).toBeDefined();
  });

  it('refuses a __proto__ key instead of letting it shape the policy', () => {
    folder(DEFAULT_TEXT, { 'acme.yaml': '__proto__:\n  mode: audit\n' });
    expect(configError(() => loadPolicy(dir)).details['line']).toBe(1);
  });

  it('refuses an overlay file whose name is not a tenant name', () => {
    folder(DEFAULT_TEXT, { 'Bad Name.yaml': 'mode: enforce\n' });
    configError(() => loadPolicy(dir));
  });
});

describe('when a policy file is malformed', () => {
  const base = (edit: (text: string) => string): string => edit(DEFAULT_TEXT);
  const lineOf = (text: string, needle: string): number =>
    text.slice(0, text.indexOf(needle)).split('\n').length;

  it('throws ERR_POLICY_INVALID with the line of a misspelt field', () => {
    const text = base((t) => t.replace('maxNodes:', 'maxNode:'));
    writeFileSync(join(dir, 'p.yaml'), text);
    const error = configError(() => loadPolicy(join(dir, 'p.yaml')));
    expect(error.details['line']).toBe(lineOf(text, 'maxNode:'));
    expect(error.details['field']).toBe('source.maxNode');
  });

  it('throws ERR_POLICY_INVALID with the line of a duplicate key', () => {
    const text = base((t) => t.replace('mode: enforce', 'mode: enforce\nmode: audit'));
    writeFileSync(join(dir, 'p.yaml'), text);
    expect(configError(() => loadPolicy(join(dir, 'p.yaml'))).details['line']).toBe(
      lineOf(text, 'mode: audit'),
    );
  });

  it('throws ERR_POLICY_INVALID with the line of a wrong type', () => {
    const text = base((t) => t.replace('memoryMb: 64', 'memoryMb: lots'));
    writeFileSync(join(dir, 'p.yaml'), text);
    const error = configError(() => loadPolicy(join(dir, 'p.yaml')));
    expect(error.details['line']).toBe(lineOf(text, 'memoryMb: lots'));
    expect(error.message).toContain('resources.memoryMb');
  });

  it('throws ERR_POLICY_INVALID for a missing section', () => {
    const text = base((t) => t.replace(/^trust:[\s\S]*$/m, ''));
    writeFileSync(join(dir, 'p.yaml'), text);
    expect(configError(() => loadPolicy(join(dir, 'p.yaml'))).message).toContain('trust');
  });

  it('throws ERR_POLICY_INVALID for a YAML custom tag', () => {
    writeFileSync(
      join(dir, 'p.yaml'),
      base((t) => t.replace('mode: enforce', 'mode: !!js/function "x"')),
    );
    configError(() => loadPolicy(join(dir, 'p.yaml')));
  });

  it('throws ERR_POLICY_INVALID for a YAML alias bomb', () => {
    const bomb = ['a: &a [x, x, x, x, x, x, x, x, x]'];
    for (let i = 1; i < 9; i++)
      bomb.push(
        `${'abcdefghij'[i]}: &${'abcdefghij'[i]} [${Array(9)
          .fill(`*${'abcdefghij'[i - 1]}`)
          .join(', ')}]`,
      );
    writeFileSync(join(dir, 'p.yaml'), `${bomb.join('\n')}\n`);
    configError(() => loadPolicy(join(dir, 'p.yaml')));
  });

  it('throws ERR_POLICY_INVALID for an empty file, a list, binary and a missing file', () => {
    for (const text of ['', '- 1\n', '\u0000\u0001\u00ff']) {
      writeFileSync(join(dir, 'p.yaml'), text);
      configError(() => loadPolicy(join(dir, 'p.yaml')));
    }
    configError(() => loadPolicy(join(dir, 'missing.yaml')));
  });

  it('reads JSON policies, with duplicate keys refused by line', () => {
    const json = JSON.stringify(loadPolicyAsJson(), null, 2);
    writeFileSync(join(dir, 'p.json'), json);
    expect(loadPolicy(join(dir, 'p.json')).forTenant('a').mode).toBe('enforce');
    const dup = json.replace('"mode": "enforce",', '"mode": "enforce",\n  "mode": "audit",');
    writeFileSync(join(dir, 'p.json'), dup);
    expect(configError(() => loadPolicy(join(dir, 'p.json'))).details['line']).toBe(
      lineOf(dup, '"mode": "audit"'),
    );
  });

  it('refuses a folder without default.yaml', () => {
    configError(() => loadPolicy(dir));
  });
});

function loadPolicyAsJson(): unknown {
  // A JSON twin of the shipped default, built from the YAML (same data, different syntax).
  return JSON.parse(JSON.stringify(parseYaml(DEFAULT_TEXT)));
}

describe('when the policy is reloaded', () => {
  it('applies a good file and keeps the last good policy when the file turns bad', () => {
    copyFileSync(join(POLICIES_DIR, 'default.yaml'), join(dir, 'default.yaml'));
    const set = loadPolicy(dir);
    const rev = set.revision;
    writeFileSync(
      join(dir, 'default.yaml'),
      DEFAULT_TEXT.replace(/^revision: \d+/m, `revision: ${rev + 1}`).replace('memoryMb: 64', 'memoryMb: 48'),
    );
    expect(set.reload()).toEqual({ ok: true, revision: rev + 1 });
    expect(set.forTenant('a').resources.memoryMb).toBe(48);

    writeFileSync(join(dir, 'default.yaml'), 'revision: [oops\n');
    const bad = set.reload();
    expect(bad.ok).toBe(false);
    if (!bad.ok) expect(bad.error.code).toBe('ERR_POLICY_INVALID');
    expect(set.revision).toBe(rev + 1);
    expect(set.forTenant('a').resources.memoryMb).toBe(48);
  });

  it('refuses a reload that lowers the revision', () => {
    writeFileSync(join(dir, 'default.yaml'), DEFAULT_TEXT.replace(/^revision: \d+/m, 'revision: 10'));
    const set = loadPolicy(dir);
    writeFileSync(join(dir, 'default.yaml'), DEFAULT_TEXT.replace(/^revision: \d+/m, 'revision: 9'));
    const result = set.reload();
    expect(result.ok).toBe(false);
    expect(set.revision).toBe(10);
  });

  it('keeps the last good policy when a new overlay is bad', () => {
    folder(DEFAULT_TEXT);
    const set = loadPolicy(dir);
    mkdirSync(join(dir, 'tenants'));
    writeFileSync(join(dir, 'tenants', 'acme.yaml'), 'mode: audit\n');
    expect(set.reload().ok).toBe(false);
    expect(set.forTenant('acme').mode).toBe('enforce');
  });

  it('watch() reloads after a change and stop() ends watching', async () => {
    folder(DEFAULT_TEXT);
    const set = loadPolicy(dir);
    const results: unknown[] = [];
    const reloaded = new Promise<void>((resolve) => {
      const stop = set.watch((result) => {
        results.push(result);
        stop();
        resolve();
      });
      setTimeout(() => {
        writeFileSync(join(dir, 'default.yaml'), DEFAULT_TEXT.replace(/^revision: \d+/m, 'revision: 50'));
      }, 50);
    });
    await reloaded;
    expect(results[0]).toEqual({ ok: true, revision: 50 });
    expect(set.revision).toBe(50);
  });
});

describe('when a policy is in audit mode', () => {
  it('reports violations without blocking, and assertSourceAllowed lets it through', () => {
    writeFileSync(join(dir, 'p.yaml'), DEFAULT_TEXT.replace('mode: enforce', 'mode: audit'));
    const p = loadPolicy(join(dir, 'p.yaml')).forTenant('a');
    const result = checkSource('class A extends Component { run() { return process.env; } }', p);
    expect(result.ok).toBe(false);
    expect(result.blocked).toBe(false);
    expect(result.mode).toBe('audit');
    expect(result.violations.map((v) => v.rule)).toEqual(['globals.not-allowed']);
    expect(() => assertSourceAllowed(result)).not.toThrow();
  });

  it('blocks in enforce mode with ERR_POLICY_VIOLATION carrying every violation', () => {
    const result = checkSource('process.x; require("y");', loadPolicy().forTenant('a'));
    try {
      assertSourceAllowed(result);
      expect.fail('expected a PolicyError');
    } catch (error) {
      expect(error).toMatchObject({ code: 'ERR_POLICY_VIOLATION' });
      expect((error as { violations: unknown[] }).violations).toHaveLength(2);
    }
  });
});

describe('when the same lists are written in another order', () => {
  it('gives the same effective policy (order never matters) and deny beats allow', () => {
    const reversed = DEFAULT_TEXT.replace(
      /( {4}- .*\n)+/g,
      (block) => block.split('\n').filter(Boolean).reverse().join('\n') + '\n',
    );
    expect(reversed).not.toBe(DEFAULT_TEXT);
    writeFileSync(join(dir, 'a.yaml'), DEFAULT_TEXT);
    writeFileSync(join(dir, 'b.yaml'), reversed);
    const a = loadPolicy(join(dir, 'a.yaml')).forTenant('t');
    const b = loadPolicy(join(dir, 'b.yaml')).forTenant('t');
    expect([...b.syntax]).toEqual([...a.syntax]);
    expect([...b.globals]).toEqual([...a.globals]);
    expect([...b.forbiddenNames]).toEqual([...a.forbiddenNames]);

    const both = DEFAULT_TEXT.replace('  deny:\n    - globalThis', '  deny:\n    - Map\n    - globalThis');
    writeFileSync(join(dir, 'c.yaml'), both);
    const c = loadPolicy(join(dir, 'c.yaml')).forTenant('t');
    expect(c.globals.has('Map')).toBe(false);
    expect(checkSource('new Map();', c).violations.map((v) => v.rule)).toEqual(['globals.not-allowed']);
  });
});
