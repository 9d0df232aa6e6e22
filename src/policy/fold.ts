/**
 * Constant folding of property keys: what strings can this expression evaluate to, without running
 * it? Used to find forbidden names hidden as `x['con' + 'structor']`, `` x[`__proto__`] ``,
 * `x[c ? 'a' : 'prototype']`, `const k = 'constructor'; x[k]`, `String.fromCharCode(...)`.
 *
 * Bounded: recursion depth, the number of candidate strings and their length are capped, so a
 * hostile expression cannot make folding slow or overflow the stack; an expression that hits a cap
 * is reported as TOO_COMPLEX and the checker refuses it.
 */
import type { Node } from 'acorn';

/** Fold result: the possible string values, `undefined` when not constant, or TOO_COMPLEX. */
export type Folded = readonly string[] | undefined | typeof TOO_COMPLEX;

/** Marker: the expression is constant-looking but past the folding caps. */
export const TOO_COMPLEX = Symbol('too-complex');

const MAX_FOLD_DEPTH = 48;
const MAX_CANDIDATES = 64;
/** Candidates longer than this cannot equal a forbidden name (names are at most 128 characters). */
const MAX_CANDIDATE_LENGTH = 256;

type AnyNode = Node & Record<string, unknown>;

/** Constant bindings (`const k = <expr>`) by name; several when the name is declared more than once. */
export type ConstBindings = ReadonlyMap<string, readonly Node[]>;

/** Per-check memo of folded `const` bindings (keyed by the bindings map of one check). */
const identifierMemo = new WeakMap<ConstBindings, Map<string, Folded>>();

function product(left: readonly string[], right: readonly string[]): readonly string[] | typeof TOO_COMPLEX {
  if (left.length * right.length > MAX_CANDIDATES) return TOO_COMPLEX;
  const out: string[] = [];
  for (const a of left) {
    for (const b of right) {
      const s = a + b;
      // Too long to be a name: keep a truncated stand-in so later concatenation stays bounded.
      out.push(s.length > MAX_CANDIDATE_LENGTH ? s.slice(0, MAX_CANDIDATE_LENGTH + 1) : s);
    }
  }
  return out;
}

function union(a: readonly string[], b: readonly string[]): readonly string[] | typeof TOO_COMPLEX {
  const out = [...new Set([...a, ...b])];
  return out.length > MAX_CANDIDATES ? TOO_COMPLEX : out;
}

function isMember(node: AnyNode, object: string, property: string): boolean {
  if (node.type !== 'MemberExpression' || node['computed'] === true) return false;
  const o = node['object'] as AnyNode;
  const p = node['property'] as AnyNode;
  return o.type === 'Identifier' && o['name'] === object && p.type === 'Identifier' && p['name'] === property;
}

function concatAll(parts: readonly (readonly string[])[]): Folded {
  let acc: readonly string[] = [''];
  for (const part of parts) {
    const next = product(acc, part);
    if (next === TOO_COMPLEX) return TOO_COMPLEX;
    acc = next;
  }
  return acc;
}

function foldTemplate(
  quasi: AnyNode,
  expressions: readonly AnyNode[],
  raw: boolean,
  consts: ConstBindings,
  depth: number,
): Folded {
  const quasis = quasi['quasis'] as AnyNode[];
  const parts: (readonly string[])[] = [];
  for (let i = 0; i < quasis.length; i++) {
    const value = quasis[i]!['value'] as { raw: string; cooked: string | null };
    parts.push([raw || value.cooked === null ? value.raw : value.cooked]);
    const expr = expressions[i];
    if (expr) {
      const folded = fold(expr, consts, depth + 1);
      if (folded === undefined || folded === TOO_COMPLEX) return folded;
      parts.push(folded);
    }
  }
  return concatAll(parts);
}

/**
 * The possible string values of `node` when it is a constant expression.
 * @returns the candidates, `undefined` when not constant, or {@link TOO_COMPLEX}.
 */
