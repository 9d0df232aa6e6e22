/**
 * Scope analysis: which identifier references in a program are not declared by any enclosing
 * scope (the "free" names, which resolve to globals at run time).
 *
 * Security-relevant: the packer uses it to refuse classes that reach for host names, and the policy
 * checker uses it to enforce the globals allowlist. A missed free name lets a global through policy,
 * so every doubtful case errs towards reporting a name as free (over-reporting only ever refuses
 * good code; under-reporting would admit bad code).
 *
 * Iterative: an explicit work stack, no JS recursion, so hostile nesting depth cannot overflow the
 * host stack here (the parser itself may still overflow; parse.ts turns that into a typed error).
 */
import type { Identifier, Node } from 'acorn';

/** One reference to a name that no enclosing scope declares. */
export interface FreeReference {
  readonly name: string;
  readonly node: Identifier;
  /** 1-based line (acorn `locations: true`), 0 when the tree has no locations. */
  readonly line: number;
  /** 0-based column. */
  readonly column: number;
}

/**
 * A set nobody can change: `Object.freeze` alone does not stop `Set.prototype.add`, so the mutators
 * are overridden to throw once construction is done.
 */
class SealedSet<T> extends Set<T> {
  readonly #sealed: boolean;
  constructor(items: Iterable<T>) {
    super();
    for (const item of items) super.add(item);
    this.#sealed = true;
    Object.freeze(this);
  }
  override add(value: T): this {
    if (this.#sealed) throw new TypeError('SANDBOX_GLOBALS is read-only');
    return super.add(value);
  }
  override delete(_value: T): boolean {
    throw new TypeError('SANDBOX_GLOBALS is read-only');
  }
  override clear(): void {
    throw new TypeError('SANDBOX_GLOBALS is read-only');
  }
}

/**
 * ECMAScript built-in globals that exist inside the sandbox, plus `Component` (the frozen base the
 * sandbox defines). Host names (`process`, `require`, timers, `fetch`, `console`) are absent.
 *
 * Policy: `eval`, `Function`, `WebAssembly`, `SharedArrayBuffer` and `Atomics` are deliberately
 * absent: the sandbox removes or neuters them (code generation, memory outside the limit, shared
 * memory timing), so a packed class that names them could never work where it is loaded.
 */
export const SANDBOX_GLOBALS: ReadonlySet<string> = new SealedSet<string>([
  // value properties
  'globalThis',
  'undefined',
  'NaN',
  'Infinity',
  // function properties
  'isNaN',
  'isFinite',
  'parseInt',
  'parseFloat',
  'encodeURI',
  'encodeURIComponent',
  'decodeURI',
  'decodeURIComponent',
  // fundamental objects
  'Object',
  'Boolean',
  'Symbol',
  'Error',
  'AggregateError',
  'EvalError',
  'RangeError',
  'ReferenceError',
  'SyntaxError',
  'TypeError',
  'URIError',
  // numbers, text, dates
  'Number',
  'BigInt',
  'Math',
  'Date',
  'String',
  'RegExp',
  // collections
  'Array',
  'Map',
  'Set',
  'WeakMap',
  'WeakSet',
  'WeakRef',
  'FinalizationRegistry',
  // binary data
  'ArrayBuffer',
  'DataView',
  'Int8Array',
  'Uint8Array',
  'Uint8ClampedArray',
  'Int16Array',
  'Uint16Array',
  'Int32Array',
  'Uint32Array',
  'Float32Array',
  'Float64Array',
  'BigInt64Array',
  'BigUint64Array',
  // structured data, control abstraction, reflection
  'JSON',
  'Promise',
  'Iterator',
  'Proxy',
  'Reflect',
  // ECMA-402, present in V8 isolates
  'Intl',
  // the sandbox's base class
  'Component',
]);

/** A lexical environment: the names it declares and where var declarations land. */
interface Scope {
  readonly names: Set<string>;
  readonly parent: Scope | null;
  /** Function body, static block or program: `var` and hoisted functions land here. */
  readonly varTarget: boolean;
}

/**
 * One unit of pending work.
 * - `expr`: evaluate the node in `scope` (identifiers are references);
 * - `bind`: the node is a binding pattern; identifiers are declared in `target`, defaults and
 *   computed keys are evaluated in `scope`;
 * - `assign`: the node is an assignment target; identifiers are references (not declarations);
 * - `stmts`: the node's `body` array is processed directly in `scope` (function bodies).
 */
type Work =
  | { readonly kind: 'expr'; readonly node: Node; readonly scope: Scope }
  | { readonly kind: 'bind'; readonly node: Node; readonly scope: Scope; readonly target: Scope }
  | { readonly kind: 'assign'; readonly node: Node; readonly scope: Scope };

function newScope(parent: Scope | null, varTarget: boolean): Scope {
  return { names: new Set(), parent, varTarget };
}

function varScopeOf(scope: Scope): Scope {
  let s: Scope | null = scope;
  while (s) {
    if (s.varTarget) return s;
    s = s.parent;
  }
  return scope;
}

function isNode(value: unknown): value is Node {
  return (
    typeof value === 'object' && value !== null && typeof (value as { type?: unknown }).type === 'string'
  );
}

// Child fields of common node types, so the generic walk need not enumerate keys (a speed-up only:
// types not listed fall back to every own field, which is always at least as conservative).
const CHILD_KEYS: ReadonlyMap<string, readonly string[]> = new Map([
  ['ExpressionStatement', ['expression']],
  ['ReturnStatement', ['argument']],
  ['ThrowStatement', ['argument']],
  ['IfStatement', ['test', 'consequent', 'alternate']],
  ['WhileStatement', ['test', 'body']],
  ['DoWhileStatement', ['body', 'test']],
  ['TryStatement', ['block', 'handler', 'finalizer']],
  ['CallExpression', ['callee', 'arguments']],
  ['NewExpression', ['callee', 'arguments']],
  ['BinaryExpression', ['left', 'right']],
  ['LogicalExpression', ['left', 'right']],
  ['UnaryExpression', ['argument']],
  ['UpdateExpression', ['argument']],
  ['AwaitExpression', ['argument']],
  ['YieldExpression', ['argument']],
  ['SpreadElement', ['argument']],
  ['ConditionalExpression', ['test', 'consequent', 'alternate']],
  ['ArrayExpression', ['elements']],
  ['ObjectExpression', ['properties']],
  ['SequenceExpression', ['expressions']],
  ['TemplateLiteral', ['quasis', 'expressions']],
  ['TaggedTemplateExpression', ['tag', 'quasi']],
  ['ChainExpression', ['expression']],
]);

/** Every child node of `node`, in field order (the generic fallback for nodes without a rule). */
function childNodes(node: Node): Node[] {
  const out: Node[] = [];
  const keys = CHILD_KEYS.get(node.type) ?? Object.keys(node);
  for (const key of keys) {
    if (key === 'loc' || key === 'range' || key === 'start' || key === 'end' || key === 'type') continue;
    const value = (node as unknown as Record<string, unknown>)[key];
    if (Array.isArray(value)) {
      for (const item of value) if (isNode(item)) out.push(item);
    } else if (isNode(value)) {
      out.push(value);
    }
  }
  return out;
}

// Loose views of the node shapes this file reads; acorn's own types are used where they are exact.
interface AnyNode extends Node {
  readonly [key: string]: unknown;
}
const field = (node: Node, key: string): unknown => (node as AnyNode)[key];
const nodeAt = (node: Node, key: string): Node | null => {
  const v = field(node, key);
  return isNode(v) ? v : null;
};
const nodesAt = (node: Node, key: string): Node[] => {
  const v = field(node, key);
  return Array.isArray(v) ? v.filter(isNode) : [];
};

/**
 * Every identifier reference in `root` that no enclosing scope declares, in source order.
 *
 * Handles var/function hoisting, let/const/class block scope (declared anywhere in the block counts),
 * parameters (defaults see the parameters, not the body), catch parameters, the self-names of
 * function and class expressions, class bodies (keys, fields, static blocks; private names are not
 * identifiers), `arguments` in non-arrow functions, labels, property keys, non-computed members,
 * shorthand properties (references), imports (declare) and local export specifiers (reference).
 * Node types without a rule are walked generically with every identifier treated as a reference
 * (fail closed: an unknown construct can only add free names, never hide one).
 *
 * `root` is usually a Program; any node works (it is analysed as if it stood alone).
 * Never throws on a well-formed acorn tree; the walk uses an explicit stack, not recursion.
 */
export function findFreeVariables(root: Node): FreeReference[] {
  const references: { id: Identifier; scope: Scope }[] = [];
  const top = newScope(null, true);
  const stack: Work[] = [];
  // Pushes in reverse so that work is popped in field order (not required: results are sorted).
  const push = (...items: Work[]): void => {
    for (let i = items.length - 1; i >= 0; i--) stack.push(items[i] as Work);
  };
  const expr = (node: Node | null, scope: Scope): Work[] => (node ? [{ kind: 'expr', node, scope }] : []);

  /** Queues a function: name scope (expressions), parameter scope, body scope. */
  const queueFunction = (fn: Node, scope: Scope, selfName: boolean): void => {
    let outer = scope;
    const id = nodeAt(fn, 'id');
    if (selfName && id && id.type === 'Identifier') {
      // A named function expression sees its own name, and only it does.
      outer = newScope(scope, false);
      outer.names.add((id as Identifier).name);
    }
    const params = newScope(outer, false);
    if (fn.type !== 'ArrowFunctionExpression') params.names.add('arguments');
    const work: Work[] = nodesAt(fn, 'params').map((p) => ({
      kind: 'bind',
      node: p,
      scope: params,
      target: params,
    }));
    const body = nodeAt(fn, 'body');
    if (body && body.type === 'BlockStatement') {
      // The body is its own var scope: `function f(a = b) { var b }` reads the outer `b`.
      const bodyScope = newScope(params, true);
      for (const stmt of nodesAt(body, 'body')) work.push({ kind: 'expr', node: stmt, scope: bodyScope });
    } else if (body) {
      work.push({ kind: 'expr', node: body, scope: params });
    }
    push(...work);
  };

  /** Queues a class: its own scope holds its name; heritage and members are evaluated there. */
  const queueClass = (cls: Node, scope: Scope): void => {
    const inner = newScope(scope, false);
    const id = nodeAt(cls, 'id');
    if (id && id.type === 'Identifier') inner.names.add((id as Identifier).name);
    const work: Work[] = [...expr(nodeAt(cls, 'superClass'), inner)];
    const body = nodeAt(cls, 'body');
    for (const member of body ? nodesAt(body, 'body') : []) {
      if (member.type === 'MethodDefinition' || member.type === 'PropertyDefinition') {
        if (field(member, 'computed') === true) work.push(...expr(nodeAt(member, 'key'), inner));
        const value = nodeAt(member, 'value');
        if (value && member.type === 'MethodDefinition') {
          work.push({ kind: 'expr', node: value, scope: inner });
        } else if (value) {
          // Field initialisers run as if in a method: their own scope (no `arguments` allowed).
          work.push({ kind: 'expr', node: value, scope: newScope(inner, false) });
        }
      } else if (member.type === 'StaticBlock') {
        const block = newScope(inner, true);
        for (const stmt of nodesAt(member, 'body')) work.push({ kind: 'expr', node: stmt, scope: block });
      } else {
        work.push({ kind: 'expr', node: member, scope: inner });
      }
    }
    push(...work);
  };

  /** Declares the bindings of a `var`/`let`/`const`/`using` declaration and queues initialisers. */
  const queueDeclaration = (decl: Node, scope: Scope): void => {
    const target = field(decl, 'kind') === 'var' ? varScopeOf(scope) : scope;
    const work: Work[] = [];
    for (const d of nodesAt(decl, 'declarations')) {
      const id = nodeAt(d, 'id');
      if (id) work.push({ kind: 'bind', node: id, scope, target });
      work.push(...expr(nodeAt(d, 'init'), scope));
    }
    push(...work);
  };

  if (root.type === 'Program') {
    for (const stmt of nodesAt(root, 'body')) stack.push({ kind: 'expr', node: stmt, scope: top });
    stack.reverse();
  } else {
    stack.push({ kind: 'expr', node: root, scope: top });
  }

  while (stack.length > 0) {
    const work = stack.pop() as Work;
    const { node, scope } = work;

    if (work.kind === 'bind' || work.kind === 'assign') {
      switch (node.type) {
        case 'Identifier':
          if (work.kind === 'bind') work.target.names.add((node as Identifier).name);
          else references.push({ id: node as Identifier, scope });
          continue;
        case 'ObjectPattern': {
          const items: Work[] = [];
          for (const prop of nodesAt(node, 'properties')) {
            if (prop.type === 'RestElement') {
              const arg = nodeAt(prop, 'argument');
              if (arg) items.push({ ...work, node: arg });
              continue;
            }
            if (field(prop, 'computed') === true) items.push(...expr(nodeAt(prop, 'key'), scope));
            const value = nodeAt(prop, 'value');
            if (value) items.push({ ...work, node: value });
          }
          push(...items);
          continue;
        }
        case 'ArrayPattern':
          push(...nodesAt(node, 'elements').map((el): Work => ({ ...work, node: el })));
          continue;
        case 'RestElement': {
          const arg = nodeAt(node, 'argument');
          if (arg) push({ ...work, node: arg });
          continue;
        }
        case 'AssignmentPattern': {
          const left = nodeAt(node, 'left');
          push(...(left ? [{ ...work, node: left }] : []), ...expr(nodeAt(node, 'right'), scope));
          continue;
        }
        default:
          // A member expression (`[a.b] = x`) or anything else in target position: evaluate it.
          push({ kind: 'expr', node, scope });
          continue;
      }
    }

    switch (node.type) {
      case 'Identifier':
        references.push({ id: node as Identifier, scope });
        break;

      case 'BlockStatement': {
        const block = newScope(scope, false);
        push(...nodesAt(node, 'body').map((s): Work => ({ kind: 'expr', node: s, scope: block })));
        break;
      }

      case 'VariableDeclaration':
        queueDeclaration(node, scope);
        break;

      case 'FunctionDeclaration': {
        const id = nodeAt(node, 'id');
        // Policy: a function declared in a block is visible only in that block here (Annex B would
        // also hoist it in sloppy code); reading it outside is then reported free, never hidden.
        if (id && id.type === 'Identifier') scope.names.add((id as Identifier).name);
        queueFunction(node, scope, false);
        break;
      }
      case 'FunctionExpression':
        queueFunction(node, scope, true);
        break;
      case 'ArrowFunctionExpression':
        queueFunction(node, scope, false);
        break;

      case 'ClassDeclaration': {
        const id = nodeAt(node, 'id');
        if (id && id.type === 'Identifier') scope.names.add((id as Identifier).name);
        queueClass(node, scope);
        break;
      }
      case 'ClassExpression':
        queueClass(node, scope);
        break;

      case 'ForStatement': {
        const head = newScope(scope, false);
        push(
          ...expr(nodeAt(node, 'init'), head),
          ...expr(nodeAt(node, 'test'), head),
          ...expr(nodeAt(node, 'update'), head),
          ...expr(nodeAt(node, 'body'), head),
        );
        break;
      }
      case 'ForInStatement':
      case 'ForOfStatement': {
        const head = newScope(scope, false);
        const left = nodeAt(node, 'left');
        const items: Work[] = [];
        if (left && left.type === 'VariableDeclaration')
          items.push({ kind: 'expr', node: left, scope: head });
        else if (left) items.push({ kind: 'assign', node: left, scope: head });
        // The right-hand side is evaluated with the head's let/const names in TDZ; treating them as
        // declared there can only hide an outer name of the same spelling, never a global.
        items.push(...expr(nodeAt(node, 'right'), head), ...expr(nodeAt(node, 'body'), head));
        push(...items);
        break;
      }
      case 'SwitchStatement': {
        const block = newScope(scope, false);
        const items: Work[] = [...expr(nodeAt(node, 'discriminant'), scope)];
        for (const c of nodesAt(node, 'cases')) {
          items.push(...expr(nodeAt(c, 'test'), block));
          for (const s of nodesAt(c, 'consequent')) items.push({ kind: 'expr', node: s, scope: block });
        }
        push(...items);
        break;
      }
      case 'CatchClause': {
        const catchScope = newScope(scope, false);
        const param = nodeAt(node, 'param');
        push(
          ...(param ? [{ kind: 'bind', node: param, scope: catchScope, target: catchScope } as Work] : []),
          ...expr(nodeAt(node, 'body'), catchScope),
        );
        break;
      }

      case 'LabeledStatement':
        push(...expr(nodeAt(node, 'body'), scope));
        break;
      case 'BreakStatement':
      case 'ContinueStatement':
      case 'MetaProperty':
      case 'ThisExpression':
      case 'Super':
      case 'Literal':
      case 'TemplateElement':
      case 'PrivateIdentifier':
      case 'EmptyStatement':
      case 'DebuggerStatement':
        break;

      case 'MemberExpression':
        push(
          ...expr(nodeAt(node, 'object'), scope),
          ...(field(node, 'computed') === true ? expr(nodeAt(node, 'property'), scope) : []),
        );
        break;

      case 'Property': {
        // In an object literal. `{ a }` has value = the identifier `a`: a reference.
        push(
          ...(field(node, 'computed') === true ? expr(nodeAt(node, 'key'), scope) : []),
          ...expr(nodeAt(node, 'value'), scope),
        );
        break;
      }

      case 'AssignmentExpression': {
        const left = nodeAt(node, 'left');
        push(
          ...(left ? [{ kind: 'assign', node: left, scope } as Work] : []),
          ...expr(nodeAt(node, 'right'), scope),
        );
        break;
      }

      case 'ImportDeclaration':
        for (const spec of nodesAt(node, 'specifiers')) {
          const local = nodeAt(spec, 'local');
          if (local && local.type === 'Identifier') top.names.add((local as Identifier).name);
        }
        break;
      case 'ExportNamedDeclaration': {
        const decl = nodeAt(node, 'declaration');
        if (decl) push({ kind: 'expr', node: decl, scope });
        // `export { a as b }` reads the local `a`; `export { a } from 'm'` reads nothing here.
        if (!nodeAt(node, 'source')) {
          push(...nodesAt(node, 'specifiers').flatMap((s) => expr(nodeAt(s, 'local'), scope)));
        }
        break;
      }
      case 'ExportDefaultDeclaration':
        push(...expr(nodeAt(node, 'declaration'), scope));
        break;
      case 'ExportAllDeclaration':
        break;

      default:
        // Generic rule: every child is evaluated in this scope (calls, operators, templates,
        // chains, spreads, conditionals, sequences, returns, ifs, loops, throws, try, with ...).
        push(...childNodes(node).map((child): Work => ({ kind: 'expr', node: child, scope })));
        break;
    }
  }

  const free: FreeReference[] = [];
  for (const { id, scope } of references) {
    let s: Scope | null = scope;
    let declared = false;
    while (s) {
      if (s.names.has(id.name)) {
        declared = true;
        break;
      }
      s = s.parent;
    }
    if (!declared) {
      free.push({
        name: id.name,
        node: id,
        line: id.loc?.start.line ?? 0,
        column: id.loc?.start.column ?? 0,
      });
    }
  }
  free.sort((a, b) => a.node.start - b.node.start);
  return free;
}
