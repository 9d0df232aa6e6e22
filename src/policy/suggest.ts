/**
 * `suggestPolicy(source)`: the least policy a source needs (node types, free globals with the
 * members it uses, capabilities it calls through `this.host`), so ops can start from what a
 * component actually uses. The suggestion is advice: it is not checked against forbidden names,
 * and `sealbox check` still decides.
 */
import type { Node } from 'acorn';
import { stringify } from 'yaml';
import { findFreeVariables } from '../ast/free-variables.ts';
import { parseProgram } from '../ast/parse.ts';
import { SANDBOX_GLOBALS } from '../ast/sandbox-globals.ts';
import { walk, type AnyNode } from '../ast/walk.ts';
import { PolicyError, UsageError } from '../errors.ts';
import { SourceText } from './source-text.ts';
import { BIGINT_LITERAL } from './rules.ts';

/** What a source needs, sorted. */
export interface PolicySuggestion {
  /** ESTree node types used. */
  readonly syntax: readonly string[];
  /** Free globals: `X.y` when only direct members are used, `X` when the bare name is. */
  readonly globals: readonly string[];
  /** Free names that do not exist in the sandbox at all (they would fail at run time). */
  readonly unavailable: readonly string[];
  /** Capabilities reached as `this.host.NAME` (or `host.NAME`). */
  readonly capabilities: readonly string[];
  /** The same, as a YAML snippet with comments, ready to paste into a policy. */
  readonly yaml: string;
}

const MAX_SUGGEST_BYTES = 16 * 1024 * 1024;
const MAX_SUGGEST_DEPTH = 10_000;

function memberName(member: AnyNode): string | undefined {
  const property = member['property'] as AnyNode;
  if (member['computed'] !== true)
    return property.type === 'Identifier' ? (property['name'] as string) : undefined;
  return property.type === 'Literal' && typeof property['value'] === 'string' ? property['value'] : undefined;
}

function isHost(node: AnyNode): boolean {
  if (node.type === 'Identifier') return node['name'] === 'host';
  if (node.type !== 'MemberExpression') return false;
  return (node['object'] as AnyNode).type === 'ThisExpression' && memberName(node) === 'host';
}

/**
 * Computes the least policy `source` needs.
 * @throws UsageError `ERR_USAGE` when source is not a string.
 * @throws PolicyError `ERR_POLICY_VIOLATION` (rule `syntax.parse`, `source.too-large` or
 * `source.too-deep`) when it does not parse as a script.
 */
export function suggestPolicy(source: string): PolicySuggestion {
  if (typeof source !== 'string') {
    throw new UsageError('ERR_USAGE', `suggestPolicy: expected source text (a string), got ${typeof source}`);
  }
  const text = new SourceText(source);
  const refuse = (rule: string, message: string, offset?: number): never => {
    const at = offset === undefined ? { line: 0, column: 0 } : text.position(offset);
    const snippet = offset === undefined ? '' : text.snippet(offset);
    throw new PolicyError('ERR_POLICY_VIOLATION', `${rule}: ${message}`, [{ rule, message, ...at, snippet }]);
  };
  if (source.length > MAX_SUGGEST_BYTES)
    refuse('source.too-large', `more than ${MAX_SUGGEST_BYTES} characters`);
  let program: Node;
  try {
    program = parseProgram(source, 'script', { locations: false });
  } catch (error) {
    const pos = (error as { pos?: number }).pos;
    const message = error instanceof Error ? error.message.replace(/ \(\d+:\d+\)$/, '') : 'error';
    return refuse(
      error instanceof RangeError || /stack space/.test(message) ? 'source.too-deep' : 'syntax.parse',
      message,
      pos,
    );
  }

  const types = new Set<string>();
  const capabilities = new Set<string>();
  const memberOf = new Map<Node, AnyNode>();
  // Iterative, depth-capped walk through the shared walker (ast/walk.ts).
  walk(program, undefined, (node, depth) => {
    if (depth > MAX_SUGGEST_DEPTH)
      refuse('source.too-deep', `AST nesting deeper than ${MAX_SUGGEST_DEPTH}`, node.start);
    types.add(node.type);
    if (node.type === 'Literal' && typeof node['bigint'] === 'string') types.add(BIGINT_LITERAL);
    if (node.type === 'MemberExpression') {
      const object = node['object'] as AnyNode;
      if (object.type === 'Identifier') memberOf.set(object, node);
      if (isHost(object)) {
        const name = memberName(node);
        if (name !== undefined) capabilities.add(name);
      }
    }
    return undefined;
  });

  const globals = new Set<string>();
  const bare = new Set<string>();
  const unavailable = new Set<string>();
  for (const ref of findFreeVariables(program)) {
    if (!SANDBOX_GLOBALS.has(ref.name)) unavailable.add(ref.name);
    const user = memberOf.get(ref.node);
    const member = user && user['object'] === ref.node ? memberName(user) : undefined;
    if (member !== undefined) globals.add(`${ref.name}.${member}`);
    else bare.add(ref.name);
  }
  // A bare use needs the bare name, which covers its members.
  const globalList = [
    ...new Set([...bare, ...[...globals].filter((g) => !bare.has(g.slice(0, g.indexOf('.'))))]),
  ].sort();
  const syntax = [...types].sort();
  const caps = [...capabilities].sort();
  const unavailableList = [...unavailable].sort();

  const data: Record<string, unknown> = {
    syntax: { allow: syntax },
    globals: { allow: globalList },
    capabilities: Object.fromEntries(caps.map((c) => [c, { granted: true }])),
  };
  const header = [
    '# sealbox policy suggest: the least policy this source needs.',
    '# Paste the sections you need into a policy or a tenant overlay (an overlay may only narrow',
    '# its base: it can list a subset of what the base allows). Forbidden names are not suggested.',
    ...(unavailableList.length > 0
      ? [`# WARNING: not available in the sandbox at all: ${unavailableList.join(', ')}`]
      : []),
  ];
  const yaml = `${header.join('\n')}\n${stringify(data, { indent: 2 })}`;
  return Object.freeze({
    syntax,
    globals: globalList,
    unavailable: unavailableList,
    capabilities: caps,
    yaml,
  });
}
