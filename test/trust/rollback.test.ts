import { spawn } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { SealboxError } from '../../src/errors.ts';
import { MemoryRollbackStore, SqliteRollbackStore, type RollbackStore } from '../../src/trust/rollback.ts';

const D1 = 'a'.repeat(64);
const D2 = 'b'.repeat(64);

function codeOf(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (error) {
    return error instanceof SealboxError ? error.code : 'untyped';
  }
  return undefined;
}

const tempFile = () => join(mkdtempSync(join(tmpdir(), 'sealbox-rb-')), 'state.db');

describe.each([
  ['MemoryRollbackStore', () => new MemoryRollbackStore()],
  ['SqliteRollbackStore', () => new SqliteRollbackStore(tempFile())],
] as [string, () => RollbackStore][])('when using %s', (_name, make) => {
  it('accepts increasing versions and the same version with the same digest', () => {
    const s = make();
    s.accept('acme', 'tok', 1, D1);
    s.accept('acme', 'tok', 3, D1);
    s.accept('acme', 'tok', 3, D1);
    expect(s.highest('acme', 'tok')).toEqual({ version: 3, digest: D1 });
    expect(s.highest('acme', 'other')).toBeUndefined();
    s.close();
  });

  it('throws ERR_ROLLBACK for a lower version', () => {
    const s = make();
    s.accept('acme', 'tok', 3, D1);
    expect(codeOf(() => s.accept('acme', 'tok', 2, D2))).toBe('ERR_ROLLBACK');
    expect(s.highest('acme', 'tok')).toEqual({ version: 3, digest: D1 });
    s.close();
  });

  it('throws ERR_ROLLBACK_DIGEST for the same version with another digest', () => {
    const s = make();
    s.accept('acme', 'tok', 3, D1);
    expect(codeOf(() => s.accept('acme', 'tok', 3, D2))).toBe('ERR_ROLLBACK_DIGEST');
    s.close();
  });

  it('keeps tenants apart, even with separator-like names', () => {
    const s = make();
    s.accept('a', 'b\u0000c', 5, D1);
    s.accept('a\u0000b', 'c', 1, D1);
    s.accept('other', 'tok', 1, D2);
    expect(s.highest('a', 'b\u0000c')?.version).toBe(5);
    s.close();
  });

  it('throws ERR_STATE_STORE for bad arguments and after close', () => {
    const s = make();
    expect(codeOf(() => s.accept('acme', 'tok', 0, D1))).toBe('ERR_STATE_STORE');
    expect(codeOf(() => s.accept('acme', 'tok', 1, 'zz'))).toBe('ERR_STATE_STORE');
    s.close();
    expect(codeOf(() => s.accept('acme', 'tok', 1, D1))).toBe('ERR_STATE_STORE');
  });
});

describe('when the SQLite state outlives a restart', () => {
  it('still refuses a rollback after reopening the file', () => {
    const path = tempFile();
    const first = new SqliteRollbackStore(path);
    first.accept('acme', 'tok', 7, D1);
    first.close();
    const second = new SqliteRollbackStore(path);
    expect(second.highest('acme', 'tok')).toEqual({ version: 7, digest: D1 });
    expect(codeOf(() => second.accept('acme', 'tok', 6, D1))).toBe('ERR_ROLLBACK');
    expect(codeOf(() => second.accept('acme', 'tok', 7, D2))).toBe('ERR_ROLLBACK_DIGEST');
    second.close();
  });

  it('throws ERR_STATE_STORE when the file cannot be opened', () => {
    expect(codeOf(() => new SqliteRollbackStore('/nonexistent-dir/x/state.db'))).toBe('ERR_STATE_STORE');
  });
});

function runWorker(args: string[]): Promise<string> {
  const script = fileURLToPath(new URL('./rollback-worker.ts', import.meta.url));
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--disable-warning=ExperimentalWarning', script, ...args], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    let err = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    child.on('error', reject);
    child.on('exit', (code) =>
      code === 0 ? resolve(out) : reject(new Error(`worker exit ${code}: ${err}`)),
    );
  });
}

describe('when two processes share one SQLite file', () => {
  it('sees the other process state and never accepts a conflicting digest twice', async () => {
    const path = tempFile();
    new SqliteRollbackStore(path).close();
    // Both race to record version 1 of the same component with different digests.
    const [a, b] = await Promise.all([
      runWorker([path, 'acme', 'tok', '1', D1, '1']),
      runWorker([path, 'acme', 'tok', '1', D2, '1']),
    ]);
    expect([a, b].sort()).toEqual(['ERR_ROLLBACK_DIGEST', 'OK']);
    const store = new SqliteRollbackStore(path);
    const winner = a === 'OK' ? D1 : D2;
    expect(store.highest('acme', 'tok')).toEqual({ version: 1, digest: winner });
    store.close();
    // A later process refuses what this one recorded.
    expect(await runWorker([path, 'acme', 'tok', '0', D1, '1'])).toBe('ERR_STATE_STORE');
    const s2 = new SqliteRollbackStore(path);
    s2.accept('acme', 'tok', 5, D1);
    s2.close();
    expect(await runWorker([path, 'acme', 'tok', '4', D1, '1'])).toBe('ERR_ROLLBACK');
  });

  it('serialises many concurrent accepts without losing the highest version', async () => {
    const path = tempFile();
    new SqliteRollbackStore(path).close();
    const runs = await Promise.all([
      runWorker([path, 'acme', 'c', '1', D1, '50']),
      runWorker([path, 'acme', 'c', '1', D1, '50']),
    ]);
    for (const r of runs) for (const x of r.split(',')) expect(['OK', 'ERR_ROLLBACK']).toContain(x);
    const store = new SqliteRollbackStore(path);
    expect(store.highest('acme', 'c')?.version).toBe(50);
    store.close();
  });
});
