/** Every rule id is documented in docs/policy.md with an example, and every documented id exists. */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { POLICY_RULES } from '../../src/policy/rules.ts';

const doc = readFileSync(new URL('../../docs/policy.md', import.meta.url), 'utf8');
const documented = [...doc.matchAll(/^\| `([a-z]+\.[a-z-]+)` \|/gm)].map((m) => m[1]!);

describe('when the rule table and docs/policy.md are compared', () => {
  it('documents every rule id', () => {
    expect(Object.keys(POLICY_RULES).filter((rule) => !documented.includes(rule))).toEqual([]);
  });

  it('documents no rule id that does not exist', () => {
    expect(documented.filter((rule) => !(rule in POLICY_RULES))).toEqual([]);
  });

  it('gives each documented rule an example column', () => {
    for (const rule of documented) {
      const row = doc.split('\n').find((line) => line.startsWith(`| \`${rule}\` |`))!;
      expect(row.split('|').length, rule).toBeGreaterThanOrEqual(5);
      expect(row.split('|')[3]!.trim().length, rule).toBeGreaterThan(0);
    }
  });
});
