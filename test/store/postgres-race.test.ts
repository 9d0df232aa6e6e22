/**
 * Rollback across nodes: two processes race to record version 1 of the same 1,000 components with
 * different digests against one real PostgreSQL. The conditional upsert must let exactly one
 * digest win every race: 0 double accepts (a read-then-write accepted both in 51 of 300 races).
 */
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, inject, it } from 'vitest';

const RACES = 1000;
const script = fileURLToPath(new URL('./race-worker.ts', import.meta.url));

function start(
  tenant: string,
  digest: string,
): {
  child: ChildProcessWithoutNullStreams;
  ready: Promise<void>;
  done: Promise<{ won: number[]; other: string[] }>;
} {
  const child = spawn(
    process.execPath,
    ['--disable-warning=ExperimentalWarning', script, inject('pgUrl'), tenant, digest, String(RACES)],
    { stdio: ['pipe', 'pipe', 'pipe'] },
  );
  let out = '';
  let err = '';
  let markReady: () => void;
  const ready = new Promise<void>((resolve) => (markReady = resolve));
  child.stdout.on('data', (d: Buffer) => {
    out += d.toString();
    if (out.startsWith('ready\n')) markReady();
  });
  child.stderr.on('data', (d: Buffer) => (err += d.toString()));
  const done = new Promise<{ won: number[]; other: string[] }>((resolve, reject) => {
    child.on('exit', (code) => {
      if (code !== 0) reject(new Error(`race worker exited ${code}: ${err}`));
      else resolve(JSON.parse(out.slice('ready\n'.length)) as { won: number[]; other: string[] });
    });
  });
  return { child, ready, done };
}

describe('when two processes race to record rollback marks in PostgreSQL', () => {
  it('accepts exactly one digest per race: 0 double accepts in 1,000 races', async () => {
    const tenant = `race${process.pid}${Date.now().toString(36)}`;
    const a = start(tenant, 'a'.repeat(64));
    const b = start(tenant, 'b'.repeat(64));
    await Promise.all([a.ready, b.ready]);
    a.child.stdin.end('go\n');
    b.child.stdin.end('go\n');
    const [ra, rb] = await Promise.all([a.done, b.done]);
    expect(ra.other).toEqual([]);
    expect(rb.other).toEqual([]);
    const wonByA = new Set(ra.won);
    const doubles = rb.won.filter((i) => wonByA.has(i));
    expect(doubles).toEqual([]);
    // Every race has a winner: the two processes really competed for all 1,000.
    expect(ra.won.length + rb.won.length).toBe(RACES);
  }, 120_000);
});
