/**
 * Property tests explore a fresh random seed on every local run; in CI (CI=true) they use one
 * fixed seed, so that a CI verdict is reproducible and a landing never hangs on a dice roll.
 * Set FC_SEED to replay a failing local run.
 */
import fc from 'fast-check';

const fixed = process.env['FC_SEED'] ?? (process.env['CI'] ? '20261127' : undefined);
if (fixed !== undefined) fc.configureGlobal({ seed: Number(fixed) });
