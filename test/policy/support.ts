/** Shared helpers for policy tests: the shipped policies and a marker-based position finder. */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { expect } from 'vitest';
import type { Violation } from '../../src/errors.ts';
import { checkSource } from '../../src/policy/check.ts';
import { loadPolicy } from '../../src/policy/load.ts';
import type { CheckResult, EffectivePolicy } from '../../src/policy/types.ts';

export const POLICIES_DIR = fileURLToPath(new URL('../../policies/', import.meta.url));
export const FIXTURES_DIR = fileURLToPath(new URL('../fixtures/policies/', import.meta.url));

export const defaultPolicy: EffectivePolicy = loadPolicy().forTenant('acme');
export const strictPolicy: EffectivePolicy = loadPolicy(`${POLICIES_DIR}strict.yaml`).forTenant('acme');

/**
 * default.yaml granting BigInt, the way an operator would (docs/policy.md, BigInt): the pseudo
 * type BigIntLiteral and the BigInt globals. `callTimeoutMs`, when given, replaces the default's.
 */
export function bigintGrantingPolicyText(callTimeoutMs?: number): string {
  const text = readFileSync(`${POLICIES_DIR}default.yaml`, 'utf8');
  let granted = text
    .replace('\n    - Literal\n', '\n    - Literal\n    - BigIntLiteral\n')
    .replace('\n    - Number\n', '\n    - Number\n    - BigInt\n    - BigInt64Array\n    - BigUint64Array\n');
  if (callTimeoutMs !== undefined)
    granted = granted.replace(/callTimeoutMs: \d+/, `callTimeoutMs: ${callTimeoutMs}`);
  expect(granted.split('\n').length).toBe(text.split('\n').length + 4);
  return granted;
}

/** The marker placed right before the token a violation must point at. */
export const MARK = '/*@*/';

/** 1-based line and 0-based column of the character after the first MARK. */
export function markedPosition(source: string): { line: number; column: number } {
  const at = source.indexOf(MARK);
  if (at < 0) throw new Error('test source has no marker');
  const before = source.slice(0, at + MARK.length);
  const lines = before.split('\n');
  return { line: lines.length, column: lines[lines.length - 1]!.length };
}

/** Checks `source` and asserts a violation of `rule` at the marker (or at 0:0 without one). */
export function expectViolation(
  source: string,
  rule: string,
  policy: EffectivePolicy = defaultPolicy,
  requires?: readonly string[],
): CheckResult {
  const result = checkSource(source, policy, requires ? { requires } : undefined);
  const where = source.includes(MARK) ? markedPosition(source) : { line: 0, column: 0 };
  const match = result.violations.find(
    (v: Violation) => v.rule === rule && v.line === where.line && v.column === where.column,
  );
  if (!match) {
    expect.fail(
      `expected ${rule} at ${where.line}:${where.column}, got ${JSON.stringify(result.violations.map((v) => `${v.rule}@${v.line}:${v.column}`))}`,
    );
  }
  expect(result.ok).toBe(false);
  expect(result.blocked).toBe(policy.mode === 'enforce');
  return result;
}
