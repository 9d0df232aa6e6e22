/**
 * Class-object input for the packer: the class's own source text (`Function.prototype.toString`)
 * plus free-variable analysis. A class object carries no imports and no closure on the wire, so
 * every name it uses must be a sandbox built-in or `Component`.
 */
import type { Identifier, Node } from 'acorn';
import { PackError } from '../errors.ts';
import { findFreeVariables } from '../ast/free-variables.ts';
import { parseScript } from '../ast/parse.ts';
import { SANDBOX_GLOBALS } from '../ast/sandbox-globals.ts';

/** The packed script and the class to instantiate. */
export interface ClassSourceResult {
  readonly source: string;
  readonly entry: string;
}

const IDENTIFIER = /^[A-Za-z_$][A-Za-z0-9_$]*$/;

/**
 * Turns a class object into a script that declares it at top level.
 * @throws PackError ERR_PACK_EXPORT (not a class, no name), ERR_PACK_BASE_CLASS (does not extend
 *   Component), ERR_PACK_FREE_VARIABLE (each free name with line:column in the class text),
 *   ERR_PACK_TOO_LARGE, ERR_PACK_SYNTAX
 */
export function sourceFromClass(
  cls: unknown,
  isComponentClass: (value: unknown) => boolean,
  maxSourceBytes: number,
): ClassSourceResult {
  if (typeof cls !== 'function') {
    throw new PackError(
      'ERR_PACK_EXPORT',
      `expected a class or a file path, got ${cls === null ? 'null' : typeof cls}`,
    );
  }
  const text = Function.prototype.toString.call(cls);
  if (!/^class\b/.test(text)) {
    throw new PackError(
      'ERR_PACK_EXPORT',
      `expected a class (class X extends Component { ... }), got a ${text.startsWith('function') || text.includes('=>') ? 'function' : 'value'}${/\[native code\]/.test(text) ? ' with native code' : ''}`,
    );
  }
  if (new TextEncoder().encode(text).length > maxSourceBytes) {
    throw new PackError('ERR_PACK_TOO_LARGE', `the class source is larger than ${maxSourceBytes} bytes`, {
      limit: maxSourceBytes,
    });
  }
  const name = (cls as { name?: unknown }).name;
  if (typeof name !== 'string' || !IDENTIFIER.test(name)) {
    throw new PackError(
      'ERR_PACK_EXPORT',
      'the class has no name; give it one: class MyComponent extends Component {...}',
    );
  }
  // Parse as an expression statement: `(class X ... {})` is valid for named and anonymous classes.
  const wrapped = `(${text})`;
  const program = parseScript(wrapped);
  const expression = (program.body[0] as unknown as { expression?: Node } | undefined)?.expression;
  if (program.body.length !== 1 || !expression || expression.type !== 'ClassExpression') {
    throw new PackError('ERR_PACK_EXPORT', `the source of ${name} is not a single class`);
  }
  const position = (node: Node): { line: number; column: number } => ({
    line: node.loc?.start.line ?? 0,
    // Undo the one-character `(` added on line 1.
    column: (node.loc?.start.column ?? 0) - (node.loc?.start.line === 1 ? 1 : 0),
  });
  const superClass = (expression as unknown as { superClass: Node | null }).superClass;
  let rename: { start: number; end: number } | undefined;
  if (!superClass) {
    throw new PackError('ERR_PACK_BASE_CLASS', `class ${name} does not extend Component (1:0)`, {
      line: 1,
      column: 0,
    });
  }
  // The runtime prototype decides, not the spelling: `extends Component`, `extends sealbox.Component`
  // or a bundler's rewritten import all name the same class. Anything else is refused.
  const extendsComponent = isComponentClass(Object.getPrototypeOf(cls));
  if (
    !extendsComponent &&
    !(superClass.type === 'Identifier' && (superClass as Identifier).name === 'Component')
  ) {
    const { line, column } = position(superClass);
    const what = wrapped.slice(superClass.start, Math.min(superClass.end, superClass.start + 60));
    throw new PackError(
      'ERR_PACK_BASE_CLASS',
      `class ${name} extends ${what} (${line}:${column}), not Component; a class object must extend Component directly (to share code with a base class, pack the module file instead)`,
      { line, column, extends: what },
    );
  }
  if (!(superClass.type === 'Identifier' && (superClass as Identifier).name === 'Component'))
    rename = { start: superClass.start, end: superClass.end };

  const free = findFreeVariables(program).filter(
    // Names inside the extends clause are replaced by `Component` below.
    (ref) =>
      !SANDBOX_GLOBALS.has(ref.name) &&
      !(ref.node.start >= superClass.start && ref.node.end <= superClass.end),
  );
  if (free.length > 0) {
    const names = free.map((ref) => ({ name: ref.name, ...position(ref.node) }));
    throw new PackError(
      'ERR_PACK_FREE_VARIABLE',
      `class ${name} uses names the sandbox does not provide: ${names.map((n) => `${n.name} (${n.line}:${n.column})`).join(', ')}. A class object is packed without its closure or imports: only ECMAScript built-ins and Component exist in the sandbox; pack the module file instead, or pass values in params`,
      { names },
    );
  }

  let body = wrapped;
  if (rename) body = `${body.slice(0, rename.start)}Component${body.slice(rename.end)}`;
  body = body.slice(1, -1);
  const id = (expression as unknown as { id: Identifier | null }).id;
  // Declare the class under its runtime name (an anonymous class expression gets one inserted).
  if (!id) body = `class ${name}${body.slice('class'.length)}`;
  else if (id.name !== name) {
    throw new PackError(
      'ERR_PACK_EXPORT',
      `the class is declared as ${id.name} but its name is ${name}; pack the class itself`,
    );
  }
  return { source: `'use strict';\n${body}\n`, entry: name };
}
