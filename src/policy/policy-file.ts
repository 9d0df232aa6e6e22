/**
 * Reading one policy file: YAML (or JSON, which the YAML 1.2 parser reads too), duplicate keys
 * refused, validated against policies/policy.schema.json; every error names file, line and field.
 */
import { readFileSync } from 'node:fs';
import { Ajv2020 } from 'ajv/dist/2020.js';
import type { ErrorObject, ValidateFunction } from 'ajv/dist/2020.js';
import {
  isMap,
  isScalar,
  isSeq,
  LineCounter,
  parseDocument,
  type Document,
  type Node as YamlNode,
} from 'yaml';
import { ConfigError } from '../errors.ts';
import { readFileBounded, readRefusalOf } from '../io/read-file.ts';

/** Where the shipped policies and the schema live (works from src/policy/ and dist/policy/). */
export const POLICIES_DIR = new URL('../../policies/', import.meta.url);

/** Largest policy file read (bytes). */
export const MAX_POLICY_FILE_BYTES = 1024 * 1024;

/** Limits of one capability as written in a file. */
export interface RawCapability {
  readonly granted?: boolean;
  readonly grantable?: boolean;
  readonly limits?: Readonly<Record<string, number>>;
}

/** An allow/deny pair as written in a file. */
export interface RawAllowDeny {
  readonly allow?: readonly string[];
  readonly deny?: readonly string[];
}

/** A policy file after schema validation (a base has every section; an overlay any subset). */
export interface RawPolicy {
  readonly schemaVersion?: 1;
  readonly overlay?: boolean;
  readonly revision?: number;
  readonly mode?: 'enforce' | 'audit';
  readonly source?: { readonly maxBytes?: number; readonly maxNodes?: number; readonly maxDepth?: number };
  readonly syntax?: RawAllowDeny;
  readonly globals?: RawAllowDeny;
  readonly forbiddenNames?: { readonly names?: readonly string[]; readonly inAllStrings?: boolean };
  readonly capabilities?: Readonly<Record<string, RawCapability>>;
  readonly resources?: Readonly<Record<string, number>>;
  readonly trust?: { readonly minSignatures?: number; readonly requireExpiry?: boolean };
  readonly envelope?: { readonly maxBytes?: number; readonly maxArtifactsBytes?: number };
}

/** A validated file and where each field sits in it (for later narrowing errors). */
export interface PolicyFile {
  readonly file: string;
  readonly policy: RawPolicy;
  /** 1-based line of the node at `path` (or of its nearest existing ancestor). */
  lineOf(path: readonly (string | number)[]): number;
}

let validator: ValidateFunction | undefined;

function schemaValidator(): ValidateFunction {
  if (validator) return validator;
  const schema = JSON.parse(readFileSync(new URL('policy.schema.json', POLICIES_DIR), 'utf8')) as object;
  // strictTypes off: the schema's if/then/else add `required` without repeating `type`.
  const ajv = new Ajv2020({ allErrors: true, strict: true, strictTypes: false, strictRequired: false });
  validator = ajv.compile(schema);
  return validator;
}

function decodePointer(pointer: string): string[] {
  if (pointer === '') return [];
  return pointer
    .slice(1)
    .split('/')
    .map((part) => part.replaceAll('~1', '/').replaceAll('~0', '~'));
}

/** Finds the YAML node for a path, falling back to the nearest ancestor; returns its offset. */
function offsetOf(doc: Document, path: readonly (string | number)[], keyName?: string): number {
  let node: unknown = doc.contents;
  let offset = 0;
  const walk = [...path];
  if (keyName !== undefined) walk.push(keyName);
  for (let i = 0; i < walk.length; i++) {
    const part = walk[i]!;
    const isLast = i === walk.length - 1;
    if (isMap(node)) {
      const pair = node.items.find((p) => isScalar(p.key) && String(p.key.value) === String(part));
      if (!pair) break;
      // The last step points at the key itself (where a human reads the field's name).
      const target = isLast ? pair.key : (pair.value ?? pair.key);
      const range = (target as { range?: [number, number, number] } | null)?.range;
      if (range) offset = range[0];
      node = pair.value;
    } else if (isSeq(node)) {
      const item = node.items[Number(part)];
      const range = (item as { range?: [number, number, number] } | undefined)?.range;
      if (!item || !range) break;
      offset = range[0];
      node = item;
    } else {
      break;
    }
  }
  return offset;
}

