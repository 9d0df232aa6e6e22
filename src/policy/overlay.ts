/**
 * From validated files to the effective policy of one tenant: the base, narrowed by the tenant's
 * overlay. An overlay may only narrow; the one exception is granting a capability the base marks
 * `grantable`. Anything that widens is refused when the files are loaded, not when a tenant loads.
 */
import { ConfigError } from '../errors.ts';
import { FrozenSet } from '../ast/frozen-set.ts';
import type { PolicyFile, RawAllowDeny, RawPolicy } from './policy-file.ts';
import {
  DEFAULT_ENVELOPE_SIZE,
  type CapabilityGrants,
  type EffectivePolicy,
  type EnvelopeSizeLimits,
  type ResourceLimits,
  type SourceLimits,
} from './types.ts';

/** The base policy after validation, with every section present. */
interface Base {
  readonly revision: number;
  readonly mode: 'enforce' | 'audit';
  readonly source: SourceLimits;
  readonly syntaxAllow: readonly string[];
  readonly syntaxDeny: readonly string[];
  readonly globalsAllow: readonly string[];
  readonly globalsDeny: readonly string[];
  readonly forbidden: readonly string[];
  readonly inAllStrings: boolean;
  readonly capabilities: Readonly<Record<string, Required<RawCapabilityFull>>>;
  readonly resources: ResourceLimits;
  readonly trust: { readonly minSignatures: number; readonly requireExpiry: boolean };
  readonly envelope: EnvelopeSizeLimits;
}

interface RawCapabilityFull {
  granted: boolean;
  grantable: boolean;
  limits: Readonly<Record<string, number>>;
}

function invalid(file: PolicyFile, path: readonly (string | number)[], text: string): ConfigError {
  const line = file.lineOf(path);
  return new ConfigError('ERR_POLICY_INVALID', `${file.file}:${line}: ${path.join('.')}: ${text}`, {
    file: file.file,
    line,
    field: path.join('.'),
  });
}

function entries<T>(record: Readonly<Record<string, T>> | undefined): [string, T][] {
  return record ? Object.entries(record) : [];
}

/**
 * Checks that a validated file is a complete base policy and returns it normalised.
 * @throws ConfigError `ERR_POLICY_INVALID` when the file is an overlay or breaks a base rule.
 */
export function toBase(file: PolicyFile): Base {
  const p = file.policy;
  if (p.overlay !== undefined)
    throw invalid(
      file,
      ['overlay'],
      'a base policy cannot be an overlay (overlays live in tenants/<tenant>.yaml)',
    );
  // The schema requires every section of a base; these reads cannot miss.
  const capabilities: Record<string, Required<RawCapabilityFull>> = Object.create(null) as Record<
    string,
    Required<RawCapabilityFull>
  >;
  for (const [name, cap] of entries(p.capabilities)) {
    capabilities[name] = Object.freeze({
      granted: cap.granted === true,
      grantable: cap.grantable === true || cap.granted === true,
      limits: Object.freeze({ ...cap.limits }),
    });
  }
  return {
    revision: p.revision!,
    mode: p.mode!,
    source: { maxBytes: p.source!.maxBytes!, maxNodes: p.source!.maxNodes!, maxDepth: p.source!.maxDepth! },
    syntaxAllow: p.syntax!.allow!,
    syntaxDeny: p.syntax!.deny ?? [],
    globalsAllow: p.globals!.allow!,
    globalsDeny: p.globals!.deny ?? [],
    forbidden: p.forbiddenNames!.names!,
    inAllStrings: p.forbiddenNames!.inAllStrings === true,
    capabilities,
    resources: p.resources as unknown as ResourceLimits,
    trust: { minSignatures: p.trust!.minSignatures!, requireExpiry: p.trust!.requireExpiry! },
    envelope: { ...DEFAULT_ENVELOPE_SIZE, ...p.envelope },
  };
}

