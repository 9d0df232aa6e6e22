/** Opens a store from what an operator writes: a PostgreSQL URL, `memory:`, or a file path. */
import { resolve } from 'node:path';
import { ConfigError } from '../errors.ts';
import { MemoryStore } from './memory.ts';
import { PostgresStore } from './postgres.ts';
import { SqliteStore } from './sqlite.ts';
import type { Store } from './types.ts';

/** True for a value that already is a store. */
export function isStore(value: unknown): value is Store {
  if (typeof value !== 'object' || value === null) return false;
  const s = value as Partial<Store>;
  return (
    typeof s.ready === 'function' &&
    typeof s.close === 'function' &&
    typeof s.rollback === 'object' &&
    typeof s.kv === 'object' &&
    typeof s.registry === 'object'
  );
}

/**
 * Opens a store: `postgres://…` or `postgresql://…` (PostgreSQL, for a fleet), `memory:` (this
 * process only), or a file path (node:sqlite; relative to `cwd`). PostgreSQL connects on first use.
 * @throws ConfigError ERR_CONFIG_INVALID (not a string), ERR_STATE_STORE (the file cannot be opened)
 */
export function openStore(spec: string, cwd: string = process.cwd()): Store {
  if (typeof spec !== 'string' || spec.length === 0 || spec.length > 4096) {
    throw new ConfigError(
      'ERR_CONFIG_INVALID',
      'store must be a non-empty URL or path of at most 4096 characters',
    );
  }
  if (/^postgres(ql)?:\/\//i.test(spec)) return new PostgresStore(spec);
  if (spec === 'memory:') return new MemoryStore();
  // Defends against a URL of another scheme being taken as a relative file name (a typo such as
  // `postgress://` would silently create a local file and split the fleet).
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(spec)) {
    throw new ConfigError(
      'ERR_CONFIG_INVALID',
      'store: only postgres:// URLs, memory: or file paths are supported',
    );
  }
  return new SqliteStore(resolve(cwd, spec));
}
