/**
 * The one child-key table and the one tree walker every sealbox AST pass uses (policy checker,
 * suggester, packer, scope analysis).
 *
 * Security-relevant: a child the walker skips is a subtree the policy never sees. Known node types
 * use the fixed table below (pinned against a generic all-keys walk by
 * test/policy/walk-coverage.test.ts); any other type falls back to every own key that can hold a
 * node (fail closed: an unknown construct is walked in full, never skipped).
 *
 * Iterative: an explicit work stack, never JS recursion, so hostile nesting depth cannot overflow
 * the host stack while walking.
 */
import type { Node } from 'acorn';

/** An acorn node read by key (the walkers look at fields acorn's types do not name). */
export type AnyNode = Node & Record<string, unknown>;

/** Whether `value` is an AST node (an object with a string `type`). */
export function isNode(value: unknown): value is Node {
  return (
    typeof value === 'object' && value !== null && typeof (value as { type?: unknown }).type === 'string'
  );
}

/**
 * Own keys that never hold a child node. `value` is not here: Property/MethodDefinition values are
 * nodes (a Literal's value is never an object with a string `type`, and the walk checks that).
 */
const NON_CHILD_KEYS: ReadonlySet<string> = new Set([
  'type',
  'start',
  'end',
  'loc',
  'range',
  'raw',
  'regex',
  'bigint',
  'name',
  'operator',
]);

/**
 * Child keys of the ESTree node types acorn produces for ES2024 scripts, in source order.
 * Module-only types (import/export declarations and specifiers) are left to the generic fallback.
 */
export const CHILD_KEYS: ReadonlyMap<string, readonly string[]> = new Map<string, readonly string[]>([
  ['Program', ['body']],
  ['Identifier', []],
  ['PrivateIdentifier', []],
  ['Literal', []],
  ['ThisExpression', []],
  ['Super', []],
  ['EmptyStatement', []],
  ['DebuggerStatement', []],
  ['TemplateElement', []],
  ['ExpressionStatement', ['expression']],
  ['BlockStatement', ['body']],
  ['StaticBlock', ['body']],
  ['ReturnStatement', ['argument']],
  ['ThrowStatement', ['argument']],
  ['LabeledStatement', ['label', 'body']],
  ['BreakStatement', ['label']],
  ['ContinueStatement', ['label']],
  ['IfStatement', ['test', 'consequent', 'alternate']],
  ['SwitchStatement', ['discriminant', 'cases']],
  ['SwitchCase', ['test', 'consequent']],
  ['TryStatement', ['block', 'handler', 'finalizer']],
  ['CatchClause', ['param', 'body']],
  ['WhileStatement', ['test', 'body']],
  ['DoWhileStatement', ['body', 'test']],
  ['ForStatement', ['init', 'test', 'update', 'body']],
  ['ForInStatement', ['left', 'right', 'body']],
  ['ForOfStatement', ['left', 'right', 'body']],
  ['WithStatement', ['object', 'body']],
  ['FunctionDeclaration', ['id', 'params', 'body']],
  ['FunctionExpression', ['id', 'params', 'body']],
  ['ArrowFunctionExpression', ['params', 'body']],
  ['VariableDeclaration', ['declarations']],
  ['VariableDeclarator', ['id', 'init']],
  ['ClassDeclaration', ['id', 'superClass', 'body']],
  ['ClassExpression', ['id', 'superClass', 'body']],
  ['ClassBody', ['body']],
  ['MethodDefinition', ['key', 'value']],
  ['PropertyDefinition', ['key', 'value']],
  ['ArrayExpression', ['elements']],
  ['ObjectExpression', ['properties']],
  ['Property', ['key', 'value']],
  ['UnaryExpression', ['argument']],
  ['UpdateExpression', ['argument']],
  ['BinaryExpression', ['left', 'right']],
  ['LogicalExpression', ['left', 'right']],
  ['AssignmentExpression', ['left', 'right']],
  ['MemberExpression', ['object', 'property']],
  ['ChainExpression', ['expression']],
  ['ConditionalExpression', ['test', 'consequent', 'alternate']],
  ['CallExpression', ['callee', 'arguments']],
  ['NewExpression', ['callee', 'arguments']],
  ['SequenceExpression', ['expressions']],
  ['YieldExpression', ['argument']],
  ['AwaitExpression', ['argument']],
  ['TemplateLiteral', ['quasis', 'expressions']],
  ['TaggedTemplateExpression', ['tag', 'quasi']],
  ['ObjectPattern', ['properties']],
  ['ArrayPattern', ['elements']],
  ['RestElement', ['argument']],
  ['AssignmentPattern', ['left', 'right']],
  ['SpreadElement', ['argument']],
  ['MetaProperty', ['meta', 'property']],
  ['ImportExpression', ['source', 'options']],
  ['ParenthesizedExpression', ['expression']],
]);

