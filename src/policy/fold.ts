/**
 * Constant folding of property keys: what strings can this expression evaluate to, without running
 * it? Used to find forbidden names hidden as `x['con' + 'structor']`, `` x[`__proto__`] ``,
 * `x[c ? 'a' : 'prototype']`, `const k = 'constructor'; x[k]`, `String.fromCharCode(...)`.
 * docs/policy.md lists exactly what is folded; test/attacks/policy-fold-gaps.test.ts has one case
 * per entry of that list.
 *
 * Bounded, three ways, so that a hostile source cannot make folding slow or overflow the stack:
 * - recursion depth and the number of candidate strings are capped (past a cap: TOO_COMPLEX);
 * - a candidate never grows past MAX_CANDIDATE_LENGTH + 1 characters: longer values are cut while
 *   they are built (never built in full and then cut), and only their true prefix is kept;
 * - every check has one work budget (FoldBudget), spent per node folded and per character built.
 *   Once it is spent every later fold is TOO_COMPLEX and `budget.exhausted` is set; the checker
 *   refuses the source (rule `source.budget`), so a budget-sized padding cannot hide a key.
 */
import type { Node } from 'acorn';

/** Fold result: the possible string values, `undefined` when not constant, or TOO_COMPLEX. */
export type Folded = readonly string[] | undefined | typeof TOO_COMPLEX;

/** Marker: the expression is constant-looking but past the folding caps (or the budget is spent). */
export const TOO_COMPLEX = Symbol('too-complex');

const MAX_FOLD_DEPTH = 48;
const MAX_CANDIDATES = 64;
/**
 * Candidates longer than this cannot equal a forbidden name (names are at most 128 characters).
 * A longer value is kept as its first MAX_CANDIDATE_LENGTH + 1 characters: a "long" candidate.
 * Concatenation keeps that prefix exact; every operation that could shorten a long candidate
 * (slice, trim, replace, decoding, …) gives TOO_COMPLEX instead of guessing.
 */
const MAX_CANDIDATE_LENGTH = 256;
const LONG = MAX_CANDIDATE_LENGTH + 1;

/** Work units one check may spend folding (a unit is about one node or 16 characters built). */
export const FOLD_BUDGET = 2_000_000;

type AnyNode = Node & Record<string, unknown>;
type Candidates = readonly string[];
/** A constant array: one candidate list per element. */
type FoldedArray = readonly Candidates[] | undefined | typeof TOO_COMPLEX;

/** Constant bindings (`const k = <expr>`) by name; several when the name is declared more than once. */
export type ConstBindings = ReadonlyMap<string, readonly Node[]>;

/** Thrown inside a fold when the budget runs out; caught at the entry point. */
const SPENT = Symbol('fold-budget-spent');

/** The work budget of one check, shared by every fold it runs. */
export class FoldBudget {
  #remaining: number;
  /** True once the budget ran out: every later fold is TOO_COMPLEX. */
  exhausted = false;

  constructor(units: number = FOLD_BUDGET) {
    this.#remaining = units;
  }

  /** Spends `units`; throws SPENT (caught by {@link fold}) when the budget runs out. */
  spend(units: number): void {
    this.#remaining -= units;
    if (this.#remaining < 0) {
      this.exhausted = true;
      throw SPENT;
    }
  }
}

/** What one fold may read: the `const` bindings in force and the check's budget. */
export class FoldScope {
  readonly consts: ConstBindings;
  readonly budget: FoldBudget;
  /** Folded `const` bindings, by name (memo and cycle guard). */
  readonly strings = new Map<string, Folded>();
  readonly arrays = new Map<string, FoldedArray>();

  constructor(consts: ConstBindings, budget: FoldBudget) {
    this.consts = consts;
    this.budget = budget;
  }
}

function isLong(s: string): boolean {
  return s.length > MAX_CANDIDATE_LENGTH;
}

/** `value`, or its exact prefix of LONG characters when it is longer than any name. */
function clamp(value: string): string {
  return value.length > LONG ? value.slice(0, LONG) : value;
}

/** a + b, cut to LONG characters before it is built (a is already at most LONG characters). */
function join2(a: string, b: string): string {
  if (a.length >= LONG) return a;
  return b.length > LONG - a.length ? a + b.slice(0, LONG - a.length) : a + b;
}

function charge(scope: FoldScope, out: Candidates): Candidates {
  let units = out.length;
  for (const s of out) units += s.length >> 4;
  scope.budget.spend(units);
  return out;
}

