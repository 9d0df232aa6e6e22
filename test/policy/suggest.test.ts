/** suggestPolicy: the least policy a source needs, and that it really is enough. */
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { checkSource } from '../../src/policy/check.ts';
import { suggestPolicy } from '../../src/policy/suggest.ts';
import { defaultPolicy } from './support.ts';

const SOURCE = `class Tok extends Component {
  async run(text) {
    const words = text.split(/\\s+/);
    await this.host.kv.set('n', words.length);
    this.host.log('info', JSON.stringify(Object.keys({ a: 1 })));
    return new Map(words.map((w) => [w, 1]));
  }
}`;

describe('when a component is analysed', () => {
  const s = suggestPolicy(SOURCE);

  it('lists the node types, globals with members, and capabilities it uses', () => {
    expect(s.syntax).toEqual(
      expect.arrayContaining(['ClassDeclaration', 'AwaitExpression', 'ArrowFunctionExpression']),
    );
    expect(s.syntax).not.toContain('WithStatement');
    expect(s.globals).toEqual(['Component', 'JSON.stringify', 'Map', 'Object.keys']);
    expect(s.capabilities).toEqual(['kv', 'log']);
    expect(s.unavailable).toEqual([]);
  });

  it('prints YAML that parses back to the same lists', () => {
    const data = parse(s.yaml) as {
      syntax: { allow: string[] };
      globals: { allow: string[] };
      capabilities: object;
    };
    expect(data.syntax.allow).toEqual(s.syntax);
    expect(data.globals.allow).toEqual(s.globals);
    expect(Object.keys(data.capabilities)).toEqual(['kv', 'log']);
  });

  it('is enough: the source passes a policy that allows exactly what was suggested', () => {
    const least = {
      ...defaultPolicy,
      syntax: new Set(s.syntax),
      globals: new Set(s.globals),
      globalsDenied: new Set<string>(),
    };
    expect(checkSource(SOURCE, least, { requires: [...s.capabilities] }).violations).toEqual([]);
  });
});

describe('when the source does not parse', () => {
  it('throws ERR_POLICY_VIOLATION with a syntax.parse violation', () => {
    expect(() => suggestPolicy('class {')).toThrow(expect.objectContaining({ code: 'ERR_POLICY_VIOLATION' }));
  });

  it('throws ERR_USAGE for a non-string', () => {
    expect(() => suggestPolicy(42 as never)).toThrow(expect.objectContaining({ code: 'ERR_USAGE' }));
  });
});
