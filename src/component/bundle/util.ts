/** Helpers shared by the bundler's phases: positions, names, hints, small AST queries. */
import type { Identifier, Node } from 'acorn';
import { forEachNode, SKIP, STOP, walk } from '../../ast/walk.ts';
import type { ModuleRecord, Target } from './model.ts';

export const strictUtf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: false });

/**
 * The first `await` (or `for await`) under `root` that is not inside a function: top-level await,
 * which a module allows and a script (what the sandbox compiles) does not.
 */
export function topLevelAwait(root: Node): Node | undefined {
  let found: Node | undefined;
  walk(root, undefined, (node) => {
    if (
      node.type === 'FunctionExpression' ||
      node.type === 'FunctionDeclaration' ||
      node.type === 'ArrowFunctionExpression'
    ) {
      return SKIP;
    }
    if (node.type === 'AwaitExpression' || (node.type === 'ForOfStatement' && node['await'] === true)) {
      found = node;
      return STOP;
    }
    return undefined;
  });
  return found;
}

export const writtenCache = new WeakMap<ModuleRecord, Set<string>>();

/**
 * Names assigned anywhere in a module (`x = …`, `x += …`, `x++`, destructuring and for-in/of
 * targets). Over-approximates: a shadowing local of the same name counts too.
 */
export function writtenNames(module: ModuleRecord): Set<string> {
  let names = writtenCache.get(module);
  if (names) return names;
  const found = new Set<string>();
  forEachNode(module.program, (node) => {
    const n = node as unknown as Record<string, Node>;
    let target: Node | undefined;
    if (node.type === 'AssignmentExpression') target = n['left'];
    else if (node.type === 'UpdateExpression') target = n['argument'];
    else if (
      (node.type === 'ForInStatement' || node.type === 'ForOfStatement') &&
      n['left']?.type !== 'VariableDeclaration'
    ) {
      target = n['left'];
    }
    if (target) for (const name of patternNames(target)) found.add(name);
  });
  names = found;
  writtenCache.set(module, names);
  return names;
}

/**
 * Whether `name`, declared in `module`, is a mutable binding (`let`/`var`, or a function or class
 * declaration: `pick = other` rebinds it) that the module assigns somewhere. A packed script
 * copies such a value once where ES modules keep it live, so an import of it is refused.
 */
export function isReassigned(module: ModuleRecord, name: string): boolean {
  const mutable = (module.decls.get(name) ?? []).some(
    (d) =>
      d.kind === 'function' ||
      d.kind === 'class' ||
      (d.kind === 'variable' && (d.node as unknown as { kind: string }).kind !== 'const'),
  );
  return mutable && writtenNames(module).has(name);
}

export function where(module: ModuleRecord, node: Node): string {
  const start = node.loc?.start;
  return `${module.display}:${start?.line ?? 0}:${start?.column ?? 0}`;
}

export function posDetails(module: ModuleRecord, node: Node): { file: string; line: number; column: number } {
  return { file: module.display, line: node.loc?.start.line ?? 0, column: node.loc?.start.column ?? 0 };
}

export function specifierName(node: Node | null | undefined): string {
  if (!node) return 'default';
  if (node.type === 'Identifier') return (node as Identifier).name;
  return String((node as unknown as { value: unknown }).value);
}

/** Where a binding pattern holds further bindings (never defaults or computed keys). */
export const PATTERN_KEYS: ReadonlyMap<string, readonly string[]> = new Map([
  ['ObjectPattern', ['properties']],
  ['Property', ['value']],
  ['ArrayPattern', ['elements']],
  ['RestElement', ['argument']],
  ['AssignmentPattern', ['left']],
]);

/** Binding identifiers declared by a pattern (iterative, through the shared walker). */
export function patternNames(pattern: Node): string[] {
  const names: string[] = [];
  walk(
    pattern,
    undefined,
    (node) => {
      if (node.type === 'Identifier') names.push((node as unknown as Identifier).name);
      return undefined;
    },
    (node) => PATTERN_KEYS.get(node.type) ?? [],
  );
  return names;
}

/**
 * Names a construct that is newer than ES2024 (so acorn only says "Unexpected token") when the
 * parse error sits on one an author is likely to write: decorators, `accessor` fields, import
 * attributes. Undefined when the error is something else.
 */
export function syntaxHint(
  js: string,
  line: number,
  column: number,
):
  | {
      code: 'ERR_PACK_SYNTAX' | 'ERR_PACK_IMPORT';
      construct: string;
      message: string;
      line: number;
      column: number;
    }
  | undefined {
  const lineText = js.split(/\r\n|\r|\n|\u2028|\u2029/)[line - 1];
  if (lineText === undefined) return undefined;
  const before = lineText.slice(0, column);
  const at = lineText.slice(column);
  if (at.startsWith('@')) {
    return {
      code: 'ERR_PACK_SYNTAX',
      construct: 'decorator',
      message: `decorators are not part of ES2024 and need a code transform, which sealbox does not do; remove the decorator and call the wrapper yourself`,
      line,
      column,
    };
  }
  const accessor = /\baccessor\s+$/.exec(before);
  if (accessor) {
    return {
      code: 'ERR_PACK_SYNTAX',
      construct: 'accessor',
      message: `auto-accessor fields (\`accessor x = ...\`) are not part of ES2024; declare a plain field, or a #private field with a get/set pair`,
      line,
      column: accessor.index,
    };
  }
  if (/^(?:with|assert)\s*\{/.test(at) && /^\s*(?:import|export)\b.*['"]\s*$/.test(before)) {
    return {
      code: 'ERR_PACK_IMPORT',
      construct: 'import attributes',
      message: `import attributes (\`with { type: 'json' }\`) are not bundled: the sandbox has no modules; put the data in an artifact (this.artifactJson(name)) or in params`,
      line,
      column,
    };
  }
  return undefined;
}

/** Non-configurable globals of the sandbox: a script that declares one of them does not compile. */
export const RESERVED_TOP_LEVEL: ReadonlySet<string> = new Set([
  'Component',
  'Function',
  'undefined',
  'NaN',
  'Infinity',
]);

export const NEEDS_RELATIVE =
  'the sandbox has no modules, packages or Node APIs: only relative imports of your own files (./x.js) are ' +
  'bundled. Copy the code you need into a relative file, pass data in params or artifacts, or ask the node for ' +
  'a capability (this.host)';

export function sameTarget(a: Target, b: Target): boolean {
  if (a.kind === 'decl' && b.kind === 'decl') return a.module === b.module && a.name === b.name;
  if (a.kind === 'namespace' && b.kind === 'namespace') return a.module === b.module;
  return a.kind === b.kind;
}

export function isIdentifierName(name: string): boolean {
  return /^[A-Za-z_$][A-Za-z0-9_$]*$/.test(name);
}
