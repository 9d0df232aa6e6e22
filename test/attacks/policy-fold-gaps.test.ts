/**
 * Forbidden names spelled through constant expressions (layer: policy, rule `names.forbidden`,
 * refused as ERR_POLICY_VIOLATION by the loader). docs/policy.md lists exactly which forms are
 * folded; this file has one hostile case per entry of that list, including the forms issue 16 #7
 * found passing (`const p = [...]; o[p.join('')]`, `String.fromCharCode(...[codes])`, `padStart`,
 * `replace`, `.at(0)`, `/re/.source`, `.slice(0)`). The sandbox stays the boundary: these pin
 * that the filter in front of it does what the doc says.
 */
import { describe, expect, it } from 'vitest';
import { checkSource } from '../../src/policy/check.ts';
import { defaultPolicy, expectViolation } from '../policy/support.ts';

const wrap = (body: string): string => `class Evil extends Component {\n  run(o) {\n    ${body}\n  }\n}\n`;
const key = (expr: string): string => wrap(`return o[/*@*/${expr}];`);

/** [documented form, hostile key expression]: every expression below evaluates to a forbidden name. */
const FOLDED: readonly (readonly [form: string, source: string])[] = [
  ['string literal', key("'constructor'")],
  ['+ concatenation', key("'con' + 'structor'")],
  ['template with folded parts', key("`con${'struc'}tor`")],
  ['String.raw', key('String.raw`constructor`')],
  ['conditional branch', key("o ? 'x' : 'prototype'")],
  ['logical branch', key("o.k || '__proto__'")],
  ['sequence', wrap("return o[(/*@*/0, 'caller')];")],
  ['assignment', wrap("return o[(/*@*/o.k = 'constructor')];")],
  ['const binding', wrap("const k = 'constr' + 'uctor';\n    return o[/*@*/k];")],
  ['String(…)', key("String('prototype')")],
  ['String.fromCharCode(…)', key('String.fromCharCode(99, 97, 108, 108, 101, 114)')],
  ['String.fromCharCode(...[codes])', key('String.fromCharCode(...[99, 97, 108, 108, 101, 114])')],
  ['String.fromCharCode wraps like ToUint16', key('String.fromCharCode(65635, 97, 108, 108, 101, 114)')],
  [
    'String.fromCharCode of a const array',
    wrap('const c = [99, 97, 108, 108, 101, 114];\n    return o[/*@*/String.fromCharCode(...c)];'),
  ],
  ['String.fromCodePoint(…)', key('String.fromCodePoint(99, 97, 108, 108, 101, 114)')],
  ['concat', key("'const'.concat('ruc', 'tor')")],
  ['[…].join(…)', key("['__pro', 'to__'].join('')")],
  ['const array joined', wrap("const p = ['con', 'struc', 'tor'];\n    return o[/*@*/p.join('')];")],
  ['split, reverse, join', key("'rotcurtsnoc'.split('').reverse().join('')")],
  ['array slice then join', key("['x', 'proto', 'type'].slice(1).join('')")],
  ['array concat then join', key("['proto'].concat(['type']).join('')")],
  ['array element', key("['x', 'constructor'][1]")],
  ['const array element', wrap("const names = ['a', 'prototype'];\n    return o[/*@*/names[1]];")],
  ['toLowerCase', key("'CONSTRUCTOR'.toLowerCase()")],
  ['toUpperCase of a lower-case key', key("'caller'.toUpperCase().toLowerCase()")],
  ['trim', key("'  prototype  '.trim()")],
  ['normalize', key("'constructor'.normalize()")],
  ['at as a character picker', key("'c'.at(0) + 'onstructor'")],
  ['charAt', key("'c'.charAt(0) + 'aller'")],
  ['slice(0)', key("'prototype'.slice(0)")],
  ['slice with bounds', key("'xxprototypexx'.slice(2, -2)")],
  ['substring', key("'xxcallerxx'.substring(2, 8)")],
  ['substr', key("'xxcaller'.substr(2)")],
  ['padStart', key("'tor'.padStart(11, 'construc')")],
  ['padEnd', key("'proto'.padEnd(9, 'type')")],
  ['repeat', key("'_'.repeat(2) + 'proto' + '_'.repeat(2)")],
  ['replace with a string pattern', key("'xonstructor'.replace('x', 'c')")],
  ['replaceAll with a string pattern', key("'-_proto_-'.replaceAll('-', '_')")],
  ['/re/.source', key('/constructor/.source')],
  ['decodeURIComponent', key("decodeURIComponent('%63onstructor')")],
  ['JSON.parse', key('JSON.parse(\'"__proto__"\')')],
  ['[x] as a key', key("['caller']")],
];

describe('when a forbidden name is spelled with a folded constant expression', () => {
  for (const [form, source] of FOLDED) {
    it(`refuses ${form} as names.forbidden at the key`, () => {
      expectViolation(source, 'names.forbidden');
    });
  }
});

describe('when a constant key cannot be folded exactly', () => {
  it('refuses a regular-expression replace on a constant (never runs a tenant regex) as too complex', () => {
    const result = checkSource(key("'xonstructor'.replace(/x/, 'c')"), defaultPolicy);
    expect(result.violations.map((v) => v.message)).toEqual([expect.stringContaining('too complex')]);
  });

  it('refuses shortening a constant longer than any name (only its prefix is known) as too complex', () => {
    const long = `${' '.repeat(300)}constructor`;
    for (const expr of [
      `'${long}'.trim()`,
      `'${long}'.slice(300)`,
      `('${' '.repeat(300)}' + 'constructor').trimStart()`,
    ]) {
      const result = checkSource(key(expr), defaultPolicy);
      expect(
        result.violations.map((v) => v.rule),
        expr,
      ).toEqual(['names.forbidden']);
    }
  });

  it('still passes ordinary dynamic and constant keys (no false positive)', () => {
    const source = wrap(
      "const p = ['a', 'b'];\n    const k = 'na' + 'me';\n    return [o[k], o[p.join('-')], o['x'.padStart(3, '-')], o[String.fromCharCode(...[104, 105])], o[o.k.slice(1)]];",
    );
    expect(checkSource(source, defaultPolicy).violations).toEqual([]);
  });
});
