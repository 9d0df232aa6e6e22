/**
 * The AST policy check: `checkSource(source, policy)` parses the source as the sandbox will compile
 * it (a script, pinned ECMAScript edition) and reports every rule it breaks, with positions.
 *
 * The check is a filter, not the boundary: dynamic property access (`o[k]` with a runtime `k`) and
 * aliasing (`const O = Object`) cannot be decided statically. The isolate is the boundary.
 */
import type { Node, Program } from 'acorn';
import { findFreeVariables } from '../ast/free-variables.ts';
import { ECMA_VERSION, parseProgram } from '../ast/parse.ts';
import { CONTEXT_GLOBALS } from '../ast/sandbox-globals.ts';
import { SKIP, STOP, walk as walkTree, type AnyNode } from '../ast/walk.ts';
import { PolicyError, UsageError, type Violation } from '../errors.ts';
import { fold, FOLD_BUDGET, FoldBudget, FoldScope, TOO_COMPLEX } from './fold.ts';
import { BIGINT_LITERAL, CAPABILITY_RULES, type PolicyRule } from './rules.ts';
import { SourceText } from './source-text.ts';
import type { CheckOptions, CheckResult, EffectivePolicy } from './types.ts';

export type { CheckOptions, CheckResult, CheckStats } from './types.ts';

/** Most violations one check reports (then `check.too-many-violations`). */
export const MAX_VIOLATIONS = 200;

const MODULE_NODE_TYPES = new Set([
  'ImportDeclaration',
  'ExportNamedDeclaration',
  'ExportDefaultDeclaration',
  'ExportAllDeclaration',
  'ImportExpression',
]);

/** Receivers whose calls take property names as string arguments (Reflect.get(o, 'x'), ...). */
const REFLECTIVE_RECEIVERS = new Set(['Reflect', 'Object']);

const IN_FUNCTION = 1;
const STRICT = 2;

function hasUseStrict(body: AnyNode): boolean {
  const list = (body.type === 'Program' ? body['body'] : body['body']) as AnyNode[] | undefined;
  if (!Array.isArray(list)) return false;
  for (const statement of list) {
    const directive = statement['directive'];
    if (typeof directive !== 'string') return false;
    if (directive === 'use strict') return true;
  }
  return false;
}

/**
 * Flags for the children of `node`. Classes are strict and bind `this`; strict functions bind
 * `this`; arrows inherit. In a sloppy-mode function `this` is the global object whenever the
 * function is called without a receiver, which the checker cannot rule out: not only a direct call
 * (`(function () { return this })()`) but `function f() { return this } f()`, `(0, o.m)()`,
 * `[1].map(f)`; so sloppy functions do not count as binding `this`.
 */
function childFlagsOf(node: AnyNode, flags: number): number {
  switch (node.type) {
    case 'ClassDeclaration':
    case 'ClassExpression':
      return flags | IN_FUNCTION | STRICT;
    case 'FunctionDeclaration':
    case 'FunctionExpression': {
      const body = node['body'] as AnyNode;
      const strict = (flags & STRICT) !== 0 || hasUseStrict(body);
      // Defends against reaching the global object through any sloppy function called without a
      // receiver (a declaration called by name, an alias, a callback): packed sources are always
      // strict ('use strict' is prepended), so only hand-written sloppy scripts are affected.
      const globalThis = !strict;
      return (strict ? STRICT : 0) | (globalThis ? 0 : IN_FUNCTION);
    }
    default:
      return flags;
  }
}

const COMPARISONS = new Set(['===', '!==', '==', '!=']);

class Collector {
  readonly violations: Violation[] = [];
  truncated = false;
  readonly #text: SourceText;

  constructor(text: SourceText) {
    this.#text = text;
  }

