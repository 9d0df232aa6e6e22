/**
 * Runs bench/peers/child.ts in a fresh Node process (the same binary as this one) and returns
 * its parsed result.
 */
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { EngineName } from './engine.ts';

const CHILD = fileURLToPath(new URL('./child.ts', import.meta.url));
const MARKER = 'BENCH_RESULT ';

/**
 * Spawns the child for `engine` in `mode` and resolves its JSON result.
 * @throws Error when the child fails, times out or prints no result
 */
export function runChild<T>(
  engine: EngineName,
  mode: 'timing' | 'memory',
  quick: boolean,
  timeoutMs = 600_000,
): Promise<T> {
  const args = ['--no-node-snapshot', '--expose-gc', '--disable-warning=ExperimentalWarning', CHILD];
  args.push('--engine', engine, '--mode', mode);
  if (quick) args.push('--quick');
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, args, {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, SEALBOX_BENCH_CHILD: '1' },
    });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('error', (error) => {
      clearTimeout(timer);
      reject(error);
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      const line = stdout.split('\n').find((text) => text.startsWith(MARKER));
      if (code !== 0 || line === undefined) {
        reject(
          new Error(`bench child ${engine}/${mode} ended with ${code ?? signal}: ${stderr.slice(-2000)}`),
        );
        return;
      }
      resolve(JSON.parse(line.slice(MARKER.length)) as T);
    });
  });
}
