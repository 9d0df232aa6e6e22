/** Round-1 rollback stores (synchronous, src/trust/rollback.ts) seen through the async interface. */
import type { RollbackStore } from '../trust/rollback.ts';
import type { RollbackMarks } from './types.ts';

/** Wraps a synchronous RollbackStore: its `accept` already checks and records atomically. */
export function marksFromRollbackStore(store: RollbackStore): RollbackMarks {
  return {
    highest: async (tenant, identifier) => store.highest(tenant, identifier),
    record: async (tenant, identifier, version, digest) => store.accept(tenant, identifier, version, digest),
  };
}
