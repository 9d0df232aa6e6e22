/**
 * What the worker memory cap counts (memory-cap.ts): anonymous and shared resident memory of a
 * process tree, not the file pages of the node binary and its libraries.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { readFileSync } from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';
import { CAN_MEASURE_RSS, processTreeRssKb } from '../../src/sandbox/memory-cap.ts';

const ALLOC_MB = 64;

// A node child that allocates and touches ALLOC_MB of Buffer on its first stdin line.
const CHILD = `
  process.stdout.write('ready\\n');
  process.stdin.once('data', () => { globalThis.keep = Buffer.alloc(${ALLOC_MB} * 1024 * 1024, 1); process.stdout.write('held\\n'); });
  setInterval(() => {}, 1000);`;

function statusKb(pid: number, field: string): number {
  const match = new RegExp(`^${field}:\\s+(\\d+) kB$`, 'm').exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return Number(match![1]);
}

async function line(child: ChildProcess, text: string): Promise<void> {
  let seen = '';
  while (!seen.includes(text)) seen += String((await once(child.stdout!, 'data'))[0]);
}

describe.runIf(CAN_MEASURE_RSS)(
  'when the host measures a worker for its memory cap (layer: sandbox memory cap)',
  () => {
    let child: ChildProcess | undefined;
    afterEach(() => {
      child?.kill('SIGKILL');
    });

    it('counts what the process allocates, and not the file pages of its binary', async () => {
      child = spawn(process.execPath, ['-e', CHILD], { stdio: ['pipe', 'pipe', 'ignore'] });
      await line(child, 'ready');
      const pid = child.pid!;
      const before = processTreeRssKb(pid)!;
      // The file-backed pages (node binary, ICU data, libraries) are resident but not charged.
      expect(statusKb(pid, 'RssFile')).toBeGreaterThan(0);
      expect(before).toBeLessThanOrEqual(statusKb(pid, 'VmRSS') - statusKb(pid, 'RssFile') + 1024);
      child.stdin!.write('go\n');
      await line(child, 'held');
      // Every touched page of the allocation is charged.
      expect(processTreeRssKb(pid)! - before).toBeGreaterThanOrEqual(ALLOC_MB * 1024 * 0.95);
    });

    it('is undefined for a process that is gone', async () => {
      child = spawn(process.execPath, ['-e', ''], { stdio: 'ignore' });
      const pid = child.pid!;
      await once(child, 'exit');
      expect(processTreeRssKb(pid)).toBeUndefined();
    });
  },
);