function describeAjvError(error: ErrorObject): { path: string[]; key?: string; text: string } {
  const path = decodePointer(error.instancePath);
  const field = path.length > 0 ? path.join('.') : '(top level)';
  const params = error.params as Record<string, unknown>;
  switch (error.keyword) {
    case 'additionalProperties':
      return {
        path,
        key: String(params['additionalProperty']),
        text: `unknown field "${[...path, String(params['additionalProperty'])].join('.')}" (misspelt? see docs/policy.md)`,
      };
    case 'required':
      return { path, text: `${field}: missing required field "${String(params['missingProperty'])}"` };
    case 'propertyNames':
      return { path, text: `${field}: invalid name "${String(params['propertyName'])}"` };
    case 'not':
      return {
        path,
        key: 'grantable',
        text: `${field}.grantable: may only appear in the base policy, not in an overlay`,
      };
    case 'if':
      return { path, text: '' };
    default:
      return { path, text: `${field}: ${error.message ?? 'invalid'}` };
  }
}

/**
 * Every mapping key must be a string, and no two keys of one mapping may be equal.
 * Defends against a field set twice where the reader sees only one: `true:` (a boolean) and
 * `"true":` (a string) are different YAML keys but the same JavaScript property, so the last one
 * would silently win; a list or map as a key is stringified. Linear (a Set per mapping): yaml's own
 * `uniqueKeys` compares every pair, which took minutes on a 1 MiB file of keys.
 * @throws ConfigError `ERR_POLICY_INVALID` with the line and field of the offending key.
 */
function checkKeys(doc: Document, file: string, lineAt: (offset: number) => number): void {
  const fail = (key: unknown, path: readonly string[], text: string): never => {
    const range = (key as { range?: [number, number, number] } | null)?.range;
    const line = lineAt(range?.[0] ?? 0);
    const field = path.join('.');
    throw new ConfigError('ERR_POLICY_INVALID', `${file}:${line}: ${field || '(top level)'}: ${text}`, {
      file,
      line,
      field,
    });
  };
  // An explicit stack: nesting depth is bounded by the parser, but this walk never recurses.
  const stack: { node: unknown; path: string[] }[] = [{ node: doc.contents, path: [] }];
  while (stack.length > 0) {
    const { node, path } = stack.pop()!;
    if (isMap(node)) {
      const seen = new Set<string>();
      for (const pair of node.items) {
        const key = pair.key as YamlNode | null;
        if (!isScalar(key) || typeof key.value !== 'string') {
          const shown = isScalar(key) ? String(key.value) : 'a list, map or alias';
          fail(key, path, `key ${JSON.stringify(shown.slice(0, 64))} is not a string (quote it)`);
        }
        const name = (key as { value: string }).value;
        if (seen.has(name)) fail(key, [...path, name], 'duplicate key');
        seen.add(name);
        stack.push({ node: pair.value, path: [...path, name] });
      }
    } else if (isSeq(node)) {
      node.items.forEach((item, index) => stack.push({ node: item, path: [...path, String(index)] }));
    }
  }
}

/**
 * Parses and validates the text of one policy file.
 * @throws ConfigError `ERR_POLICY_INVALID` naming file, line and field (YAML syntax error, duplicate
 * key, unknown tag, schema violation).
 */
