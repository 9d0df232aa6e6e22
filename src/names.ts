/**
 * Every name grammar sealbox checks, in one place: the statement parser, the keyring, the policy
 * loader, the sandbox's capability registry, the packer and the CLI all test names against these.
 * policies/policy.schema.json spells some of them again for editors; test/names-schema.test.ts
 * keeps the two equal.
 *
 * Each grammar is anchored, ASCII-only and length-bounded.
 * Defends against path and log injection: names end up in file paths (tenants/<tenant>.yaml),
 * log lines, property keys of host objects and error messages, so none may hold `/`, `\`, control
 * characters, whitespace or unbounded length.
 */

/**
 * A tenant name: lowercase letters, digits, `.`, `_`, `-`; starts with a letter or digit; at most
 * 64 characters. Also the file name of a tenant overlay (no leading dot, no separators).
 */
export const TENANT_NAME = /^[a-z0-9][a-z0-9._-]{0,63}$/;

/** A component identifier within a tenant: the same grammar as a tenant name. */
export const COMPONENT_IDENTIFIER = /^[a-z0-9][a-z0-9._-]{0,63}$/;

/** The entry class a statement names: a JS identifier, at most 128 characters. */
export const ENTRY_CLASS_NAME = /^[A-Za-z_$][A-Za-z0-9_$]{0,127}$/;

/**
 * A capability name, as a policy grants it (`capabilities.<name>`), a statement requires it
 * (`requires: [<name>]`) and a host registers it (`{ name, methods }`): a lowercase letter, then
 * letters, digits or `_`, at most 32 characters (`kv`, `log`, `geo`, `userStore`, `user_store`).
 *
 * Policy: the grammar is the intersection of the three that existed before, so it works at every
 * place a capability is named. It is a JS identifier because components reach a capability as
 * `this.host.<name>` (and the policy suggester finds it that way); it has no `-` (not an
 * identifier, so no host could register it) and no `$` or leading `_`/capital (never a valid
 * `requires` entry); 32 characters is the statement's bound.
 */
export const CAPABILITY_NAME = /^[a-z][a-zA-Z0-9_]{0,31}$/;

/** A capability method name, and a method a component advertises: a JS identifier, at most 64 characters. */
export const METHOD_NAME = /^[A-Za-z_$][A-Za-z0-9_$]{0,63}$/;

/** The name of one numeric limit of a capability grant (`maxKeys`, `callsPerSecond`). */
export const CAPABILITY_LIMIT_NAME = /^[a-zA-Z][a-zA-Z0-9]{0,63}$/;

/** An artifact name in a statement: letters, digits, `.`, `_`, `-`; at most 128 characters. */
export const ARTIFACT_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/;

/** An npm package name (npm's rule: lowercase, optional `@scope/`), in a statement's `dependencies`. */
export const NPM_PACKAGE_NAME = /^(?:@[a-z0-9~-][a-z0-9._~-]*\/)?[a-z0-9~-][a-z0-9._~-]*$/;

/** The name `sealbox keygen` gives a key pair's files: letters, digits, `.`, `_`, `-`; at most 64. */
export const KEY_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;

/**
 * A global or global member in a policy's `globals`/`forbiddenNames` lists: `Name` or
 * `Name.member`, each a JS identifier of at most 128 characters.
 */
export const GLOBAL_NAME = /^[A-Za-z_$][A-Za-z0-9_$]{0,127}(\.[A-Za-z_$][A-Za-z0-9_$]{0,127})?$/;

/** Whether `value` is a string matching `grammar` (never throws on a non-string). */
export function isName(grammar: RegExp, value: unknown): value is string {
  return typeof value === 'string' && grammar.test(value);
}
