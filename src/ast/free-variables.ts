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
The generic case walks children through the one child-key table (walk.ts).
 */
import type { Identifier, Node } from 'acorn';
import { childKeysOf, isNode } from './walk.ts';

/** One reference to a name that no enclosing scope declares. */
export interface FreeReference {
  readonly name: string;
  readonly node: Identifier;
  /** 1-based line (acorn `locations: true`), 0 when the tree has no locations. */
  readonly line: number;
  /** 0-based column. */
  readonly column: number;
}

/** A lexical environment: the names it declares and where var declarations land. */
interface Scope {
  /** created on the first declaration (most blocks declare nothing) */
  names: Set<string> | null;
  readonly parent: Scope | null;
  /** Function body, static block or program: `var` and hoisted functions land here. */
  readonly varTarget: boolean;
}

function newScope(parent: Scope | null, varTarget: boolean): Scope {
  return { names: null, parent, varTarget };
}

function declare(scope: Scope, name: string): void {
  (scope.names ??= new Set()).add(name);
}

function varScopeOf(scope: Scope): Scope {
  let s: Scope | null = scope;
  while (s) {
    if (s.varTarget) return s;
    s = s.parent;
  }
  return scope;
}

// Loose view of the node shapes this file reads; acorn's own types are used where they are exact.
interface AnyNode extends Node {
  readonly [key: string]: unknown;
}
const field = (node: Node, key: string): unknown => (node as AnyNode)[key];

