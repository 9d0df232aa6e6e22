/** checkSource semantics beyond the corpora: scopes, member entries, positions, results. */
import { describe, expect, it } from 'vitest';
import { checkSource } from '../../src/policy/check.ts';
import { defaultPolicy } from './support.ts';

const rules = (source: string): string[] => checkSource(source, defaultPolicy).violations.map((v) => v.rule);

describe('when a host name is declared locally', () => {
  it('is not a global: parameters, let, catch, function and class names shadow it', () => {
    expect(rules('function f(process) { return process.exit(); }')).toEqual([]);
    expect(rules('{ let require = (x) => x; require("fs"); }')).toEqual([]);
    expect(rules('try {} catch (fetch) { fetch.x; }')).toEqual([]);
    expect(rules('class console { static log() {} } console.log(1);')).toEqual([]);
    expect(rules('var setTimeout = 1; setTimeout + 1;')).toEqual([]);
  });

  it('is a global again outside that scope', () => {
    expect(rules('function f(process) {} process.exit();')).toEqual(['globals.not-allowed']);
  });
});

describe('when globals are allowed by member entries', () => {
  it('allows the listed member, directly, optionally or by a constant computed key', () => {
    expect(rules('Object.keys({}); Object?.values({}); Object["entries"]({});')).toEqual([]);
  });

  it('refuses another member, a bare use, and a dynamic member', () => {
    expect(rules('Object.defineProperty({}, "a", {});')).toEqual(['globals.not-allowed']);
    expect(rules('Object.mystery();')).toEqual(['globals.not-allowed']);
    expect(rules('const O = Object;')).toEqual(['globals.not-allowed']);
    expect(rules('const k = "keys"; Object[k]({});')).toEqual(['globals.not-allowed']);
    expect(rules('f(Object);')).toEqual(['globals.not-allowed', 'globals.not-allowed']);
  });

  it('allows instanceof and typeof on a member-only global', () => {
    expect(rules('const a = {} instanceof Object; const b = typeof Reflect;')).toEqual([]);
  });

  it('lets a bare allowed global use any member not denied', () => {
    expect(rules('Math.max(1, 2); JSON.stringify({}); new Map().set(1, 2);')).toEqual([]);
  });
});

describe('when a class has its own constructor', () => {
  it('accepts the constructor method and super calls, and refuses other constructor uses', () => {
    expect(rules('class A extends Component { constructor(p, c) { super(p, c); } }')).toEqual([]);
    expect(rules('class A extends Component { "constructor"(p, c) { super(p, c); } }')).toEqual([]);
    expect(rules('class A extends Component { m() { return this.constructor; } }')).toEqual([
      'names.forbidden',
    ]);
  });
});

describe('when a violation is reported', () => {
  it('carries rule, message, 1-based line, 0-based column and the trimmed line', () => {
    const result = checkSource(
      'class A extends Component {\n    run() { return process.env; }\n}',
      defaultPolicy,
    );
    expect(result.violations).toEqual([
      {
        rule: 'globals.not-allowed',
        message: expect.stringContaining('process'),
        line: 2,
        column: 19,
        snippet: 'run() { return process.env; }',
      },
    ]);
    expect(result).toMatchObject({
      ok: false,
      blocked: true,
      revision: defaultPolicy.revision,
      mode: 'enforce',
    });
    expect(Object.isFrozen(result)).toBe(true);
  });

  it('counts columns in UTF-16 units after astral characters, and lines after CRLF and U+2028', () => {
    const result = checkSource("const s = '😀';\r\nconst t = '\u2028';\u2028 process.x;", defaultPolicy);
    expect(result.violations).toMatchObject([{ rule: 'globals.not-allowed', line: 4, column: 1 }]); // as acorn's own locations
  });

  it('escapes bidi and control characters in snippets', () => {
    const result = checkSource('process.x; // \u202e gnirts', defaultPolicy);
    expect(result.violations[0]!.snippet).toContain('\\u202e');
  });

  it('sorts violations by position', () => {
    const result = checkSource('b.x;\na.y; c.z;', defaultPolicy);
    expect(result.violations.map((v) => [v.line, v.column])).toEqual([
      [1, 0],
      [2, 0],
      [2, 5],
    ]);
  });
});

describe('when the same requires name appears twice', () => {
  it('reports it once', () => {
    const result = checkSource('1;', defaultPolicy, { requires: ['net', 'net', 'log'] });
    expect(result.violations.map((v) => v.rule)).toEqual(['capability.not-granted']);
  });
});

describe('when `this` is used inside functions and classes', () => {
  it('accepts it in methods, class fields, static blocks, strict IIFEs and ordinary functions', () => {
    expect(
      rules('class A extends Component { x = this; static { this.y = 1; } m() { return () => this; } }'),
    ).toEqual([]);
    expect(rules('const g = (function () { "use strict"; return this; })();')).toEqual([]);
    expect(rules('"use strict";\nconst g = (function () { return this; })();')).toEqual([]);
    expect(
      rules(
        '"use strict";\nfunction F() { this.x = 1; } const o = { m() { return this; }, f: function () { return this; } };',
      ),
    ).toEqual([]);
  });

  it('refuses it in sloppy-mode functions, which any receiver-less call binds to the global object', () => {
    // function leak() { return this; } leak() / (0, o.m)() / [1].map(f): all reach globalThis.
    expect(
      rules(
        'function F() { this.x = 1; } const o = { m() { return this; }, f: function () { return this; } };',
      ),
    ).toEqual(['globals.not-allowed', 'globals.not-allowed', 'globals.not-allowed']);
  });
});
