/**
 * Entry of a policy-check worker thread (check-pool.ts): runs `checkSource` on the sources the
 * pool posts, one at a time, and posts each result back. Nothing tenant-controlled chooses what
 * runs here: the message is a source string, a cloned EffectivePolicy and capability names.
 *
 * After its first job, the thread checks the pieces of a built-in sample (warm-sample.ts) while
 * idle, one piece per turn of its event loop, so a job waits behind at most one short round.
 * Measured: a new thread's first 10 checks of a 200-line source took 3.8 ms each, 1.5 ms after
 * 60 checks (V8 compiling the checker as it gets hot).
 */
import { parentPort } from 'node:worker_threads';
import { checkSource } from './check.ts';
import type { CheckJob, CheckReply } from './check-pool.ts';
import type { EffectivePolicy } from './types.ts';
import { WARM_SAMPLES } from './warm-sample.ts';

/** Sample checks a new thread runs while idle (each one piece of the sample). */
const WARM_ROUNDS = 200;

const port = parentPort;
if (port === null) throw new Error('check-worker.ts runs only as a worker thread (check-pool.ts)');

let warmLeft = WARM_ROUNDS;
let warming = false;
function warmRound(policy: EffectivePolicy): void {
  if (warmLeft <= 0) {
    warming = false;
    return;
  }
  warmLeft--;
  try {
    checkSource(WARM_SAMPLES[warmLeft % WARM_SAMPLES.length]!, policy);
  } catch {
    // the sample's verdict (or a refusal) does not matter; only the compiled checker does
  }
  setImmediate(() => warmRound(policy));
}

port.on('message', (job: CheckJob) => {
  let reply: CheckReply;
  try {
    reply = { id: job.id, result: checkSource(job.source, job.policy, { requires: job.requires }) };
  } catch (error) {
    // checkSource throws only on bad arguments (UsageError); anything else is reported, not lost.
    const e = error as { name?: unknown; message?: unknown };
    reply = { id: job.id, error: `${String(e.name)}: ${String(e.message)}`.slice(0, 300) };
  }
  port.postMessage(reply);
  if (!warming && warmLeft > 0) {
    warming = true;
    setImmediate(() => warmRound(job.policy));
  }
});
