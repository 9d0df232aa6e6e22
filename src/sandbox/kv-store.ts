/**
 * Key-value stores behind the `kv` capability. They live in src/store/ (memory, node:sqlite,
 * PostgreSQL); this module keeps the sandbox's round-1 import path. The namespace is always the
 * tenant, chosen by the host from its own records, never by the isolate.
 */
export type { KvStore, KvQuota, KvUsage } from '../store/types.ts';
export { MemoryKvStore } from '../store/memory.ts';
export { SqliteKvStore } from '../store/sqlite.ts';