  add(rule: PolicyRule, text: string, offset: number | undefined): void {
    // Defends against echoing untrusted payloads: parser messages can quote huge identifiers.
    const message = text.length > 300 ? `${text.slice(0, 300)}…` : text;
    if (this.violations.length >= MAX_VIOLATIONS) {
      this.truncated = true;
      return;
    }
    if (offset === undefined) {
      this.violations.push({ rule, message, line: 0, column: 0, snippet: '' });
      return;
    }
    const { line, column } = this.#text.position(offset);
    this.violations.push({ rule, message, line, column, snippet: this.#text.snippet(offset) });
  }
}

/** A key or member name to check once constant bindings are known. */
interface DeferredName {
  readonly node: Node;
  readonly where: string;
}

function staticKeyName(key: AnyNode, computed: boolean): string | undefined {
  if (computed) return undefined;
  if (key.type === 'Identifier') return key['name'] as string;
  if (key.type === 'Literal') return String(key['value']);
  return undefined;
}

function isNamedMember(node: AnyNode, name: string): boolean {
  return (
    node.type === 'MemberExpression' &&
    node['computed'] !== true &&
    (node['property'] as AnyNode)['name'] === name
  );
}

function quote(name: string): string {
  return JSON.stringify(name.length > 64 ? `${name.slice(0, 64)}…` : name);
}

const allowedPrefixes = new WeakMap<EffectivePolicy, Set<string>>();

function prefixesOf(policy: EffectivePolicy): Set<string> {
  let set = allowedPrefixes.get(policy);
  if (!set) {
    set = new Set();
    for (const entry of policy.globals) {
      const dot = entry.indexOf('.');
      if (dot > 0) set.add(entry.slice(0, dot));
    }
    allowedPrefixes.set(policy, set);
  }
  return set;
}

function assertInputs(source: unknown, policy: unknown, options: unknown): asserts source is string {
  if (typeof source !== 'string') {
    throw new UsageError('ERR_USAGE', `checkSource: expected source text (a string), got ${typeof source}`);
  }
  const p = policy as Partial<EffectivePolicy> | null;
  if (
    typeof p !== 'object' ||
    p === null ||
    !(p.syntax instanceof Set) ||
    !(p.globals instanceof Set) ||
    !(p.forbiddenNames instanceof Set) ||
    typeof p.source !== 'object'
  ) {
    throw new UsageError(
      'ERR_USAGE',
      'checkSource: expected an EffectivePolicy (from policySet.forTenant(tenant))',
    );
  }
  if (options !== undefined) {
    const requires = (options as CheckOptions | null)?.requires;
    if (
      typeof options !== 'object' ||
      options === null ||
      (requires !== undefined && (!Array.isArray(requires) || requires.some((r) => typeof r !== 'string')))
    ) {
      throw new UsageError('ERR_USAGE', 'checkSource: options.requires must be an array of capability names');
    }
  }
}

/**
 * Checks `source` against `policy`: size, syntax, node types, free globals, forbidden names and
 * the capabilities in `options.requires`. Never throws on hostile source: every problem is a
 * violation. In audit mode violations are reported and `blocked` is false.
 * @throws UsageError `ERR_USAGE` when the arguments are not a string, an EffectivePolicy and options.
 * @example
 * const result = checkSource('class A extends Component { run() { return Object.keys({}); } }', policy);
 * result.ok; // true
 */
export function checkSource(source: string, policy: EffectivePolicy, options?: CheckOptions): CheckResult {
  assertInputs(source, policy, options);
  const text = new SourceText(source);
  const out = new Collector(text);
  let bytes = Buffer.byteLength(source, 'utf8');
  let nodes = 0;
  let depth = 0;

  const finish = (): CheckResult => {
    checkCapabilities(policy, options?.requires ?? [], out);
    if (out.truncated) {
      out.violations.length = MAX_VIOLATIONS - 1;
      out.truncated = false;
      out.add(
        'check.too-many-violations',
        `more than ${MAX_VIOLATIONS} violations; only the first are listed`,
        undefined,
      );
    }
    const violations = out.violations.sort(
      (a, b) => a.line - b.line || a.column - b.column || (a.rule < b.rule ? -1 : 1),
    );
    const ok = violations.length === 0;
    return Object.freeze({
      ok,
      blocked: !ok && policy.mode === 'enforce',
      violations: Object.freeze(violations.map((v) => Object.freeze(v))),
      revision: policy.revision,
      mode: policy.mode,
      tenant: policy.tenant,
      stats: Object.freeze({ bytes, nodes, depth }),
    });
  };

  // Defends against parser memory/CPU exhaustion: the size is checked before parsing.
  if (bytes > policy.source.maxBytes) {
    out.add(
      'source.too-large',
      `source is ${bytes} bytes of UTF-8, the limit is ${policy.source.maxBytes}`,
      undefined,
    );
    return finish();
  }
  // Defends against an encoding differential: a lone surrogate cannot survive the UTF-8 statement.
  if (!source.isWellFormed()) {
    const match = /[\ud800-\udfff]/u.exec(source);
    out.add('source.invalid-unicode', 'source contains a lone UTF-16 surrogate', match?.index);
    bytes = Buffer.byteLength(source.toWellFormed(), 'utf8');
  }

  // Parse as a script, exactly as the sandbox compiles it.
  const comments: number[] = [];
  let program: Program;
  try {
    // The same options as the packer and the sandbox goal (one source of truth), plus comments.
    program = parseProgram(source, 'script', {
      locations: false,
      onComment: (_block: boolean, _text: string, start: number) => {
        comments.push(start);
      },
    });
  } catch (error) {
    reportParseError(error, out);
    return finish();
  }
  for (const start of comments) {
    // Defends against a script/module differential (SES rejectHtmlComments): `<!--` and `-->`
    // start comments in a script and are operators in a module, so refuse both spellings.
    if (source.startsWith('<!--', start) || source.startsWith('-->', start)) {
      out.add(
        'syntax.html-comment',
        'HTML-like comment (<!-- or -->): scripts and modules read it differently',
        start,
      );
    }
  }

  const walked = walk(program, policy, out);
  nodes = walked.nodes;
  depth = walked.depth;
  if (walked.complete) {
    // One folding budget for the whole check (fold.ts): bounded work whatever the source holds.
    const budget = new FoldBudget();
    checkDeferred(walked, policy, out, new FoldScope(walked.consts, budget));
    checkGlobals(program, walked.memberOf, policy, out, new FoldScope(new Map(), budget));
    checkTopLevelVars(program, policy, out);
    if (budget.exhausted) {
      // Defends against hiding a forbidden key behind enough folding work to exhaust the budget:
      // the keys left unchecked make the whole source refused, never passed.
      out.add(
        'source.budget',
        `constant folding needed more than its budget of ${FOLD_BUDGET} work units; computed keys after this point were not checked`,
        undefined,
      );
    }
  }
  return finish();
}

function reportParseError(error: unknown, out: Collector): void {
  if (error instanceof SyntaxError) {
    const pos = (error as SyntaxError & { pos?: number }).pos;
    const message = error.message.replace(/ \(\d+:\d+\)$/, '');
    if (/stack space/i.test(message)) {
      // acorn's own stack-overflow guard (catchStackOverflow) reports hostile nesting this way.
      out.add('source.too-deep', 'source is nested too deeply to parse', undefined);
    } else if (/'import' and 'export'|import\.meta/.test(message)) {
      out.add('syntax.module', `${message}: components are scripts, without import/export`, pos);
    } else {
      out.add('syntax.parse', `source does not parse as an ES${ECMA_VERSION} script: ${message}`, pos);
    }
    return;
  }
  // Defends against a stack overflow in the parser on hostile nesting: acorn recurses, the
  // RangeError becomes a violation instead of escaping as a crash.
  if (error instanceof RangeError) {
    out.add('source.too-deep', 'source is nested too deeply to parse', undefined);
    return;
  }
  out.add(
    'syntax.parse',
    `source cannot be parsed: ${error instanceof Error ? error.name : 'error'}`,
    undefined,
  );
}

interface Walked {
  readonly nodes: number;
  readonly depth: number;
  /** false when the walk stopped at a limit (the tree is not fully known). */
  readonly complete: boolean;
  /** Free-reference candidates: identifier → the expression that uses it (member, instanceof, typeof). */
  readonly memberOf: Map<Node, AnyNode>;
  readonly consts: Map<string, Node[]>;
  readonly deferredNames: DeferredName[];
  readonly reflectiveArgs: { node: Node; call: string }[];
}

/** The iterative walk: counts, depth, node types, and the name checks that need no binding info. */
function walk(program: Program, policy: EffectivePolicy, out: Collector): Walked {
  const forbidden = policy.forbiddenNames;
  const syntax = policy.syntax;
  const memberOf = new Map<Node, AnyNode>();
  const consts = new Map<string, Node[]>();
  const deferredNames: DeferredName[] = [];
  const reflectiveArgs: { node: Node; call: string }[] = [];
  const skipStrings = new Set<Node>();
  const { maxNodes, maxDepth } = policy.source;

  const checkName = (name: string, where: string, offset: number): void => {
    if (forbidden.has(name)) out.add('names.forbidden', `forbidden name ${quote(name)} as ${where}`, offset);
  };

  // Defends against stack exhaustion on deep trees: the shared walker (ast/walk.ts) is iterative.
  // Each node's state is its bit flags: IN_FUNCTION (`this` is not the global object there), STRICT.
  const rootFlags = hasUseStrict(program as unknown as AnyNode) ? STRICT : 0;
  let nodes = 0;
  let deepest = 0;
  const complete = walkTree(program, rootFlags, (node, d, nodeFlags) => {
    const scoped = (nodeFlags & IN_FUNCTION) !== 0;
    nodes++;
    if (d > deepest) deepest = d;
    if (nodes > maxNodes) {
      out.add('source.too-many-nodes', `source has more than ${maxNodes} AST nodes`, node.start);
      return STOP;
    }
    if (d > maxDepth) {
      out.add('source.too-deep', `AST nesting deeper than ${maxDepth}`, node.start);
      return STOP;
    }
    const type = node.type;

    // Node types: unknown ones are denied (fail closed).
    if (
      MODULE_NODE_TYPES.has(type) ||
      (type === 'MetaProperty' && (node['meta'] as AnyNode)['name'] === 'import')
    ) {
      out.add(
        'syntax.module',
        `${type === 'ImportExpression' ? 'dynamic import()' : type}: components are scripts`,
        node.start,
      );
    }
    if (!syntax.has(type)) {
      out.add('syntax.node-type', `node type ${type} is not allowed by policy`, node.start);
    }

    // Defends against BigInt work that ignores the isolate timeout (7n ** 12000000n: ~1.8 s of
    // uninterruptible V8 work from a 16-byte literal): BigInt literals need an explicit grant.
    if (type === 'Literal' && typeof node['bigint'] === 'string' && !syntax.has(BIGINT_LITERAL)) {
      out.add(
        'syntax.bigint',
        `BigInt literal is not allowed by policy (syntax.allow lacks ${BIGINT_LITERAL})`,
        node.start,
      );
    }

    switch (type) {
      case 'MemberExpression': {
        const property = node['property'] as AnyNode;
        if (node['computed'] === true) deferredNames.push({ node: property, where: 'a computed member' });
        else if (property.type === 'Identifier')
          checkName(property['name'] as string, 'a member', property.start);
        const object = node['object'] as AnyNode;
        if (object.type === 'Identifier') memberOf.set(object, node);
        break;
      }
      case 'Property':
      case 'MethodDefinition':
      case 'PropertyDefinition': {
        // A class's own constructor method is allowed; `static constructor()` and keys are not.
        if (type === 'MethodDefinition' && node['kind'] === 'constructor') break;
        const key = node['key'] as AnyNode;
        const where = type === 'Property' ? 'an object or pattern key' : 'a class member';
        const name = staticKeyName(key, node['computed'] === true);
        if (name !== undefined) checkName(name, where, key.start);
        else if (node['computed'] === true)
          deferredNames.push({ node: key, where: `a computed ${where.replace(/^an? /, '')}` });
        if (!policy.forbiddenInAllStrings && key.type === 'Literal') skipStrings.add(key);
        break;
      }
      case 'VariableDeclaration': {
        // `const k = <expr>`: remembered so `o[k]` can be folded (let/var can be reassigned).
        if (node['kind'] !== 'const') break;
        for (const declarator of node['declarations'] as AnyNode[]) {
          const id = declarator['id'] as AnyNode;
          if (id.type !== 'Identifier' || !declarator['init']) continue;
          const list = consts.get(id['name'] as string);
          if (list) list.push(declarator['init'] as Node);
          else consts.set(id['name'] as string, [declarator['init'] as Node]);
        }
        break;
      }
      case 'CallExpression': {
        let callee = node['callee'] as AnyNode;
        // Reflect.get.call(null, o, 'constructor') / .apply: look through call/apply.
        if (
          callee.type === 'MemberExpression' &&
          callee['computed'] !== true &&
          ['call', 'apply'].includes((callee['property'] as AnyNode)['name'] as string) &&
          (callee['object'] as AnyNode).type === 'MemberExpression'
        ) {
          callee = callee['object'] as AnyNode;
        }
        if (callee.type === 'MemberExpression') {
          const object = callee['object'] as AnyNode;
          if (object.type === 'Identifier' && REFLECTIVE_RECEIVERS.has(object['name'] as string)) {
            const method = staticKeyName(callee['property'] as AnyNode, callee['computed'] === true) ?? '?';
            const call = `${object['name'] as string}.${method}`;
            const args = node['arguments'] as AnyNode[];
            // Defends against hiding the name in an argument list: with `.apply(t, [o, 'constructor'])`,
            // `Reflect.apply(Reflect.get, t, [o, 'constructor'])` or `Reflect.construct(C, [...])` the
            // real arguments are the elements of a literal array, so those are checked one by one.
            const viaApply = callee !== node['callee'] && isNamedMember(node['callee'] as AnyNode, 'apply');
            const listAt = viaApply
              ? 1
              : object['name'] === 'Reflect' && method === 'apply'
                ? 2
                : object['name'] === 'Reflect' && method === 'construct'
                  ? 1
                  : -1;
            args.forEach((arg, index) => {
              const list = arg.type === 'SpreadElement' ? (arg['argument'] as AnyNode) : arg;
              reflectiveArgs.push({ node: list, call });
              if (index !== listAt || list.type !== 'ArrayExpression') return;
              for (const element of list['elements'] as (AnyNode | null)[]) {
                if (element === null) continue;
                const item = element.type === 'SpreadElement' ? (element['argument'] as Node) : element;
                reflectiveArgs.push({ node: item, call });
              }
            });
          }
        }
        break;
      }
      case 'BinaryExpression': {
        const op = node['operator'] as string;
        if (COMPARISONS.has(op)) {
          skipStrings.add(node['left'] as Node);
          skipStrings.add(node['right'] as Node);
        }
        if (op === 'instanceof' && (node['right'] as AnyNode).type === 'Identifier')
          memberOf.set(node['right'] as Node, node);
        if (op === 'in') skipStrings.add(node['left'] as Node);
        break;
      }
      case 'UnaryExpression':
        if (node['operator'] === 'typeof' && (node['argument'] as AnyNode).type === 'Identifier') {
          memberOf.set(node['argument'] as Node, node);
        }
        break;
      case 'SwitchCase':
        if (node['test']) skipStrings.add(node['test'] as Node);
        break;
      case 'ThisExpression':
        // Defends against reaching the global object: top-level `this` in a script, and `this` in a
        // sloppy function called directly, is globalThis (every global by computed keys).
        if (!scoped) {
          out.add(
            'globals.not-allowed',
            '`this` here can be the global object (top level, or a sloppy-mode function: add "use strict")',
            node.start,
          );
        }
        break;
      case 'Literal':
        if (policy.forbiddenInAllStrings && typeof node['value'] === 'string' && !skipStrings.has(node)) {
          checkName(node['value'], 'a string constant', node.start);
        }
        break;
      case 'TemplateLiteral':
        if (
          policy.forbiddenInAllStrings &&
          (node['expressions'] as Node[]).length === 0 &&
          !skipStrings.has(node)
        ) {
          const quasi = (node['quasis'] as AnyNode[])[0]!;
          const cooked = (quasi['value'] as { cooked: string | null }).cooked;
          if (cooked !== null) checkName(cooked, 'a string constant', node.start);
        }
        break;
    }

    // Children in source order, through the one child-key table (unknown types: every own key).
    return childFlagsOf(node, nodeFlags);
  });
  return { nodes, depth: deepest, complete, memberOf, consts, deferredNames, reflectiveArgs };
}

function checkDeferred(walked: Walked, policy: EffectivePolicy, out: Collector, scope: FoldScope): void {
  const check = (node: Node, where: string): void => {
    const folded = fold(node, scope);
    // A spent budget is reported once, as source.budget (checkSource).
    if (folded === TOO_COMPLEX && scope.budget.exhausted) return;
    if (folded === TOO_COMPLEX) {
      out.add('names.forbidden', `${where} is too complex to check statically`, node.start);
      return;
    }
    if (folded === undefined) return;
    for (const name of folded) {
      if (policy.forbiddenNames.has(name)) {
        out.add('names.forbidden', `forbidden name ${quote(name)} as ${where}`, node.start);
        return;
      }
    }
  };
  for (const d of walked.deferredNames) check(d.node, d.where);
  for (const r of walked.reflectiveArgs) check(r.node, `a string argument to ${r.call}`);
}

function checkGlobals(
  program: Program,
  memberOf: Map<Node, AnyNode>,
  policy: EffectivePolicy,
  out: Collector,
  scope: FoldScope,
): void {
  const { globals, globalsDenied, forbiddenNames } = policy;
  for (const ref of findFreeVariables(program)) {
    const name = ref.name;
    const at = ref.node.start;
    if (forbiddenNames.has(name)) {
      out.add('names.forbidden', `forbidden name ${quote(name)} as a global`, at);
      // Also say that the global itself is not allowed (it never is: deny beats allow).
      if (!globals.has(name))
        out.add('globals.not-allowed', `global ${quote(name)} is not allowed by policy`, at);
      continue;
    }
    if (globalsDenied.has(name)) {
      out.add('globals.not-allowed', `global ${quote(name)} is denied by policy`, at);
      continue;
    }
    const user = memberOf.get(ref.node);
    if (user?.type === 'MemberExpression' && user['object'] === ref.node) {
      const property = user['property'] as AnyNode;
      let member: string | undefined;
      if (user['computed'] !== true)
        member = property.type === 'Identifier' ? (property['name'] as string) : undefined;
      else {
        const folded = fold(property, scope);
        if (Array.isArray(folded) && folded.length === 1) member = folded[0];
      }
      if (member !== undefined) {
        const full = `${name}.${member}`;
        if (globalsDenied.has(full)) {
          out.add('globals.not-allowed', `global member ${quote(full)} is denied by policy`, at);
          continue;
        }
        if (globals.has(full) || globals.has(name)) continue;
        out.add('globals.not-allowed', `global member ${quote(full)} is not allowed by policy`, at);
        continue;
      }
    }
    if (globals.has(name)) continue;
    // `x instanceof Object` and `typeof Object` use no member: fine when some member is allowed.
    if (user && user.type !== 'MemberExpression' && prefixesOf(policy).has(name)) continue;
    out.add(
      'globals.not-allowed',
      prefixesOf(policy).has(name)
        ? `global ${quote(name)} may only be used through its allowed members (e.g. ${name}.${[...globals].find((g) => g.startsWith(`${name}.`))!.slice(name.length + 1)})`
        : `global ${quote(name)} is not allowed by policy`,
      at,
    );
  }
}

/** Statement children through which a `var` still lands in the script's top-level var scope. */
const VAR_SCOPE_STATEMENT_KEYS: ReadonlyMap<string, readonly string[]> = new Map([
  ['BlockStatement', ['body']],
  ['IfStatement', ['consequent', 'alternate']],
  ['ForStatement', ['init', 'body']],
  ['ForInStatement', ['left', 'body']],
  ['ForOfStatement', ['left', 'body']],
  ['WhileStatement', ['body']],
  ['DoWhileStatement', ['body']],
  ['LabeledStatement', ['body']],
  ['TryStatement', ['block', 'handler', 'finalizer']],
  ['CatchClause', ['body']],
  ['SwitchStatement', ['cases']],
  ['SwitchCase', ['consequent']],
  ['WithStatement', ['body']],
  ['VariableDeclaration', ['declarations']],
  ['VariableDeclarator', ['id']],
  ['ObjectPattern', ['properties']],
  ['Property', ['value']],
  ['ArrayPattern', ['elements']],
  ['RestElement', ['argument']],
  ['AssignmentPattern', ['left']],
  ['Program', ['body']],
]);

/**
 * Defends against reading a global through a top-level `var` of the same name: in a script, `var X`
 * at the top level (or in a block, loop or try there) binds the global object's existing property
 * `X` and, without an initialiser that runs first, leaves its value alone. Scope analysis calls `X`
 * declared, so `var Reflect; Reflect.getPrototypeOf(f)` or `if (0) { var globalThis }` read the real
 * global past the allowlist. Such a declaration is checked as a use of the bare global `X`.
 */
function checkTopLevelVars(program: Program, policy: EffectivePolicy, out: Collector): void {
  const varScopeKeys = (node: AnyNode): readonly string[] => VAR_SCOPE_STATEMENT_KEYS.get(node.type) ?? [];
  walkTree(
    program,
    undefined,
    (node) => {
      if (node.type === 'VariableDeclaration' && node['kind'] !== 'var') return SKIP;
      if (node.type !== 'Identifier') return undefined;
      const name = node['name'] as string;
      const at = node.start;
      const message = `top-level var ${quote(name)} is the global ${quote(name)} of the sandbox (a script's var reuses it): use let or const, or another name`;
      if (policy.forbiddenNames.has(name)) {
        out.add('names.forbidden', `forbidden name ${quote(name)} as a top-level var`, at);
        out.add('globals.not-allowed', message, at);
      } else if (
        (CONTEXT_GLOBALS.has(name) || policy.globalsDenied.has(name)) &&
        (!policy.globals.has(name) || policy.globalsDenied.has(name))
      ) {
        out.add('globals.not-allowed', message, at);
      }
      return SKIP;
    },
    varScopeKeys,
  );
}

function checkCapabilities(policy: EffectivePolicy, requires: readonly string[], out: Collector): void {
  for (const name of new Set(requires)) {
    if (!Object.hasOwn(policy.capabilities, name)) {
      out.add(
        'capability.not-granted',
        `capability ${quote(name)} is not granted to tenant ${quote(policy.tenant)}`,
        undefined,
      );
    }
  }
}

/**
 * Throws when a check result blocks the load (a violation in enforce mode).
 * @throws PolicyError `ERR_CAPABILITY_NOT_GRANTED` when every violation is a capability one,
 * `ERR_POLICY_VIOLATION` otherwise; the error carries every violation.
 */
export function assertSourceAllowed(result: CheckResult): void {
  if (!result.blocked) return;
  const onlyCapabilities = result.violations.every((v) => CAPABILITY_RULES.has(v.rule));
  const first = result.violations[0]!;
  const where = first.line > 0 ? ` at ${first.line}:${first.column}` : '';
  const summary = `${result.violations.length} policy violation(s) (policy revision ${result.revision}); first: ${first.rule}${where}: ${first.message}`;
  throw new PolicyError(
    onlyCapabilities ? 'ERR_CAPABILITY_NOT_GRANTED' : 'ERR_POLICY_VIOLATION',
    summary,
    result.violations,
    { revision: result.revision, tenant: result.tenant, mode: result.mode },
  );
}