function effectiveAllow(allow: readonly string[], deny: readonly string[]): string[] {
  // Deny beats allow; order never matters (sets, sorted for stable output).
  const denied = new Set(deny);
  return [...new Set(allow)].filter((name) => !denied.has(name)).sort();
}

function narrowList(
  file: PolicyFile,
  section: 'syntax' | 'globals',
  baseAllowed: readonly string[],
  overlay: RawAllowDeny | undefined,
): string[] {
  if (overlay?.allow === undefined) return [...baseAllowed];
  const base = new Set(baseAllowed);
  overlay.allow.forEach((name, index) => {
    if (!base.has(name)) {
      throw invalid(
        file,
        [section, 'allow', index],
        `"${name}" is not allowed by the base policy; an overlay may only narrow`,
      );
    }
  });
  return [...overlay.allow];
}

function narrowNumber(
  file: PolicyFile,
  path: readonly string[],
  base: number,
  value: number | undefined,
  direction: 'lower' | 'higher',
): number {
  if (value === undefined) return base;
  if (direction === 'lower' ? value > base : value < base) {
    throw invalid(
      file,
      path,
      `${value} widens the base (${base}); an overlay may only set it ${direction === 'lower' ? 'lower' : 'higher'}`,
    );
  }
  return value;
}

/**
 * Checks an overlay against the base, throwing on anything that widens.
 * @throws ConfigError `ERR_POLICY_INVALID` naming the overlay's file, line and field.
 */
export function checkOverlay(base: Base, file: PolicyFile): void {
  buildEffective(base, file, 'check');
}

/**
 * The effective policy for `tenant`: base, narrowed by `overlay` when there is one. Deep-frozen.
 * @throws ConfigError `ERR_POLICY_INVALID` when the overlay widens the base.
 */
