/**
 * policies/policy.schema.json repeats grammars that src/names.ts owns and ranges that
 * src/sandbox/limits.ts owns (editors and CI validate policy files with the schema alone). This
 * compares them, the way errors.test.ts compares docs/errors.md with the code, and shows that one
 * capability name works at each place a capability is named: policy grant, statement `requires`,
 * host registration.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { buildStatementPayload, parseStatement } from '../src/envelope/statement.ts';
import {
  CAPABILITY_LIMIT_NAME,
  CAPABILITY_NAME,
  GLOBAL_NAME,
  METHOD_NAME,
  TENANT_NAME,
} from '../src/names.ts';
import { parsePolicyText } from '../src/policy/policy-file.ts';
import { isTenantName } from '../src/policy/load.ts';
import {
  DEFAULT_SANDBOX_LIMITS,
  parseCapabilityGrants,
  parseSandboxLimits,
  RESOURCE_RANGES,
} from '../src/sandbox/limits.ts';
import { createSupervisor } from '../src/sandbox/supervisor.ts';
import { makeStatement } from './trust/fixtures.ts';

interface Schema {
  properties: {
    capabilities: { propertyNames: { pattern: string } };
    resources: { properties: Record<string, { type: string; minimum: number; maximum: number }> };
  };
  then: { properties: { resources: { required: string[] } } };
  $defs: {
    nameList: { items: { pattern: string } };
    capability: { properties: { limits: { propertyNames: { pattern: string } } } };
  };
}

const schema = JSON.parse(
  readFileSync(new URL('../policies/policy.schema.json', import.meta.url), 'utf8'),
) as Schema;
const defaultYaml = readFileSync(new URL('../policies/default.yaml', import.meta.url), 'utf8');

/** default.yaml with one resource replaced (the line `  <key>: <n>` under `resources:`). */
function withResource(key: string, value: number): string {
  const line = new RegExp(`^(\\s+${key}:\\s*)\\d+`, 'm');
  expect(line.test(defaultYaml), `default.yaml sets resources.${key}`).toBe(true);
  return defaultYaml.replace(line, `$1${value}`);
}

function policyAccepts(text: string): boolean {
  try {
    parsePolicyText(text, 'default.yaml', 'base');
    return true;
  } catch {
    return false;
  }
}

function sandboxAccepts(key: string, value: number): boolean {
  try {
    parseSandboxLimits({ ...DEFAULT_SANDBOX_LIMITS, [key]: value });
    return true;
  } catch {
    return false;
  }
}

describe('the policy schema against the name grammars (src/names.ts)', () => {
  it('spells the capability name grammar as CAPABILITY_NAME', () => {
    expect(schema.properties.capabilities.propertyNames.pattern).toBe(CAPABILITY_NAME.source);
  });

  it('spells the capability limit name grammar as CAPABILITY_LIMIT_NAME', () => {
    expect(schema.$defs.capability.properties.limits.propertyNames.pattern).toBe(
      CAPABILITY_LIMIT_NAME.source,
    );
  });

  it('spells the globals and forbidden names grammar as GLOBAL_NAME', () => {
    expect(schema.$defs.nameList.items.pattern).toBe(GLOBAL_NAME.source);
  });

  it('uses TENANT_NAME for overlay file names', () => {
    for (const name of ['acme', 'a.b-c_d', '0x']) expect(isTenantName(name)).toBe(TENANT_NAME.test(name));
    for (const name of ['..', '.acme', 'Acme', 'a/b', 'a'.repeat(65)]) expect(isTenantName(name)).toBe(false);
  });
});

describe('one capability name works everywhere a capability is named', () => {
  // kv and log are built in (their own schema entries, registered by the loader), so not reused here.
  const accepted = ['geo', 'userStore', 'user_store', 'a1', 'x'.repeat(32)];
  const refused = ['my-cap', 'MyCap', '_cap', '$cap', '1cap', 'x'.repeat(33), 'a.b', ''];

  const granted = (name: string): boolean =>
    policyAccepts(
      `${defaultYaml}\n`.replace(
        /^capabilities:\n/m,
        `capabilities:\n  ${JSON.stringify(name)}:\n    granted: true\n    limits: {}\n`,
      ),
    );
  const required = (name: string): boolean => {
    try {
      parseStatement(buildStatementPayload(makeStatement({ requires: [name] })));
      return true;
    } catch {
      return false;
    }
  };
  const registered = (name: string): boolean => {
    try {
      void createSupervisor({ capabilities: [{ name, methods: { get: { handler: () => null } } }] }).close();
      return true;
    } catch {
      return false;
    }
  };
  const sandboxGrant = (name: string): boolean => {
    try {
      parseCapabilityGrants({ [name]: {} });
      return true;
    } catch {
      return false;
    }
  };

  it('accepts the same names in a policy grant, a statement, a host registration and a sandbox grant', () => {
    expect(/^capabilities:$/m.test(defaultYaml)).toBe(true);
    for (const name of accepted) {
      expect(CAPABILITY_NAME.test(name), name).toBe(true);
      expect([granted(name), required(name), registered(name), sandboxGrant(name)], name).toEqual([
        true,
        true,
        true,
        true,
      ]);
    }
  });

  it('refuses the same names in all four places', () => {
    for (const name of refused) {
      expect(CAPABILITY_NAME.test(name), name).toBe(false);
      expect([granted(name), required(name), registered(name), sandboxGrant(name)], name).toEqual([
        false,
        false,
        false,
        false,
      ]);
    }
  });

  it('keeps method names JS identifiers (METHOD_NAME), distinct from capability names', () => {
    expect(METHOD_NAME.test('getUser')).toBe(true);
    expect(METHOD_NAME.test('get-user')).toBe(false);
  });
});

describe('the policy schema against the resource ranges (src/sandbox/limits.ts)', () => {
  const resources = schema.properties.resources.properties;

  it('lists exactly the sandbox resource limits, all required in a base policy', () => {
    expect(Object.keys(resources).sort()).toEqual(Object.keys(RESOURCE_RANGES).sort());
    expect([...schema.then.properties.resources.required].sort()).toEqual(
      Object.keys(RESOURCE_RANGES).sort(),
    );
  });

  it('gives each limit the sandbox range', () => {
    for (const [key, [min, max]] of Object.entries(RESOURCE_RANGES)) {
      expect({
        key,
        type: resources[key]?.type,
        min: resources[key]?.minimum,
        max: resources[key]?.maximum,
      }).toEqual({
        key,
        type: 'integer',
        min,
        max,
      });
    }
  });

  it('accepts in a policy file exactly what the sandbox accepts, at each bound', () => {
    for (const [key, [min, max]] of Object.entries(RESOURCE_RANGES)) {
      for (const value of [min - 1, min, max, max + 1]) {
        const inRange = value >= min && value <= max;
        expect({
          key,
          value,
          policy: policyAccepts(withResource(key, value)),
          sandbox: sandboxAccepts(key, value),
        }).toEqual({
          key,
          value,
          policy: inRange,
          sandbox: inRange,
        });
      }
    }
  });

  it('ships defaults inside the ranges', () => {
    expect(parseSandboxLimits(DEFAULT_SANDBOX_LIMITS)).toEqual(DEFAULT_SANDBOX_LIMITS);
  });
});
