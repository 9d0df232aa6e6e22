/**
 * Stable ids of the AST policy rules. Ids are API: they appear in violations, decision events and
 * `sealbox check` output, and docs/policy.md documents each with an example. Never reuse one.
 */

/** Every rule the checker can report, with a one-line meaning. */
export const POLICY_RULES = {
  'source.too-large': 'the source is larger than source.maxBytes (checked before parsing)',
  'source.invalid-unicode': 'the source contains a lone UTF-16 surrogate (not representable as UTF-8)',
  'source.too-many-nodes': 'the AST has more nodes than source.maxNodes',
  'source.too-deep': 'the AST nests deeper than source.maxDepth (or too deep to parse at all)',
  'source.budget': 'the check ran out of its work budget (constant folding) or its deadline (the loader)',
  'syntax.parse': 'the source does not parse as a script in the pinned ECMAScript edition',
  'syntax.html-comment': 'an HTML-like comment (<!-- or -->) that script and module parses read differently',
  'syntax.module': 'import/export, dynamic import() or import.meta: components are scripts',
  'syntax.node-type': 'a node type the policy does not allow (unknown types are refused)',
  'syntax.bigint':
    'a BigInt literal while syntax.allow does not list BigIntLiteral (BigInt work ignores the timeout)',
  'globals.not-allowed': 'a free global (or global member) the policy does not allow',
  'names.forbidden': 'a forbidden name as member, key, pattern, reflective argument or global',
  'capability.not-granted': 'a required capability is not granted to this tenant',
  'check.too-many-violations': 'reporting stopped after the violation cap; the source has more',
} as const;

/**
 * The pseudo node type that `syntax.allow` lists to permit BigInt literals (acorn reports them as
 * `Literal`). Its absence also keeps BigInt out of the sandbox at run time (ComponentSpec.bigint).
 */
export const BIGINT_LITERAL = 'BigIntLiteral';

/** A stable rule id. */
export type PolicyRule = keyof typeof POLICY_RULES;

/** Rules that concern capabilities only (ERR_CAPABILITY_NOT_GRANTED when they are all that failed). */
export const CAPABILITY_RULES: ReadonlySet<string> = new Set<PolicyRule>(['capability.not-granted']);