export function buildEffective(base: Base, overlay: PolicyFile | undefined, tenant: string): EffectivePolicy {
  const o: RawPolicy = overlay?.policy ?? { schemaVersion: 1, overlay: true };
  const file = overlay ?? { file: '(base)', policy: o, lineOf: () => 0 };
  if (overlay && o.overlay !== true) {
    throw invalid(file, ['overlay'], 'a tenant file is an overlay (it may only narrow the base)');
  }

  let mode = base.mode;
  if (o.mode !== undefined) {
    if (o.mode === 'audit' && base.mode === 'enforce') {
      throw invalid(
        file,
        ['mode'],
        'audit widens the base (enforce); an overlay may only switch audit to enforce',
      );
    }
    mode = o.mode;
  }

  const source: SourceLimits = {
    maxBytes: narrowNumber(file, ['source', 'maxBytes'], base.source.maxBytes, o.source?.maxBytes, 'lower'),
    maxNodes: narrowNumber(file, ['source', 'maxNodes'], base.source.maxNodes, o.source?.maxNodes, 'lower'),
    maxDepth: narrowNumber(file, ['source', 'maxDepth'], base.source.maxDepth, o.source?.maxDepth, 'lower'),
  };

  const baseSyntax = effectiveAllow(base.syntaxAllow, base.syntaxDeny);
  const syntax = effectiveAllow(narrowList(file, 'syntax', baseSyntax, o.syntax), [
    ...base.syntaxDeny,
    ...(o.syntax?.deny ?? []),
  ]);
  const baseGlobals = effectiveAllow(base.globalsAllow, base.globalsDeny);
  const globalsDenied = [...new Set([...base.globalsDeny, ...(o.globals?.deny ?? [])])].sort();
  const globals = effectiveAllow(narrowList(file, 'globals', baseGlobals, o.globals), globalsDenied);

  const forbidden = [...new Set([...base.forbidden, ...(o.forbiddenNames?.names ?? [])])].sort();
  let inAllStrings = base.inAllStrings;
  if (o.forbiddenNames?.inAllStrings !== undefined) {
    if (base.inAllStrings && !o.forbiddenNames.inAllStrings) {
      throw invalid(file, ['forbiddenNames', 'inAllStrings'], 'false widens the base (true)');
    }
    inAllStrings = o.forbiddenNames.inAllStrings;
  }

  const grants: Record<string, Readonly<Record<string, number>>> = Object.create(null) as Record<
    string,
    Readonly<Record<string, number>>
  >;
  const overlayCaps = o.capabilities ?? {};
  for (const [name] of entries(overlayCaps)) {
    if (!Object.hasOwn(base.capabilities, name)) {
      throw invalid(file, ['capabilities', name], `capability "${name}" is not defined by the base policy`);
    }
  }
  for (const [name, cap] of entries(base.capabilities)) {
    const over = Object.hasOwn(overlayCaps, name) ? overlayCaps[name] : undefined;
    let granted = cap.granted;
    if (over?.granted !== undefined) {
      if (over.granted && !cap.granted && !cap.grantable) {
        throw invalid(
          file,
          ['capabilities', name, 'granted'],
          `the base does not grant "${name}" and does not mark it grantable`,
        );
      }
      granted = over.granted;
    }
    const limits: Record<string, number> = Object.create(null) as Record<string, number>;
    for (const [key, value] of entries(cap.limits)) limits[key] = value;
    for (const [key, value] of entries(over?.limits)) {
      if (!Object.hasOwn(cap.limits, key)) {
        throw invalid(
          file,
          ['capabilities', name, 'limits', key],
          `the base sets no limit "${key}" for "${name}"`,
        );
      }
      limits[key] = narrowNumber(
        file,
        ['capabilities', name, 'limits', key],
        cap.limits[key]!,
        value,
        'lower',
      );
    }
    if (granted) grants[name] = Object.freeze(limits);
  }

  const resources = { ...base.resources } as Record<string, number>;
  for (const [key, value] of entries(o.resources)) {
    resources[key] = narrowNumber(
      file,
      ['resources', key],
      base.resources[key as keyof ResourceLimits],
      value,
      'lower',
    );
  }

  const minSignatures = narrowNumber(
    file,
    ['trust', 'minSignatures'],
    base.trust.minSignatures,
    o.trust?.minSignatures,
    'higher',
  );
  let requireExpiry = base.trust.requireExpiry;
  if (o.trust?.requireExpiry !== undefined) {
    if (base.trust.requireExpiry && !o.trust.requireExpiry) {
      throw invalid(file, ['trust', 'requireExpiry'], 'false widens the base (true)');
    }
    requireExpiry = o.trust.requireExpiry;
  }

  const envelope: EnvelopeSizeLimits = {
    maxBytes: narrowNumber(
      file,
      ['envelope', 'maxBytes'],
      base.envelope.maxBytes,
      o.envelope?.maxBytes,
      'lower',
    ),
    maxArtifactsBytes: narrowNumber(
      file,
      ['envelope', 'maxArtifactsBytes'],
      base.envelope.maxArtifactsBytes,
      o.envelope?.maxArtifactsBytes,
      'lower',
    ),
  };

  return Object.freeze({
    revision: base.revision,
    tenantRevision: o.revision ?? 0,
    tenant,
    mode,
    source: Object.freeze(source),
    syntax: new FrozenSet(syntax, 'policy sets'),
    globals: new FrozenSet(globals, 'policy sets'),
    globalsDenied: new FrozenSet(globalsDenied, 'policy sets'),
    forbiddenNames: new FrozenSet(forbidden, 'policy sets'),
    forbiddenInAllStrings: inAllStrings,
    capabilities: Object.freeze(grants) as CapabilityGrants,
    resources: Object.freeze(resources) as unknown as ResourceLimits,
    trust: Object.freeze({ minSignatures, requireExpiry }),
    envelope: Object.freeze(envelope),
  });
}

export type { Base as BasePolicy };