function product(scope: FoldScope, left: Candidates, right: Candidates): Candidates | typeof TOO_COMPLEX {
  if (left.length * right.length > MAX_CANDIDATES) return TOO_COMPLEX;
  const out: string[] = [];
  for (const a of left) for (const b of right) out.push(join2(a, b));
  return charge(scope, out);
}

function union(a: Candidates, b: Candidates): Candidates | typeof TOO_COMPLEX {
  const out = [...new Set([...a, ...b])];
  return out.length > MAX_CANDIDATES ? TOO_COMPLEX : out;
}

function isMember(node: AnyNode, object: string, property: string): boolean {
  if (node.type !== 'MemberExpression' || node['computed'] === true) return false;
  const o = node['object'] as AnyNode;
  const p = node['property'] as AnyNode;
  return o.type === 'Identifier' && o['name'] === object && p.type === 'Identifier' && p['name'] === property;
}

function concatAll(scope: FoldScope, parts: readonly Candidates[]): Folded {
  let acc: Candidates = [''];
  for (const part of parts) {
    const next = product(scope, acc, part);
    if (next === TOO_COMPLEX) return TOO_COMPLEX;
    acc = next;
  }
  return acc;
}

function foldTemplate(
  quasi: AnyNode,
  expressions: readonly AnyNode[],
  raw: boolean,
  scope: FoldScope,
  depth: number,
): Folded {
  const quasis = quasi['quasis'] as AnyNode[];
  const parts: Candidates[] = [];
  for (let i = 0; i < quasis.length; i++) {
    const value = quasis[i]!['value'] as { raw: string; cooked: string | null };
    parts.push([clamp(raw || value.cooked === null ? value.raw : value.cooked)]);
    const expr = expressions[i];
    if (expr) {
      const folded = foldNode(expr, scope, depth + 1);
      if (folded === undefined || folded === TOO_COMPLEX) return folded;
      parts.push(folded);
    }
  }
  return concatAll(scope, parts);
}

/**
 * The possible string values of `node` when it is a constant expression.
 * @returns the candidates (a candidate longer than 256 characters is a prefix: no name can equal
 * it), `undefined` when not constant, or {@link TOO_COMPLEX} (caps hit or budget spent).
 */
export function fold(node: Node, scope: FoldScope): Folded {
  if (scope.budget.exhausted) return TOO_COMPLEX;
  try {
    return foldNode(node, scope, 0);
  } catch (error) {
    if (error === SPENT) return TOO_COMPLEX;
    throw error;
  }
}

