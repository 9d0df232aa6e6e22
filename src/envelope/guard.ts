/** Turns any untyped exception escaping a parser into a typed error (fail closed, never crash). */
import { SealboxError } from '../errors.ts';

/**
 * Runs `fn`; a SealboxError passes through, anything else (a hostile Proxy trap, a getter that
 * throws, a RangeError) becomes the typed error `wrap` builds.
 * Defends against untyped exceptions from hostile objects reaching callers that switch on `code`.
 */
export function guard<T>(fn: () => T, wrap: (cause: unknown) => SealboxError): T {
  try {
    return fn();
  } catch (error) {
    if (error instanceof SealboxError) throw error;
    throw wrap(error);
  }
}
