/**
 * Attempts to smuggle host globals past the component layer's free-variable analysis (the packer
 * refuses them; the policy checker relies on the same analysis). Each test names the layer that
 * must stop it: component (src/ast/free-variables.ts, src/component/pack.ts).
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { findFreeVariables } from '../../src/ast/free-variables.ts';
import { pack } from '../../src/component/pack.ts';
import { parseScript } from '../../src/ast/parse.ts';
import { PackError } from '../../src/errors.ts';

const freeIn = (source: string): string[] => findFreeVariables(parseScript(source)).map((r) => r.name);
const dir = mkdtempSync(join(tmpdir(), 'sealbox-attack-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('when a global hides behind a declaration that does not cover it (layer: component)', () => {
  const cases: [string, string, string][] = [
    [
      'a parameter default reading a body var of the same name',
      'function f(a = process) { var process; }',
      'process',
    ],
    ['a block-scoped declaration used after its block', '{ let process = 1; } process.exit();', 'process'],
    ['a catch parameter used after the catch', 'try {} catch (process) {} process;', 'process'],
    ['a class expression name used outside it', 'const C = class process {}; process;', 'process'],
    ['a function expression name used outside it', '(function require() {}); require("fs");', 'require'],
    ['a for-let head used after the loop', 'for (let require of []) {} require;', 'require'],
    ['a static-block var used outside the class', 'class A { static { var fetch = 1; } } fetch;', 'fetch'],
    ['arguments in an arrow at top level', 'const f = () => arguments;', 'arguments'],
    ['a shorthand property', 'const o = { process };', 'process'],
    ['a computed key in a pattern', 'const { [process]: x } = {};', 'process'],
    ['a default inside a destructured parameter', 'function f({ a = require }) {}', 'require'],
    ['a computed class member key', 'class A { [globalThisX]() {} }', 'globalThisX'],
    ['a tagged template', 'setTimeout`x`;', 'setTimeout'],
    ['an optional call', 'a?.b?.(fetch);', 'fetch'],
    ['a unicode-escaped identifier', 'pro\\u0063ess.exit();', 'process'],
    ['a with statement body', 'with ({}) { process; }', 'process'],
    ['a label of the same name', 'process: for (;;) { break process; } process;', 'process'],
  ];
  for (const [what, source, name] of cases) {
    it(`reports ${name} as free: ${what}`, () => {
      expect(freeIn(source)).toContain(name);
    });
  }
});

describe('when a packed module tries to reach host code (layer: component)', () => {
  it('throws ERR_PACK_FREE_VARIABLE for a Node API reached through a kept helper', () => {
    const f = join(dir, 'helper-escape.js');
    writeFileSync(
      f,
      "import { Component } from 'sealbox';\nconst run = (cmd) => require('child_process').execSync(cmd);\nexport class A extends Component { m(c) { return run(c); } }\n",
    );
    try {
      pack(f, { tenant: 'acme', identifier: 'a', version: 1, export: 'A' });
      expect.unreachable();
    } catch (error) {
      expect(error).toBeInstanceOf(PackError);
      expect((error as PackError).code).toBe('ERR_PACK_FREE_VARIABLE');
      expect((error as PackError).message).toContain('require (helper-escape.js:2:21)');
    }
  });

  it('throws ERR_PACK_IMPORT for a dynamic import hidden in a helper', () => {
    const f = join(dir, 'dyn-escape.js');
    writeFileSync(
      f,
      "import { Component } from 'sealbox';\nconst load = () => import('node:fs');\nexport class A extends Component { m() { return load(); } }\n",
    );
    expect(() => pack(f, { tenant: 'acme', identifier: 'a', version: 1, export: 'A' })).toThrow(
      expect.objectContaining({ code: 'ERR_PACK_IMPORT' }) as Error,
    );
  });

  it('keeps the packed source free of anything but sandbox globals even when a helper shadows one', () => {
    const helper = join(dir, 'shadow-helper.js');
    writeFileSync(helper, 'export const wrap = (x) => new Map([[x, 1]]);\n');
    const f = join(dir, 'shadow.js');
    writeFileSync(
      f,
      "import { Component } from 'sealbox';\nimport { wrap } from './shadow-helper.js';\nconst Map = 1;\nexport class A extends Component { m() { return [wrap(1), Map]; } }\n",
    );
    // The entry file's top-level `Map` would capture the helper's global Map once merged: refused.
    expect(() => pack(f, { tenant: 'acme', identifier: 'a', version: 1, export: 'A' })).toThrow(
      expect.objectContaining({ code: 'ERR_PACK_IMPORT' }) as Error,
    );
  });
});