function foldNode(node: Node, scope: FoldScope, depth: number): Folded {
  if (depth > MAX_FOLD_DEPTH) return TOO_COMPLEX;
  scope.budget.spend(1);
  const n = node as AnyNode;
  switch (n.type) {
    case 'Literal': {
      const value = n['value'];
      if (typeof value === 'string') return [clamp(value)];
      if (typeof value === 'number' || typeof value === 'boolean' || value === null) return [String(value)];
      if (typeof n['bigint'] === 'string') return [clamp(n['bigint'])];
      // A regular expression literal is not a string (only `/re/.source` and `.flags` are folded).
      return undefined;
    }
    case 'UnaryExpression': {
      // `-2` as an index or length (`'…'.slice(2, -2)`).
      const argument = n['argument'] as AnyNode;
      if (n['operator'] !== '-' || argument.type !== 'Literal' || typeof argument['value'] !== 'number')
        return undefined;
      return [String(-argument['value'])];
    }
    case 'TemplateLiteral':
      return foldTemplate(n, n['expressions'] as AnyNode[], false, scope, depth);
    case 'TaggedTemplateExpression': {
      if (!isMember(n['tag'] as AnyNode, 'String', 'raw')) return undefined;
      const quasi = n['quasi'] as AnyNode;
      return foldTemplate(quasi, quasi['expressions'] as AnyNode[], true, scope, depth);
    }
    case 'BinaryExpression': {
      if (n['operator'] !== '+') return undefined;
      const left = foldNode(n['left'] as Node, scope, depth + 1);
      if (left === undefined || left === TOO_COMPLEX) return left;
      const right = foldNode(n['right'] as Node, scope, depth + 1);
      if (right === undefined || right === TOO_COMPLEX) return right;
      return product(scope, left, right);
    }
    case 'ConditionalExpression':
    case 'LogicalExpression': {
      const a = foldNode(
        (n.type === 'LogicalExpression' ? n['left'] : n['consequent']) as Node,
        scope,
        depth + 1,
      );
      const b = foldNode(
        (n.type === 'LogicalExpression' ? n['right'] : n['alternate']) as Node,
        scope,
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
      return foldNode(list[list.length - 1]!, scope, depth + 1);
    }
    case 'AssignmentExpression':
      return n['operator'] === '=' ? foldNode(n['right'] as Node, scope, depth + 1) : undefined;
    case 'Identifier':
      return foldIdentifier(n['name'] as string, scope, depth);
    case 'ArrayExpression': {
      // `['constructor']` as a key converts to the string 'constructor'.
      const elements = n['elements'] as (AnyNode | null)[];
      if (elements.length !== 1 || !elements[0] || elements[0].type === 'SpreadElement') return undefined;
      return foldNode(elements[0], scope, depth + 1);
    }
    case 'MemberExpression':
      return foldMember(n, scope, depth);
    case 'CallExpression':
      return foldCall(n, scope, depth);
    default:
      return undefined;
  }
}

/** A `const` binding's candidates: every declaration of that name, united (memoized per check). */
function foldIdentifier(name: string, scope: FoldScope, depth: number): Folded {
  const inits = scope.consts.get(name);
  if (!inits) return undefined;
  if (scope.strings.has(name)) return scope.strings.get(name);
  // Cycle guard (`const a = a + 'x'` is a TDZ error, but fold must not loop on it).
  scope.strings.set(name, undefined);
  let acc: Candidates | undefined;
  let result: Folded;
  for (const init of inits) {
    const folded = foldNode(init, scope, depth + 1);
    if (folded === TOO_COMPLEX) {
      result = TOO_COMPLEX;
      break;
    }
    if (folded === undefined) continue;
    const merged: Candidates | typeof TOO_COMPLEX = acc ? union(acc, folded) : folded;
    // Policy: a name bound by very many different constants is treated as dynamic (no false
    // positive on big sources); the isolate still stops what the filter lets through.
    if (merged === TOO_COMPLEX) {
      acc = undefined;
      break;
    }
    acc = merged;
  }
  result ??= acc;
  scope.strings.set(name, result);
  return result;
}

/** `/re/.source`, `/re/.flags`, `['a', 'b'][1]`, `const p = [...]; p[0]`, `'abc'[0]`. */
function foldMember(n: AnyNode, scope: FoldScope, depth: number): Folded {
  const object = n['object'] as AnyNode;
  const property = n['property'] as AnyNode;
  if (n['computed'] !== true) {
    const regex =
      object.type === 'Literal'
        ? (object['regex'] as { pattern: string; flags: string } | undefined)
        : undefined;
    if (regex && property.type === 'Identifier') {
      if (property['name'] === 'source') return [clamp(regex.pattern)];
      if (property['name'] === 'flags') return [regex.flags];
    }
    return undefined;
  }
  // The object first: a dynamic object makes the whole key dynamic, whatever the index is.
  const array = foldArray(object, scope, depth + 1);
  if (array === TOO_COMPLEX) return TOO_COMPLEX;
  const base = array === undefined ? foldNode(object, scope, depth + 1) : undefined;
  if (array === undefined && (base === undefined || base === TOO_COMPLEX)) return base;
  const indexes = foldNode(property, scope, depth + 1);
  if (indexes === undefined || indexes === TOO_COMPLEX) return indexes;
  let out: Candidates = [];
  for (const text of indexes) {
    const index = Number(text);
    // Only canonical array indexes select an element ('01', '1.5', '-1' are other properties).
    if (!Number.isInteger(index) || index < 0 || String(index) !== text) continue;
    let picked: Folded;
    if (array !== undefined) picked = index < array.length ? array[index] : undefined;
    else picked = mapCandidates(base as Candidates, (s) => (index < s.length ? s[index] : undefined));
    if (picked === TOO_COMPLEX) return TOO_COMPLEX;
    if (picked === undefined) continue;
    const merged = union(out, picked);
    if (merged === TOO_COMPLEX) return TOO_COMPLEX;
    out = merged;
  }
  return out;
}

/** Applies a string → string operation to every candidate; a long candidate makes it TOO_COMPLEX. */
function mapCandidates(base: Candidates, fn: (s: string) => string | undefined): Folded {
  const out: string[] = [];
  for (const s of base) {
    // Defends against a truncated candidate being shortened into a name: only its prefix is known.
    if (isLong(s)) return TOO_COMPLEX;
    const value = fn(s);
    if (value !== undefined) out.push(clamp(value));
  }
  return out;
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
 * String methods with arguments whose result on constants is a constant, given the folded
 * arguments (each a single candidate). Arguments that are numbers arrive as their decimal text.
 * Every result is bounded: lengths and counts are clamped before anything is built.
 */
const STRING_METHODS_WITH_ARGS: ReadonlyMap<
  string,
  (s: string, args: readonly string[]) => string | undefined
> = new Map<string, (s: string, args: readonly string[]) => string | undefined>([
  ['at', (s, [i]) => s.at(toInteger(i ?? '0'))],
  ['charAt', (s, [i]) => s.charAt(toInteger(i ?? '0'))],
  ['slice', (s, [a, b]) => s.slice(toInteger(a ?? '0'), b === undefined ? undefined : toInteger(b))],
  ['substring', (s, [a, b]) => s.substring(toInteger(a ?? '0'), b === undefined ? undefined : toInteger(b))],
  ['substr', (s, [a, b]) => s.substr(toInteger(a ?? '0'), b === undefined ? undefined : toInteger(b))],
  ['padStart', (s, [n, fill]) => pad(s, n, fill, 'start')],
  ['padEnd', (s, [n, fill]) => pad(s, n, fill, 'end')],
  ['repeat', (s, [n]) => repeat(s, n)],
  ['replace', (s, [from, to]) => (from === undefined ? s : s.replace(from, to ?? 'undefined'))],
  ['replaceAll', (s, [from, to]) => (from === undefined ? s : s.replaceAll(from, to ?? 'undefined'))],
]);

/** ToIntegerOrInfinity of a folded argument's text, clamped to a safe range. */
function toInteger(text: string): number {
  const n = Math.trunc(Number(text));
  if (Number.isNaN(n)) return 0;
  return Math.max(-1e9, Math.min(1e9, n));
}

/** padStart/padEnd, built only up to the first LONG characters of the real result. */
function pad(
  s: string,
  lengthText: string | undefined,
  fill: string | undefined,
  side: 'start' | 'end',
): string {
  const target = toInteger(lengthText ?? '0');
  const filler = fill ?? ' ';
  if (target <= s.length || filler === '') return s;
  // The real result is `target` long; its first LONG characters are all that is built.
  if (side === 'end') return s.padEnd(Math.min(target, LONG), filler);
  return s.padStart(Math.min(target, s.length + LONG), filler).slice(0, LONG);
}

function repeat(s: string, countText: string | undefined): string | undefined {
  const count = toInteger(countText ?? '0');
  if (count < 0) return undefined; // RangeError at run time: no key.
  if (s === '' || count === 0) return '';
  return s.repeat(Math.min(count, Math.ceil(LONG / s.length)));
}

/** Constant arrays of strings, one candidate list per element. */
function foldArray(node: Node, scope: FoldScope, depth: number): FoldedArray {
  if (depth > MAX_FOLD_DEPTH) return TOO_COMPLEX;
  scope.budget.spend(1);
  const n = node as AnyNode;
  if (n.type === 'ArrayExpression') {
    const elements = n['elements'] as (AnyNode | null)[];
    if (elements.some((e) => e === null)) return undefined;
    return foldArgs(elements as AnyNode[], scope, depth);
  }
  if (n.type === 'Identifier') return foldArrayBinding(n['name'] as string, scope, depth);
  if (n.type !== 'CallExpression') return undefined;
  const callee = n['callee'] as AnyNode;
  if (callee.type !== 'MemberExpression' || callee['computed'] === true) return undefined;
  const method = (callee['property'] as AnyNode)['name'];
  const args = n['arguments'] as AnyNode[];
  if (method === 'reverse' && args.length === 0) {
    const inner = foldArray(callee['object'] as Node, scope, depth + 1);
    return inner === undefined || inner === TOO_COMPLEX ? inner : [...inner].reverse();
  }
  if ((method === 'slice' || method === 'concat') && args.every((a) => a.type !== 'SpreadElement')) {
    const inner = foldArray(callee['object'] as Node, scope, depth + 1);
    if (inner === undefined || inner === TOO_COMPLEX) return inner;
    if (method === 'concat') {
      const out = [...inner];
      for (const arg of args) {
        const more = foldArray(arg, scope, depth + 1);
        if (more === TOO_COMPLEX) return TOO_COMPLEX;
        if (more !== undefined) out.push(...more);
        else {
          const one = foldNode(arg, scope, depth + 1);
          if (one === undefined || one === TOO_COMPLEX) return one;
          out.push(one);
        }
        if (out.length > MAX_CANDIDATE_LENGTH) return TOO_COMPLEX;
      }
      return out;
    }
    const bounds = foldArgs(args, scope, depth);
    if (bounds === undefined || bounds === TOO_COMPLEX) return bounds;
    if (bounds.some((b) => b.length !== 1)) return TOO_COMPLEX;
    const [a, b] = bounds.map((c) => toInteger(c[0]!));
    return inner.slice(a ?? 0, b);
  }
  if (method === 'split' && args.length === 1) {
    const base = foldNode(callee['object'] as Node, scope, depth + 1);
    const sep = foldNode(args[0]!, scope, depth + 1);
    if (base === TOO_COMPLEX || sep === TOO_COMPLEX) return TOO_COMPLEX;
    if (base === undefined || sep === undefined || base.length !== 1 || sep.length !== 1) return undefined;
    // Defends against a split of a long constant: only its prefix is known, and pieces are capped
    // while splitting (the limit argument), not after building them all.
    if (isLong(base[0]!)) return TOO_COMPLEX;
    const pieces = base[0]!.split(sep[0]!, MAX_CANDIDATE_LENGTH + 1);
    scope.budget.spend(pieces.length);
    return pieces.length > MAX_CANDIDATE_LENGTH ? TOO_COMPLEX : pieces.map((p) => [p]);
  }
  return undefined;
}

/** `const p = [...]`: the arrays bound to `p`, united element by element (memoized per check). */
function foldArrayBinding(name: string, scope: FoldScope, depth: number): FoldedArray {
  const inits = scope.consts.get(name);
  if (!inits) return undefined;
  if (scope.arrays.has(name)) return scope.arrays.get(name);
  scope.arrays.set(name, undefined); // cycle guard
  let acc: Candidates[] | undefined;
  let result: FoldedArray;
  for (const init of inits) {
    const folded = foldArray(init, scope, depth + 1);
    if (folded === TOO_COMPLEX) {
      result = TOO_COMPLEX;
      break;
    }
    if (folded === undefined) continue;
    if (acc === undefined) acc = [...folded];
    else if (acc.length !== folded.length) {
      // Two arrays of different lengths under one name: refuse to guess which one a key uses.
      result = TOO_COMPLEX;
      break;
    } else {
      for (let i = 0; i < acc.length; i++) {
        const merged = union(acc[i]!, folded[i]!);
        if (merged === TOO_COMPLEX) {
          result = TOO_COMPLEX;
          break;
        }
        acc[i] = merged;
      }
      if (result === TOO_COMPLEX) break;
    }
  }
  result ??= acc;
  scope.arrays.set(name, result);
  return result;
}

/** Folds call arguments; `...[a, b]` and `...constArray` are expanded. */
function foldArgs(args: readonly AnyNode[], scope: FoldScope, depth: number): FoldedArray {
  const out: Candidates[] = [];
  for (const arg of args) {
    if (arg.type === 'SpreadElement') {
      const spread = foldArray(arg['argument'] as Node, scope, depth + 1);
      if (spread === undefined || spread === TOO_COMPLEX) return spread;
      out.push(...spread);
    } else {
      const folded = foldNode(arg, scope, depth + 1);
      if (folded === undefined || folded === TOO_COMPLEX) return folded;
      out.push(folded);
    }
    if (out.length > MAX_CANDIDATE_LENGTH) return TOO_COMPLEX;
  }
  return out;
}

/** String.fromCharCode: ToNumber, then ToUint16 (65635 is 'c'), like the engine. */
function fromCharCode(text: string): string {
  const n = Math.trunc(Number(text));
  return String.fromCharCode(Number.isFinite(n) ? ((n % 65536) + 65536) % 65536 : 0);
}

/** String.fromCodePoint: an integer in 0..0x10FFFF, else a RangeError at run time (no key). */
function fromCodePoint(text: string): string | undefined {
  const n = Number(text);
  return Number.isInteger(n) && n >= 0 && n <= 0x10ffff ? String.fromCodePoint(n) : undefined;
}

function foldCall(n: AnyNode, scope: FoldScope, depth: number): Folded {
  const callee = n['callee'] as AnyNode;
  const args = n['arguments'] as AnyNode[];
  // String.fromCharCode(99, 111, ...) / String.fromCodePoint(...), also with ...[codes].
  const charCode = isMember(callee, 'String', 'fromCharCode');
  if (charCode || isMember(callee, 'String', 'fromCodePoint')) {
    const codes = foldArgs(args, scope, depth);
    if (codes === undefined || codes === TOO_COMPLEX) return codes;
    const parts: Candidates[] = [];
    for (const candidates of codes) {
      const chars: string[] = [];
      for (const text of candidates) {
        const char = charCode ? fromCharCode(text) : fromCodePoint(text);
        if (char === undefined) return undefined;
        chars.push(char);
      }
      parts.push(chars);
    }
    return concatAll(scope, parts);
  }
  // String(x), decodeURIComponent('%63onstructor'), JSON.parse('"constructor"')
  if (callee.type === 'Identifier' && args.length === 1) {
    const name = callee['name'] as string;
    const decoder = DECODERS.get(name);
    if (name === 'String' || decoder) {
      const inner = foldNode(args[0]!, scope, depth + 1);
      if (inner === undefined || inner === TOO_COMPLEX || !decoder) return inner;
      return mapCandidates(inner, decoder);
    }
  }
  if (isMember(callee, 'JSON', 'parse') && args.length === 1) {
    const inner = foldNode(args[0]!, scope, depth + 1);
    if (inner === undefined || inner === TOO_COMPLEX) return inner;
    return mapCandidates(inner, (s) => {
      const value = tryDecode(() => JSON.parse(s) as unknown);
      return typeof value === 'string' ? value : undefined;
    });
  }
  if (callee.type !== 'MemberExpression' || callee['computed'] === true) return undefined;
  const method = (callee['property'] as AnyNode)['name'];
  const receiver = callee['object'] as AnyNode;
  if (typeof method !== 'string') return undefined;
  if (method === 'join') return foldJoin(receiver, args, scope, depth);
  const transform = STRING_METHODS.get(method);
  if (transform && args.length === 0) {
    const base = foldNode(receiver, scope, depth + 1);
    if (base === undefined || base === TOO_COMPLEX) return base;
    return mapCandidates(base, transform);
  }
  if (method === 'concat') {
    const base = foldNode(receiver, scope, depth + 1);
    if (base === undefined || base === TOO_COMPLEX) return base;
    const rest = foldArgs(args, scope, depth);
    if (rest === undefined || rest === TOO_COMPLEX) return rest;
    return concatAll(scope, [base, ...rest]);
  }
  const withArgs = STRING_METHODS_WITH_ARGS.get(method);
  if (withArgs) {
    const base = foldNode(receiver, scope, depth + 1);
    if (base === undefined || base === TOO_COMPLEX) return base;
    // Defends against running tenant regular expressions in the host (ReDoS) while still failing
    // closed: a constant receiver with a regex pattern is not folded but refused as too complex.
    if ((method === 'replace' || method === 'replaceAll') && (args[0] as AnyNode | undefined)?.['regex'])
      return TOO_COMPLEX;
    const folded = foldArgs(args, scope, depth);
    if (folded === undefined || folded === TOO_COMPLEX) return folded;
    if (folded.some((c) => c.length !== 1)) return TOO_COMPLEX;
    const values = folded.map((c) => c[0]!);
    // Arguments that are themselves long cannot be used exactly (only their prefix is known).
    if (values.some(isLong)) return TOO_COMPLEX;
    const out = mapCandidates(base, (s) => withArgs(s, values));
    return out === undefined || out === TOO_COMPLEX ? out : charge(scope, out);
  }
  return undefined;
}

function foldJoin(receiver: AnyNode, args: readonly AnyNode[], scope: FoldScope, depth: number): Folded {
  const parts = foldArray(receiver, scope, depth + 1);
  if (parts === undefined || parts === TOO_COMPLEX) return parts;
  let separator: Candidates = [','];
  if (args.length > 0) {
    const sep = foldNode(args[0]!, scope, depth + 1);
    if (sep === undefined || sep === TOO_COMPLEX) return sep;
    separator = sep;
  }
  const interleaved: Candidates[] = [];
  parts.forEach((p, i) => {
    if (i > 0) interleaved.push(separator);
    interleaved.push(p);
  });
  return concatAll(scope, interleaved);
}
