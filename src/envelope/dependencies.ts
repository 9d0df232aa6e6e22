/**
 * The v2 statement field `dependencies` (an SBOM inside the signature): strict checking on decode.
 * Closed objects, bounded counts and lengths, safe paths, and one canonical order (packages by
 * name then version, files by path, no duplicates), so one component has one encoding.
 */
import { EnvelopeError } from '../errors.ts';
import { NPM_PACKAGE_NAME } from '../names.ts';
import { visibleName } from './visible.ts';

/** At most this many packages, and this many files across them. */
export const MAX_DEPENDENCIES = 1024;
export const MAX_DEPENDENCY_FILES = 8192;

const HEX64 = /^[0-9a-f]{64}$/;
const INTEGRITY = /^sha(?:256|384|512)-[A-Za-z0-9+/]{20,200}={0,2}$/;
// eslint-disable-next-line no-control-regex
const CONTROL = /[\u0000-\u001f\u007f-\u009f]/;

function invalid(field: string, message: string): never {
  throw new EnvelopeError('ERR_STATEMENT_INVALID', `statement.${field}: ${message}`, { field });
}

function closed(value: unknown, field: string, required: readonly string[], optional: readonly string[]) {
  if (value === null || typeof value !== 'object' || Array.isArray(value))
    invalid(field, 'expected an object');
  const obj = value as Record<string, unknown>;
  for (const key of Object.keys(obj)) {
    // Defends against smuggled fields: the SBOM is closed like the rest of the statement.
    if (!required.includes(key) && !optional.includes(key))
      invalid(`${field}.${visibleName(key)}`, 'unknown field');
  }
  for (const key of required)
    if (!Object.hasOwn(obj, key)) invalid(`${field}.${key}`, 'missing required field');
  return obj;
}

function shortText(value: unknown, field: string, max: number, pattern?: RegExp): string {
  if (typeof value !== 'string' || value.length === 0 || value.length > max)
    invalid(field, `expected a string of 1..${max} characters`);
  if (CONTROL.test(value)) invalid(field, 'control characters are not allowed');
  if (pattern && !pattern.test(value)) invalid(field, `expected to match ${pattern.source}`);
  return value;
}

/** A package-relative path: `/`-separated, no leading `/`, no `.`/`..`/empty segments. */
function safePath(value: unknown, field: string): string {
  const path = shortText(value, field, 1024);
  // Defends against path traversal in tools that act on the SBOM (a path naming ../../etc/passwd).
  if (path.includes('\\') || path.split('/').some((s) => s === '' || s === '.' || s === '..'))
    invalid(field, 'expected a relative path without empty, . or .. segments');
  return path;
}

/** Validates `statement.dependencies` (already plain JSON). */
export function checkDependencies(value: unknown): void {
  if (!Array.isArray(value)) invalid('dependencies', 'expected an array');
  if (value.length === 0) invalid('dependencies', 'expected at least one package (a v1 statement has none)');
  if (value.length > MAX_DEPENDENCIES)
    invalid('dependencies', `expected at most ${MAX_DEPENDENCIES} packages, got ${value.length}`);
  let files = 0;
  let previous: string | undefined;
  value.forEach((item: unknown, i) => {
    const field = `dependencies[${i}]`;
    const d = closed(item, field, ['name', 'version', 'license', 'files'], ['integrity']);
    const name = shortText(d['name'], `${field}.name`, 214, NPM_PACKAGE_NAME);
    const version = shortText(d['version'], `${field}.version`, 64);
    shortText(d['license'], `${field}.license`, 128);
    if (Object.hasOwn(d, 'integrity')) shortText(d['integrity'], `${field}.integrity`, 220, INTEGRITY);
    const key = `${name}\u0000${version}`;
    if (previous !== undefined && !(previous < key))
      invalid(field, 'packages must be sorted by name, then version, without duplicates');
    previous = key;
    const list = d['files'];
    if (!Array.isArray(list) || list.length === 0) invalid(`${field}.files`, 'expected a non-empty array');
    files += list.length;
    if (files > MAX_DEPENDENCY_FILES)
      invalid(`${field}.files`, `more than ${MAX_DEPENDENCY_FILES} files in all`);
    let previousPath: string | undefined;
    list.forEach((f: unknown, j) => {
      const ff = `${field}.files[${j}]`;
      const o = closed(f, ff, ['path', 'sha256'], []);
      const path = safePath(o['path'], `${ff}.path`);
      shortText(o['sha256'], `${ff}.sha256`, 64, HEX64);
      if (previousPath !== undefined && !(previousPath < path))
        invalid(ff, 'files must be sorted by path, without duplicates');
      previousPath = path;
    });
  });
}