/**
 * The keys of `node` that may hold child nodes, in source order for known types.
 * Defends against a subtree hidden from the policy: a type missing from the table is walked
 * through every own key that is not plain data.
 */
export function childKeysOf(node: Node): readonly string[] {
  return CHILD_KEYS.get(node.type) ?? Object.keys(node).filter((key) => !NON_CHILD_KEYS.has(key));
}

/** Returned by a visitor: do not walk this node's children (the walk goes on with its siblings). */
export const SKIP: unique symbol = Symbol('ast.walk.skip');
/** Returned by a visitor: end the whole walk now. */
export const STOP: unique symbol = Symbol('ast.walk.stop');

/**
 * Called on each node in pre-order, source order. `depth` is 1 for the root. The return value is
 * the state the node's children are visited with, or SKIP / STOP.
 */
export type Visitor<S> = (node: AnyNode, depth: number, state: S) => S | typeof SKIP | typeof STOP;

/**
 * Walks `root` iteratively, pre-order, children in source order; each child receives the state
 * its parent's visit returned (e.g. "inside a function", "strict"). `keysOf` chooses which keys to
 * descend into (default: every child, see childKeysOf); a pass that follows only some positions
 * (binding patterns, var-scope statements) passes its own.
 * @returns false when a visitor returned STOP, true when the whole tree was walked.
 * @example walk(program, 0, (node) => { count++; return 0; })
 */
export function walk<S>(
  root: Node,
  rootState: S,
  visit: Visitor<S>,
  keysOf: (node: AnyNode) => readonly string[] = childKeysOf,
): boolean {
  // Defends against stack exhaustion on deep trees: parallel explicit stacks, no recursion.
  const stack: AnyNode[] = [root as AnyNode];
  const depths: number[] = [1];
  const states: S[] = [rootState];
  while (stack.length > 0) {
    const node = stack.pop()!;
    const depth = depths.pop()!;
    const state = states.pop()!;
    const childState = visit(node, depth, state);
    if (childState === STOP) return false;
    if (childState === SKIP) continue;
    // Children are pushed in reverse so they pop in source order.
    const keys = keysOf(node);
    for (let k = keys.length - 1; k >= 0; k--) {
      const value = node[keys[k]!];
      if (value === null || typeof value !== 'object') continue;
      if (Array.isArray(value)) {
        for (let i = value.length - 1; i >= 0; i--) {
          const child: unknown = value[i];
          if (isNode(child)) {
            stack.push(child as AnyNode);
            depths.push(depth + 1);
            states.push(childState);
          }
        }
      } else if (isNode(value)) {
        stack.push(value as AnyNode);
        depths.push(depth + 1);
        states.push(childState);
      }
    }
  }
  return true;
}

/** Calls `visit` on every node under `root` (pre-order, source order, iterative). */
export function forEachNode(root: Node, visit: (node: Node) => void): void {
  walk(root, undefined, (node) => {
    visit(node);
    return undefined;
  });
}
