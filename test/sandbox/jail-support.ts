/**
 * Jail tests need a machine that can jail workers (bubblewrap, user namespaces). Where it cannot,
 * they must never pass silently: by default they fail with the reason; with SEALBOX_JAIL_TESTS=skip
 * (what .ci/run sets when it could not install bubblewrap) they are recorded as skipped, under a
 * title that says they did not run and why.
 */
import { describe, it } from 'vitest';
import { detectJail, type Jail } from '../../src/sandbox/jail.ts';

const detected = detectJail();

/** Runs `body` with this machine's jail, or reports loudly that it could not. */
export function describeJailed(title: string, body: (jail: Jail) => void): void {
  const jail = detected.jail;
  if (jail !== undefined) {
    describe(title, () => body(jail));
    return;
  }
  const reason = detected.reason ?? 'unknown';
  describe(title, () => {
    if (process.env.SEALBOX_JAIL_TESTS === 'skip') {
      it.skip(`DID NOT RUN (SEALBOX_JAIL_TESTS=skip): this machine cannot jail workers: ${reason}`, () => {});
    } else {
      it('runs on a machine that can jail workers', () => {
        throw new Error(
          `this machine cannot jail sandbox workers: ${reason}. Install bubblewrap ` +
            '(apt-get install bubblewrap) and allow user namespaces, or set SEALBOX_JAIL_TESTS=skip ' +
            'to record the jail tests as not run.',
        );
      });
    }
  });
}

/** Every process below `pid` (recursively), from /proc/<pid>/task/<tid>/children. */
export { childrenOf } from '../../src/sandbox/memory-cap.ts';