export function parsePolicyText(text: string, file: string, kind: 'base' | 'overlay' = 'base'): PolicyFile {
  const lineCounter = new LineCounter();
  // Defends against YAML alias bombs and host-object tags: aliases are capped, unknown tags
  // (`!!js/function`) are errors, and the core schema yields plain JSON values only.
  const doc = parseDocument(text, {
    // Duplicates are found by checkKeys below: yaml's own check is quadratic in the size of a map.
    uniqueKeys: false,
    lineCounter,
    prettyErrors: false,
    schema: 'core',
    merge: false,
    strict: true,
  });
  const lineAt = (offset: number): number => lineCounter.linePos(offset).line;
  const problems = [...doc.errors, ...doc.warnings];
  if (problems.length > 0) {
    const first = problems[0]!;
    const line = lineAt(first.pos[0]);
    const what = first.code === 'DUPLICATE_KEY' ? 'duplicate key' : first.message.split('\n')[0];
    throw new ConfigError('ERR_POLICY_INVALID', `${file}:${line}: ${what}`, {
      file,
      line,
      yamlCode: first.code,
    });
  }
  checkKeys(doc, file, lineAt);
  let value: unknown;
  try {
    value = doc.toJS({ maxAliasCount: 50 });
  } catch (error) {
    throw new ConfigError(
      'ERR_POLICY_INVALID',
      `${file}:1: cannot read the document: ${error instanceof Error ? error.message : 'error'}`,
      { file, line: 1 },
    );
  }
  const validate = schemaValidator();
  // Files under tenants/ are overlays whether or not they say so; an empty one changes nothing.
  if (kind === 'overlay' && (value === null || value === undefined)) value = {};
  if (kind === 'overlay' && typeof value === 'object' && value !== null && !Array.isArray(value)) {
    if (!Object.hasOwn(value, 'overlay')) value = { ...value, overlay: true };
  }
  if (!validate(value)) {
    // A misspelt field also makes a required one go missing: report the unknown name first.
    const described = (validate.errors ?? [])
      .map(describeAjvError)
      .filter((d) => d.text !== '')
      .sort((a, b) => Number(b.key !== undefined) - Number(a.key !== undefined));
    const first = described[0] ?? { path: [], text: 'does not match policies/policy.schema.json' };
    const line = lineAt(offsetOf(doc, first.path, first.key));
    const more = described.length > 1 ? ` (and ${described.length - 1} more)` : '';
    throw new ConfigError('ERR_POLICY_INVALID', `${file}:${line}: ${first.text}${more}`, {
      file,
      line,
      field: [...first.path, ...(first.key !== undefined ? [first.key] : [])].join('.'),
      problems: described.slice(0, 20).map((d) => ({
        line: lineAt(offsetOf(doc, d.path, d.key)),
        message: d.text,
      })),
    });
  }
  return {
    file,
    policy: value as RawPolicy,
    lineOf: (path) => lineAt(offsetOf(doc, path)),
  };
}

/**
 * Reads a regular file of at most MAX_POLICY_FILE_BYTES through the shared bounded reader.
 * Defends against a policy path that is a named pipe (open and read would block the node forever)
 * or a device such as /dev/zero (read without end): see src/io/read-file.ts.
 */
function readRegularFile(path: string | URL, display: string): Uint8Array {
  try {
    return readFileBounded(path, MAX_POLICY_FILE_BYTES, display);
  } catch (error) {
    const refusal = readRefusalOf(error);
    if (refusal === undefined) throw error;
    const why =
      refusal.reason === 'not-regular'
        ? 'not a regular file (a policy file must be a plain file)'
        : refusal.reason === 'too-large'
          ? `${refusal.size ?? 'more than'} bytes, more than the ${MAX_POLICY_FILE_BYTES}-byte limit for policy files`
          : `cannot read policy file (${refusal.errno ?? 'error'})`;
    throw new ConfigError(
      'ERR_POLICY_INVALID',
      `${display}: ${why}`,
      { file: display, line: 0 },
      { cause: error },
    );
  }
}

/**
 * Reads, parses and validates one policy file (size-capped).
 * @throws ConfigError `ERR_POLICY_INVALID` when it cannot be read or is invalid.
 */
export function readPolicyFile(
  path: string | URL,
  display: string,
  kind: 'base' | 'overlay' = 'base',
): PolicyFile {
  const bytes = readRegularFile(path, display);
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    throw new ConfigError('ERR_POLICY_INVALID', `${display}: not valid UTF-8`, { file: display, line: 0 });
  }
  return parsePolicyText(text, display, kind);
}