/** How a node on the work stack is read (see the walk below). */
const EXPR = 0;
const BIND = 1;
const ASSIGN = 2;

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
  // References are resolved after the walk (a name declared anywhere in a scope counts), so the
  // order in which work is taken from the stack does not matter; results are sorted at the end.
  const refIds: Identifier[] = [];
  const refScopes: Scope[] = [];
  const top = newScope(null, true);

  // The work stack, as parallel arrays (no object per pending node). For each entry:
  // - EXPR: evaluate the node in `scope` (identifiers are references);
  // - BIND: the node is a binding pattern; identifiers are declared in `target`, defaults and
  //   computed keys are evaluated in `scope`;
  // - ASSIGN: the node is an assignment target; identifiers are references (not declarations).
  const kinds: number[] = [];
  const nodes: Node[] = [];
  const scopes: Scope[] = [];
  const targets: (Scope | null)[] = [];
  let sp = 0;
  const push = (kind: number, node: Node, scope: Scope, target: Scope | null): void => {
    kinds[sp] = kind;
    nodes[sp] = node;
    scopes[sp] = scope;
    targets[sp] = target;
    sp++;
  };
  /** Queues `value` for evaluation when it is a node. */
  const pushExpr = (value: unknown, scope: Scope): void => {
    if (isNode(value)) push(EXPR, value, scope, null);
  };
  /** Queues every node of the array `value` (statement lists, arguments, elements). */
  const pushEachExpr = (value: unknown, scope: Scope): void => {
    if (!Array.isArray(value)) return;
    for (const item of value as unknown[]) if (isNode(item)) push(EXPR, item, scope, null);
  };

  /** Queues a function: name scope (expressions), parameter scope, body scope. */
  const queueFunction = (fn: Node, scope: Scope, selfName: boolean): void => {
    let outer = scope;
    const id = field(fn, 'id');
    if (selfName && isNode(id) && id.type === 'Identifier') {
      // A named function expression sees its own name, and only it does.
      outer = newScope(scope, false);
      declare(outer, (id as Identifier).name);
    }
    const params = newScope(outer, false);
    if (fn.type !== 'ArrowFunctionExpression') declare(params, 'arguments');
    const list = field(fn, 'params');
    if (Array.isArray(list)) for (const p of list as unknown[]) if (isNode(p)) push(BIND, p, params, params);
    const body = field(fn, 'body');
    if (isNode(body) && body.type === 'BlockStatement') {
      // The body is its own var scope: `function f(a = b) { var b }` reads the outer `b`.
      pushEachExpr(field(body, 'body'), newScope(params, true));
    } else {
      pushExpr(body, params);
    }
  };

  /** Queues a class: its own scope holds its name; heritage and members are evaluated there. */
  const queueClass = (cls: Node, scope: Scope): void => {
    const inner = newScope(scope, false);
    const id = field(cls, 'id');
    if (isNode(id) && id.type === 'Identifier') declare(inner, (id as Identifier).name);
    pushExpr(field(cls, 'superClass'), inner);
    const body = field(cls, 'body');
    const members = isNode(body) ? field(body, 'body') : undefined;
    if (!Array.isArray(members)) return;
    for (const member of members as unknown[]) {
      if (!isNode(member)) continue;
      if (member.type === 'MethodDefinition' || member.type === 'PropertyDefinition') {
        if (field(member, 'computed') === true) pushExpr(field(member, 'key'), inner);
        const value = field(member, 'value');
        if (isNode(value)) {
          // Field initialisers run as if in a method: their own scope (no `arguments` allowed).
          push(EXPR, value, member.type === 'MethodDefinition' ? inner : newScope(inner, false), null);
        }
      } else if (member.type === 'StaticBlock') {
        pushEachExpr(field(member, 'body'), newScope(inner, true));
      } else {
        push(EXPR, member, inner, null);
      }
    }
  };

  /** Declares the bindings of a `var`/`let`/`const`/`using` declaration and queues initialisers. */
  const queueDeclaration = (decl: Node, scope: Scope): void => {
    const target = field(decl, 'kind') === 'var' ? varScopeOf(scope) : scope;
    const list = field(decl, 'declarations');
    if (!Array.isArray(list)) return;
    for (const d of list as unknown[]) {
      if (!isNode(d)) continue;
      const id = field(d, 'id');
      if (isNode(id)) push(BIND, id, scope, target);
      pushExpr(field(d, 'init'), scope);
    }
  };

  if (root.type === 'Program') pushEachExpr(field(root, 'body'), top);
  else push(EXPR, root, top, null);

  while (sp > 0) {
    sp--;
    const kind = kinds[sp]!;
    const node = nodes[sp]!;
    const scope = scopes[sp]!;

    if (kind !== EXPR) {
      const target = targets[sp]!;
      switch (node.type) {
        case 'Identifier':
          if (kind === BIND) declare(target, (node as Identifier).name);
          else {
            refIds.push(node as Identifier);
            refScopes.push(scope);
          }
          continue;
        case 'ObjectPattern': {
          const props = field(node, 'properties');
          if (!Array.isArray(props)) continue;
          for (const prop of props as unknown[]) {
            if (!isNode(prop)) continue;
            if (prop.type === 'RestElement') {
              const arg = field(prop, 'argument');
              if (isNode(arg)) push(kind, arg, scope, target);
              continue;
            }
            if (field(prop, 'computed') === true) pushExpr(field(prop, 'key'), scope);
            const value = field(prop, 'value');
            if (isNode(value)) push(kind, value, scope, target);
          }
          continue;
        }
        case 'ArrayPattern': {
          const elements = field(node, 'elements');
          if (Array.isArray(elements))
            for (const el of elements as unknown[]) if (isNode(el)) push(kind, el, scope, target);
          continue;
        }
        case 'RestElement': {
          const arg = field(node, 'argument');
          if (isNode(arg)) push(kind, arg, scope, target);
          continue;
        }
        case 'AssignmentPattern': {
          const left = field(node, 'left');
          if (isNode(left)) push(kind, left, scope, target);
          pushExpr(field(node, 'right'), scope);
          continue;
        }
        default:
          // A member expression (`[a.b] = x`) or anything else in target position: evaluate it.
          push(EXPR, node, scope, null);
          continue;
      }
    }

    switch (node.type) {
      case 'Identifier':
        refIds.push(node as Identifier);
        refScopes.push(scope);
        break;

      case 'BlockStatement':
        pushEachExpr(field(node, 'body'), newScope(scope, false));
        break;

      case 'VariableDeclaration':
        queueDeclaration(node, scope);
        break;

      case 'FunctionDeclaration': {
        const id = field(node, 'id');
        // Policy: a function declared in a block is visible only in that block here (Annex B would
        // also hoist it in sloppy code); reading it outside is then reported free, never hidden.
        if (isNode(id) && id.type === 'Identifier') declare(scope, (id as Identifier).name);
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
        const id = field(node, 'id');
        if (isNode(id) && id.type === 'Identifier') declare(scope, (id as Identifier).name);
        queueClass(node, scope);
        break;
      }
      case 'ClassExpression':
        queueClass(node, scope);
        break;

      case 'ForStatement': {
        const head = newScope(scope, false);
        pushExpr(field(node, 'init'), head);
        pushExpr(field(node, 'test'), head);
        pushExpr(field(node, 'update'), head);
        pushExpr(field(node, 'body'), head);
        break;
      }
      case 'ForInStatement':
      case 'ForOfStatement': {
        const head = newScope(scope, false);
        const left = field(node, 'left');
        if (isNode(left)) push(left.type === 'VariableDeclaration' ? EXPR : ASSIGN, left, head, null);
        // The right-hand side is evaluated with the head's let/const names in TDZ; treating them as
        // declared there can only hide an outer name of the same spelling, never a global.
        pushExpr(field(node, 'right'), head);
        pushExpr(field(node, 'body'), head);
        break;
      }
      case 'SwitchStatement': {
        const block = newScope(scope, false);
        pushExpr(field(node, 'discriminant'), scope);
        const cases = field(node, 'cases');
        if (Array.isArray(cases)) {
          for (const c of cases as unknown[]) {
            if (!isNode(c)) continue;
            pushExpr(field(c, 'test'), block);
            pushEachExpr(field(c, 'consequent'), block);
          }
        }
        break;
      }
      case 'CatchClause': {
        const catchScope = newScope(scope, false);
        const param = field(node, 'param');
        if (isNode(param)) push(BIND, param, catchScope, catchScope);
        pushExpr(field(node, 'body'), catchScope);
        break;
      }

      case 'LabeledStatement':
        pushExpr(field(node, 'body'), scope);
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
        pushExpr(field(node, 'object'), scope);
        if (field(node, 'computed') === true) pushExpr(field(node, 'property'), scope);
        break;

      case 'Property':
        // In an object literal. `{ a }` has value = the identifier `a`: a reference.
        if (field(node, 'computed') === true) pushExpr(field(node, 'key'), scope);
        pushExpr(field(node, 'value'), scope);
        break;

      case 'AssignmentExpression': {
        const left = field(node, 'left');
        if (isNode(left)) push(ASSIGN, left, scope, null);
        pushExpr(field(node, 'right'), scope);
        break;
      }

      case 'ImportDeclaration': {
        const specifiers = field(node, 'specifiers');
        if (!Array.isArray(specifiers)) break;
        for (const spec of specifiers as unknown[]) {
          const local = isNode(spec) ? field(spec, 'local') : undefined;
          if (isNode(local) && local.type === 'Identifier') declare(top, (local as Identifier).name);
        }
        break;
      }
      case 'ExportNamedDeclaration': {
        pushExpr(field(node, 'declaration'), scope);
        // `export { a as b }` reads the local `a`; `export { a } from 'm'` reads nothing here.
        if (!isNode(field(node, 'source'))) {
          const specifiers = field(node, 'specifiers');
          if (Array.isArray(specifiers))
            for (const s of specifiers as unknown[]) if (isNode(s)) pushExpr(field(s, 'local'), scope);
        }
        break;
      }
      case 'ExportDefaultDeclaration':
        pushExpr(field(node, 'declaration'), scope);
        break;
      case 'ExportAllDeclaration':
        break;

      default: {
        // Generic rule: every child is evaluated in this scope (calls, operators, templates,
        // chains, spreads, conditionals, sequences, returns, ifs, loops, throws, try, with ...).
        for (const key of childKeysOf(node)) {
          const value = field(node, key);
          if (Array.isArray(value)) pushEachExpr(value, scope);
          else pushExpr(value, scope);
        }
        break;
      }
    }
  }

  const free: FreeReference[] = [];
  for (let i = 0; i < refIds.length; i++) {
    const id = refIds[i]!;
    const name = id.name;
    let s: Scope | null = refScopes[i]!;
    while (s !== null && (s.names === null || !s.names.has(name))) s = s.parent;
    if (s === null) {
      free.push({
        name,
        node: id,
        line: id.loc?.start.line ?? 0,
        column: id.loc?.start.column ?? 0,
      });
    }
  }
  free.sort((a, b) => a.node.start - b.node.start);
  return free;
}
