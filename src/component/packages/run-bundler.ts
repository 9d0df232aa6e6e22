/**
 * Runs rolldown synchronously: `pack()` is synchronous, rolldown is not, so the bundle is built in
 * a worker thread while this thread waits on a shared flag (bounded by a deadline).
 */
import { MessageChannel, receiveMessageOnPort, Worker } from 'node:worker_threads';
import { PackError } from '../../errors.ts';
import type { BundlerRequest, BundlerResult } from './bundler-protocol.ts';

/** Longest a bundle may take before pack gives up. */
const BUNDLE_DEADLINE_MS = 120_000;

const WORKER_URL = new URL(
  `./rolldown-worker${import.meta.url.endsWith('.ts') ? '.ts' : '.js'}`,
  import.meta.url,
);

/**
 * Bundles `request.entry` with rolldown in a worker thread and returns its result.
 * @throws PackError ERR_PACK_IMPORT when the worker fails or passes the deadline
 */
export function runBundler(request: BundlerRequest): BundlerResult {
  const flag = new Int32Array(new SharedArrayBuffer(4));
  const { port1, port2 } = new MessageChannel();
  const worker = new Worker(WORKER_URL, {
    workerData: { request, port: port2, flag },
    transferList: [port2],
    stdout: true,
    stderr: true,
  });
  let crashed: unknown;
  worker.on('error', (error) => {
    crashed = error;
  });
  try {
    // The worker sets the flag after posting its one message; a crash before that leaves it 0.
    const state = Atomics.wait(flag, 0, 0, BUNDLE_DEADLINE_MS);
    const message = receiveMessageOnPort(port1);
    if (message === undefined) {
      throw new PackError(
        'ERR_PACK_IMPORT',
        state === 'timed-out'
          ? `bundling ${request.entry} took longer than ${BUNDLE_DEADLINE_MS} ms`
          : `the bundler stopped without a result${crashed instanceof Error ? `: ${crashed.message}` : ''}`,
        { file: request.entry },
      );
    }
    return message.message as BundlerResult;
  } finally {
    port1.close();
    void worker.terminate();
  }
}
