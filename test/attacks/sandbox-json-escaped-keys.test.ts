/**
 * A compromised worker spells dropped keys with JSON escapes, hoping the host's JSON decoding keeps
 * them. Layer that must stop it: the sandbox host's decodeJson (src/sandbox/json.ts).
 */
import { describe, expect, it } from 'vitest';
import { decodeJson } from '../../src/sandbox/json.ts';

const decode = (text: string): unknown => decodeJson(text, 1 << 20, 16, 'ERR_RESULT_INVALID', 'the result');

describe('when worker JSON spells __proto__, constructor or prototype with escapes', () => {
  it('drops the escaped keys at every depth', () => {
    const value = decode(
      '{"\\u005f_proto__":{"polluted":1},"a":{"construct\\u006fr":1,"prot\\u006ftype":2,"ok":3},"b":4}',
    ) as Record<string, unknown>;
    expect(Object.getOwnPropertyNames(value)).toEqual(['a', 'b']);
    expect(Object.getOwnPropertyNames(value['a'])).toEqual(['ok']);
    // A host merging the value must not get a polluted prototype.
    const merged = Object.assign({}, value) as Record<string, unknown>;
    expect(Object.getPrototypeOf(merged)).toBe(Object.prototype);
    expect(merged['polluted']).toBeUndefined();
  });

  it('still decodes ordinary escapes unchanged', () => {
    expect(decode('{"k\\u0041":"line\\nbreak \\"q\\""}')).toEqual({ kA: 'line\nbreak "q"' });
  });
});
