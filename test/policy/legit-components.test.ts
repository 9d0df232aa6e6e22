/**
 * Idiomatic legitimate components must pass the default policy with zero violations: a false
 * positive is a bug, as much as a miss. Each fixture is also compiled by V8 as a script, so the
 * corpus is real JavaScript the sandbox would accept.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { Script } from 'node:vm';
import { describe, expect, it } from 'vitest';
import { checkSource } from '../../src/policy/check.ts';
import { defaultPolicy, FIXTURES_DIR } from './support.ts';

const DIR = `${FIXTURES_DIR}legit/`;
const FILES = readdirSync(DIR)
  .filter((f) => f.endsWith('.js'))
  .sort();

describe('when idiomatic components are checked against the default policy', () => {
  it('has at least 20 of them', () => {
    expect(FILES.length).toBeGreaterThanOrEqual(20);
  });

  for (const file of FILES) {
    it(`accepts ${file} with zero violations`, () => {
      const source = readFileSync(`${DIR}${file}`, 'utf8');
      // V8 compiles it as a script (the goal the sandbox uses).
      expect(() => new Script(source)).not.toThrow();
      const result = checkSource(source, defaultPolicy, { requires: ['log', 'kv'] });
      expect(result.violations).toEqual([]);
      expect(result.ok).toBe(true);
      expect(result.blocked).toBe(false);
      expect(result.stats.nodes).toBeGreaterThan(10);
    });
  }
});
