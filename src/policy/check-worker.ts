/**
 * Entry of a policy-check worker thread (check-pool.ts): runs `checkSource` on the sources the
 * pool posts, one at a time, and posts each result back. Nothing tenant-controlled chooses what
 * runs here: the message is a source string, a cloned EffectivePolicy and capability names.
 */
import { parentPort } from 'node:worker_threads';
import { checkSource } from './check.ts';
import type { CheckJob, CheckReply } from './check-pool.ts';

const port = parentPort;
if (port === null) throw new Error('check-worker.ts runs only as a worker thread (check-pool.ts)');

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
});