export function fold(node: Node, consts: ConstBindings, depth = 0): Folded {
  if (depth > MAX_FOLD_DEPTH) return TOO_COMPLEX;
  const n = node as AnyNode;
  switch (n.type) {
    case 'Literal': {
      const value = n['value'];
      if (typeof value === 'string') return [value];
      if (typeof value === 'number' || typeof value === 'boolean' || value === null) return [String(value)];
      if (typeof n['bigint'] === 'string') return [n['bigint']];
      return undefined;
    }
    case 'TemplateLiteral':
      return foldTemplate(n, n['expressions'] as AnyNode[], false, consts, depth);
    case 'TaggedTemplateExpression': {
      if (!isMember(n['tag'] as AnyNode, 'String', 'raw')) return undefined;
      const quasi = n['quasi'] as AnyNode;
      return foldTemplate(quasi, quasi['expressions'] as AnyNode[], true, consts, depth);
    }
    case 'BinaryExpression': {
      if (n['operator'] !== '+') return undefined;
      const left = fold(n['left'] as Node, consts, depth + 1);
      if (left === undefined || left === TOO_COMPLEX) return left;
      const right = fold(n['right'] as Node, consts, depth + 1);
      if (right === undefined || right === TOO_COMPLEX) return right;
      return product(left, right);
    }
    case 'ConditionalExpression':
    case 'LogicalExpression': {
      const a = fold(
        (n.type === 'LogicalExpression' ? n['left'] : n['consequent']) as Node,
        consts,
        depth + 1,
      );
      const b = fold(
        (n.type === 'LogicalExpression' ? n['right'] : n['alternate']) as Node,
        consts,
        depth + 1,
      );
      if (a === TOO_COMPLEX || b === TOO_COMPLEX) return TOO_COMPLEX;
      // One constant branch is enough to matter: report what is known.
      if (a === undefined) return b;
      if (b === undefined) return a;
      return union(a, b);
    }
    case 'SequenceExpression': {
      const list = n['expressions'] as Node[];
      return fold(list[list.length - 1]!, consts, depth + 1);
    }
    case 'AssignmentExpression':
      return n['operator'] === '=' ? fold(n['right'] as Node, consts, depth + 1) : undefined;
    case 'Identifier': {
      const name = n['name'] as string;
      const inits = consts.get(name);
      if (!inits) return undefined;
      let memo = identifierMemo.get(consts);
      if (!memo) identifierMemo.set(consts, (memo = new Map()));
      if (memo.has(name)) return memo.get(name);
      // Cycle guard (`const a = a + 'x'` is a TDZ error, but fold must not loop on it).
      memo.set(name, undefined);
      let acc: readonly string[] | undefined;
      let result: Folded;
      for (const init of inits) {
        const folded = fold(init, consts, depth + 1);
        if (folded === TOO_COMPLEX) {
          result = TOO_COMPLEX;
          break;
        }
        if (folded === undefined) continue;
        const merged: readonly string[] | typeof TOO_COMPLEX = acc ? union(acc, folded) : folded;
        // Policy: a name bound by very many different constants is treated as dynamic (no false
        // positive on big sources); the isolate still stops what the filter lets through.
        if (merged === TOO_COMPLEX) {
          acc = undefined;
          break;
        }
        acc = merged;
      }
      result ??= acc;
      memo.set(name, result);
      return result;
    }
    case 'ArrayExpression': {
      // `['constructor']` as a key converts to the string 'constructor'.
      const elements = n['elements'] as (AnyNode | null)[];
      if (elements.length !== 1 || !elements[0] || elements[0].type === 'SpreadElement') return undefined;
      return fold(elements[0], consts, depth + 1);
    }
    case 'CallExpression':
      return foldCall(n, consts, depth);
    default:
      return undefined;
  }
}

function tryDecode<T>(fn: () => T): T | undefined {
  try {
    return fn();
  } catch {
    return undefined;
  }
}

/** Decoding globals whose result on a constant is a constant. */
const DECODERS: ReadonlyMap<string, (s: string) => string | undefined> = new Map([
  ['decodeURIComponent', (s: string) => tryDecode(() => decodeURIComponent(s))],
  ['decodeURI', (s: string) => tryDecode(() => decodeURI(s))],
]);

/** Argument-less string methods that map a constant to a constant. */
const STRING_METHODS: ReadonlyMap<string, (s: string) => string> = new Map([
  ['toString', (s: string) => s],
  ['valueOf', (s: string) => s],
  ['trim', (s: string) => s.trim()],
  ['trimStart', (s: string) => s.trimStart()],
  ['trimEnd', (s: string) => s.trimEnd()],
  ['toLowerCase', (s: string) => s.toLowerCase()],
  ['toUpperCase', (s: string) => s.toUpperCase()],
  ['toLocaleLowerCase', (s: string) => s.toLowerCase()],
  ['toLocaleUpperCase', (s: string) => s.toUpperCase()],
  ['normalize', (s: string) => s.normalize()],
]);

/**
 * Constant arrays of strings, one candidate list per element: `['a', 'b']`, `'abc'.split('')`,
 * `[...].reverse()`. Only single-candidate receivers are split (bounded work).
 */
