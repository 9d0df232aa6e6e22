/**
 * Package approval (LavaMoat-style, the part a node can enforce): ops list the npm packages a
 * component may bundle, by name and version range, and say what happens to unlisted ones. The
 * statement's `dependencies` (its signed SBOM) is checked against that list.
 *
 * What it does not defend against: the SBOM is written by the packer, which runs on the author's
 * machine, so a tenant can inline a package's code as "its own" and leave it out of the SBOM. That
 * code is then checked as the tenant's own code by every other rule: leaving a package out never
 * gains anything. For the same reason per-package allowances (letting one package use more globals
 * than the tenant's code) are not offered: the node cannot tell which bytes a package contributed.
 */
import type { Dependency } from '../envelope/types.ts';

/** One approved package. */
export interface ApprovedPackage {
  readonly name: string;
  /** A version range: `*`, `1.2.3`, `^1.2.3`, `~1.2.3`, `>=1.2.0 <2.0.0`, alternatives with `||`. */
  readonly versions: string;
}

/** The policy's `packages` block. */
export interface PackagePolicy {
  /** What happens to a bundled package no entry approves. */
  readonly unlisted: 'refuse' | 'allow';
  readonly allow: readonly ApprovedPackage[];
}

/** Without a `packages` block (policy files written before it existed): no package is refused. */
export const NO_PACKAGE_POLICY: PackagePolicy = Object.freeze({
  unlisted: 'allow',
  allow: Object.freeze([]),
});

const VERSION = /^(\d{1,9})\.(\d{1,9})\.(\d{1,9})(?:-([0-9A-Za-z.-]{1,64}))?(?:\+[0-9A-Za-z.-]{1,64})?$/;
const COMPARATOR = /^(\^|~|>=|<=|>|<|=)?(\d{1,9})(?:\.(\d{1,9}|x|\*))?(?:\.(\d{1,9}|x|\*))?$/;

type Triple = readonly [number, number, number];

function compare(a: Triple, b: Triple): number {
  return a[0] - b[0] || a[1] - b[1] || a[2] - b[2];
}

/** Whether one comparator (`^1.2.3`, `>=2`, `1.x`) admits `v`; undefined when it does not parse. */
function admits(comparator: string, v: Triple): boolean | undefined {
  if (comparator === '*' || comparator === 'x') return true;
  const m = COMPARATOR.exec(comparator);
  if (!m) return undefined;
  const op = m[1] ?? '=';
  const major = Number(m[2]);
  const wildMinor = m[3] === undefined || m[3] === 'x' || m[3] === '*';
  const wildPatch = wildMinor || m[4] === undefined || m[4] === 'x' || m[4] === '*';
  const base: Triple = [major, wildMinor ? 0 : Number(m[3]), wildPatch ? 0 : Number(m[4])];
  const upperOf = (): Triple =>
    wildMinor ? [major + 1, 0, 0] : wildPatch ? [major, base[1] + 1, 0] : [major, base[1], base[2] + 1];
  switch (op) {
    case '=':
      return compare(v, base) >= 0 && compare(v, upperOf()) < 0;
    case '^': {
      const upper: Triple =
        major > 0 ? [major + 1, 0, 0] : base[1] > 0 || wildPatch ? [0, base[1] + 1, 0] : [0, 0, base[2] + 1];
      return compare(v, base) >= 0 && compare(v, wildMinor ? [major + 1, 0, 0] : upper) < 0;
    }
    case '~':
      return compare(v, base) >= 0 && compare(v, wildMinor ? [major + 1, 0, 0] : [major, base[1] + 1, 0]) < 0;
    case '>=':
      return compare(v, base) >= 0;
    case '>':
      return compare(v, upperOf()) >= 0;
    case '<':
      return compare(v, base) < 0;
    case '<=':
      return compare(v, upperOf()) < 0;
    default:
      return undefined;
  }
}

/**
 * Whether `version` is inside `range` (a subset of npm's semver ranges). Pre-release versions
 * match only an exact `=` of themselves. Fails closed: an unparsable range or version admits nothing.
 */
export function versionInRange(version: string, range: string): boolean {
  const m = VERSION.exec(version);
  if (!m || range.length > 200) return false;
  const v: Triple = [Number(m[1]), Number(m[2]), Number(m[3])];
  return range.split('||').some((alternative) => {
    const comparators = alternative.trim().split(/\s+/).filter(Boolean);
    if (comparators.length === 0) return false;
    if (m[4] !== undefined) return comparators.length === 1 && comparators[0] === version;
    return comparators.every((c) => admits(c, v) === true);
  });
}

/** Checks a range's syntax (policy validation): true when every comparator parses. */
export function isVersionRange(range: string): boolean {
  if (range.length === 0 || range.length > 200) return false;
  return range.split('||').every((alternative) => {
    const comparators = alternative.trim().split(/\s+/).filter(Boolean);
    return comparators.length > 0 && comparators.every((c) => admits(c, [0, 0, 0]) !== undefined);
  });
}

/** The bundled packages the policy does not approve, with the reason. */
export function unapprovedPackages(
  dependencies: readonly Dependency[],
  policy: PackagePolicy,
): { readonly name: string; readonly version: string; readonly reason: string }[] {
  const out: { name: string; version: string; reason: string }[] = [];
  for (const d of dependencies) {
    const entries = policy.allow.filter((a) => a.name === d.name);
    if (entries.some((a) => versionInRange(d.version, a.versions))) continue;
    if (entries.length > 0) {
      out.push({
        name: d.name,
        version: d.version,
        reason: `version ${d.version} is outside the approved ${entries.map((a) => a.versions).join(' or ')}`,
      });
    } else if (policy.unlisted === 'refuse') {
      out.push({ name: d.name, version: d.version, reason: 'the package is not approved by policy' });
    }
  }
  return out;
}

/** The `packages` block approving exactly these packages (`^version`), as YAML for ops to review. */
export function suggestPackages(dependencies: readonly Dependency[]): string {
  if (dependencies.length === 0) return '';
  const lines = [
    '# npm packages this envelope bundles (from its signed SBOM): review each before approving.',
    'packages:',
    '  unlisted: refuse',
    '  allow:',
  ];
  for (const d of dependencies) {
    // Names and versions come from an unverified statement: both are checked grammars there, and
    // are quoted here so YAML reads them as strings.
    lines.push(
      `    - name: ${JSON.stringify(d.name)}`,
      `      versions: ${JSON.stringify(`^${d.version}`)} # ${JSON.stringify(d.license)}`,
    );
  }
  return `${lines.join('\n')}\n`;
}
