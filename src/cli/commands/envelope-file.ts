/** Reading envelope and statement files for the trust commands (bounded, typed refusals). */
import { statSync } from 'node:fs';
import { resolve } from 'node:path';
import { EnvelopeError } from '../../errors.ts';
import { DEFAULT_ENVELOPE_LIMITS } from '../../envelope/limits.ts';
import { readFileBounded } from '../files.ts';

/**
 * Reads an envelope (or statement) file, refusing more than the envelope limit as
 * ERR_INPUT_TOO_LARGE (exit 3) before reading it.
 * @throws EnvelopeError ERR_INPUT_TOO_LARGE; UsageError ERR_IO
 */
export function readEnvelopeFile(cwd: string, path: string): Uint8Array {
  const max = DEFAULT_ENVELOPE_LIMITS.maxEnvelopeBytes;
  let size = 0;
  try {
    const stat = statSync(resolve(cwd, path));
    size = stat.isFile() ? stat.size : 0;
  } catch {
    // readFileBounded reports the I/O error.
  }
  if (size > max) {
    throw new EnvelopeError(
      'ERR_INPUT_TOO_LARGE',
      `${path} is ${size} bytes, more than the ${max}-byte envelope limit`,
      {
        path,
      },
    );
  }
  return readFileBounded(cwd, path, max);
}