function foldArray(
  node: Node,
  consts: ConstBindings,
  depth: number,
): (readonly string[])[] | undefined | typeof TOO_COMPLEX {
  if (depth > MAX_FOLD_DEPTH) return TOO_COMPLEX;
  const n = node as AnyNode;
  if (n.type === 'ArrayExpression') {
    const elements = n['elements'] as (AnyNode | null)[];
    if (elements.some((e) => e === null)) return undefined;
    return foldArgs(elements as AnyNode[], consts, depth);
  }
  if (n.type !== 'CallExpression') return undefined;
  const callee = n['callee'] as AnyNode;
  if (callee.type !== 'MemberExpression' || callee['computed'] === true) return undefined;
  const method = (callee['property'] as AnyNode)['name'];
  const args = n['arguments'] as AnyNode[];
  if (method === 'reverse' && args.length === 0) {
    const inner = foldArray(callee['object'] as Node, consts, depth + 1);
    return inner === undefined || inner === TOO_COMPLEX ? inner : [...inner].reverse();
  }
  if (method === 'split' && args.length === 1) {
    const base = fold(callee['object'] as Node, consts, depth + 1);
    const sep = fold(args[0]!, consts, depth + 1);
    if (base === TOO_COMPLEX || sep === TOO_COMPLEX) return TOO_COMPLEX;
    if (base === undefined || sep === undefined || base.length !== 1 || sep.length !== 1) return undefined;
    const pieces = base[0]!.split(sep[0]!);
    return pieces.length > MAX_CANDIDATE_LENGTH ? TOO_COMPLEX : pieces.map((p) => [p]);
  }
  return undefined;
}

function foldArgs(
  args: readonly AnyNode[],
  consts: ConstBindings,
  depth: number,
): (readonly string[])[] | undefined | typeof TOO_COMPLEX {
  const out: (readonly string[])[] = [];
  for (const arg of args) {
    if (arg.type === 'SpreadElement') return undefined;
    const folded = fold(arg, consts, depth + 1);
    if (folded === undefined || folded === TOO_COMPLEX) return folded;
    out.push(folded);
  }
  return out;
}

function foldCall(n: AnyNode, consts: ConstBindings, depth: number): Folded {
  const callee = n['callee'] as AnyNode;
  const args = n['arguments'] as AnyNode[];
  // String.fromCharCode(99, 111, ...) / String.fromCodePoint(...) with literal numbers.
  if (isMember(callee, 'String', 'fromCharCode') || isMember(callee, 'String', 'fromCodePoint')) {
    if (args.length > MAX_CANDIDATE_LENGTH) return TOO_COMPLEX;
    let text = '';
    for (const arg of args) {
      if (arg.type !== 'Literal' || typeof arg['value'] !== 'number') return undefined;
      const code = arg['value'];
      if (!Number.isInteger(code) || code < 0 || code > 0x10ffff) return undefined;
      text += String.fromCodePoint(code);
    }
    return [text];
  }
  // String(x), decodeURIComponent('%63onstructor'), JSON.parse('"constructor"')
  if (callee.type === 'Identifier' && args.length === 1) {
    const name = callee['name'] as string;
    const decoder = DECODERS.get(name);
    if (name === 'String' || decoder) {
      const inner = fold(args[0]!, consts, depth + 1);
      if (inner === undefined || inner === TOO_COMPLEX || !decoder) return inner;
      return inner.flatMap((s) => {
        const decoded = decoder(s);
        return decoded === undefined ? [] : [decoded];
      });
    }
  }
  if (isMember(callee, 'JSON', 'parse') && args.length === 1) {
    const inner = fold(args[0]!, consts, depth + 1);
    if (inner === undefined || inner === TOO_COMPLEX) return inner;
    return inner.flatMap((s) => {
      const value = tryDecode(() => JSON.parse(s) as unknown);
      return typeof value === 'string' ? [value] : [];
    });
  }
  if (callee.type !== 'MemberExpression' || callee['computed'] === true) return undefined;
  const method = (callee['property'] as AnyNode)['name'];
  const receiver = callee['object'] as AnyNode;
  const transform = typeof method === 'string' ? STRING_METHODS.get(method) : undefined;
  if (transform && args.length === 0) {
    const base = fold(receiver, consts, depth + 1);
    if (base === undefined || base === TOO_COMPLEX) return base;
    return base.map(transform);
  }
  if (method === 'concat') {
    const base = fold(receiver, consts, depth + 1);
    if (base === undefined || base === TOO_COMPLEX) return base;
    const rest = foldArgs(args, consts, depth);
    if (rest === undefined || rest === TOO_COMPLEX) return rest;
    return concatAll([base, ...rest]);
  }
  if (method === 'join') {
    const parts = foldArray(receiver, consts, depth + 1);
    if (parts === undefined || parts === TOO_COMPLEX) return parts;
    let separator: readonly string[] = [','];
    if (args.length > 0) {
      const sep = fold(args[0]!, consts, depth + 1);
      if (sep === undefined || sep === TOO_COMPLEX) return sep;
      separator = sep;
    }
    const interleaved: (readonly string[])[] = [];
    parts.forEach((p, i) => {
      if (i > 0) interleaved.push(separator);
      interleaved.push(p);
    });
    return concatAll(interleaved);
  }
  return undefined;
}
