import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import {
  ComponentError,
  ERROR_CODES,
  EnvelopeError,
  PolicyError,
  SandboxError,
  TrustError,
  UsageError,
  exitCodeFor,
  isSealboxError,
} from '../src/errors.ts';

const doc = readFileSync(new URL('../docs/errors.md', import.meta.url), 'utf8');
const documented = [...doc.matchAll(/^### (ERR_[A-Z0-9_]+)$/gm)].map((m) => m[1]);

describe('error codes', () => {
  it('documents every code in docs/errors.md', () => {
    const missing = Object.keys(ERROR_CODES).filter((code) => !documented.includes(code));
    expect(missing).toEqual([]);
  });

  it('has no doc entry without a code', () => {
    const orphans = documented.filter((code) => !(code! in ERROR_CODES));
    expect(orphans).toEqual([]);
  });

  it('documents each code once', () => {
    expect(new Set(documented).size).toBe(documented.length);
  });
});

describe('exit codes', () => {
  it('maps each class to the exit code docs/architecture.md fixes', () => {
    expect(exitCodeFor(new UsageError('ERR_USAGE', 'x'))).toBe(2);
    expect(exitCodeFor(new EnvelopeError('ERR_ENVELOPE_MALFORMED', 'x'))).toBe(3);
    expect(exitCodeFor(new TrustError('ERR_KEY_UNKNOWN', 'x'))).toBe(4);
    expect(exitCodeFor(new PolicyError('ERR_POLICY_VIOLATION', 'x'))).toBe(5);
    expect(exitCodeFor(new SandboxError('ERR_TIMEOUT', 'x'))).toBe(6);
    expect(exitCodeFor(new ComponentError('boom'))).toBe(6);
    expect(exitCodeFor(new Error('untyped'))).toBe(1);
    expect(exitCodeFor('a string')).toBe(1);
  });
});

describe('error objects', () => {
  it('carry code, class name and details as JSON', () => {
    const error = new TrustError('ERR_KEY_REVOKED', 'key abc is revoked', { keyid: 'abc' });
    expect(error.name).toBe('TrustError');
    expect(isSealboxError(error, 'ERR_KEY_REVOKED')).toBe(true);
    expect(isSealboxError(error, 'ERR_KEY_UNKNOWN')).toBe(false);
    expect(JSON.parse(JSON.stringify(error))).toEqual({
      name: 'TrustError',
      code: 'ERR_KEY_REVOKED',
      message: 'key abc is revoked',
      keyid: 'abc',
    });
  });

  it('does not let details override code or message', () => {
    const error = new EnvelopeError('ERR_ENVELOPE_MALFORMED', 'bad', {
      code: 'ERR_NONE',
      message: 'lie',
      name: 'X',
    });
    expect(error.toJSON().name).toBe('EnvelopeError');
    expect(error.toJSON().code).toBe('ERR_ENVELOPE_MALFORMED');
    expect(error.toJSON().message).toBe('bad');
  });
});

describe('the coded error classes (one generic base, empty subclasses)', () => {
  it('keep their names, codes, instanceof and JSON shape', () => {
    const cases = [
      [new UsageError('ERR_USAGE', 'm', { path: 'p' }), 'UsageError'],
      [new EnvelopeError('ERR_ENVELOPE_MALFORMED', 'm', { path: 'p' }), 'EnvelopeError'],
      [new TrustError('ERR_KEY_UNKNOWN', 'm', { path: 'p' }), 'TrustError'],
      [new SandboxError('ERR_TIMEOUT', 'm', { path: 'p' }), 'SandboxError'],
    ] as const;
    for (const [error, name] of cases) {
      expect(error).toBeInstanceOf(Error);
      expect(isSealboxError(error, error.code)).toBe(true);
      expect(error.name).toBe(name);
      expect(JSON.parse(JSON.stringify(error))).toEqual({ path: 'p', name, code: error.code, message: 'm' });
    }
    const cause = new Error('root');
    expect(new UsageError('ERR_IO', 'm', {}, { cause }).cause).toBe(cause);
  });

  it('refuses, at compile time, a code of another kind', () => {
    // @ts-expect-error ERR_TIMEOUT is a SandboxError code
    expect(new UsageError('ERR_TIMEOUT', 'm').code).toBe('ERR_TIMEOUT');
  });
});
