/**
 * What a worker's answer means to the host's caller: the method list a load advertises, and the
 * typed error or JSON value a load or call settles with. Nothing a worker says is trusted: codes
 * outside a fixed set are a crash, results are re-parsed with size and depth caps and dangerous
 * keys dropped.
 */
import type { JsonValue } from '../envelope/types.ts';
import { ComponentError, SandboxError } from '../errors.ts';
import { REFUSAL_CODES } from './capability-dispatch.ts';
import { ENTRY_NAME, trimStack as trimStackOf, type CheckedSpec } from './component-spec.ts';
import { decodeJson } from './json.ts';
import { parseAnswerBody as parseBody, type Answer } from './protocol.ts';

type SandboxCode = ConstructorParameters<typeof SandboxError>[0];

/** Most callable methods one component may advertise. */
const MAX_METHODS = 1000;
/** Sandbox codes a worker may claim for a failed op; anything else is a crash. */
const WORKER_CODES: ReadonlySet<string> = new Set([
  'ERR_TIMEOUT',
  'ERR_MEMORY_LIMIT',
  'ERR_SANDBOX_CRASHED',
  'ERR_SANDBOX_CLOSED',
  'ERR_METHOD_NOT_FOUND',
]);
/** The method names a load answered, or undefined for garbage. */
export function parseMethods(text: string): string[] | undefined {
  let methods: unknown;
  try {
    methods = JSON.parse(text);
  } catch {
    return undefined;
  }
  // Defends against a compromised worker advertising methods the host would then expose and
  // route: at most MAX_METHODS entries; only plain identifiers other than `constructor` are
  // kept (a method with a non-identifier name is not callable from the host).
  if (!Array.isArray(methods) || methods.length > MAX_METHODS) return undefined;
  return methods.filter(
    (m): m is string => typeof m === 'string' && ENTRY_NAME.test(m) && m !== 'constructor',
  );
}

export function loadFailure(record: CheckedSpec, answer: Answer): Error {
  switch (answer.kind) {
    case 'failed':
      if (answer.code === 'ERR_INSTANTIATE') {
        const body = parseBody(answer.message);
        return new SandboxError('ERR_INSTANTIATE', `the component could not be loaded: ${body.message}`, {
          componentStack: trimStackOf(body.stack, record.filename),
        });
      }
      return workerFailure(answer.code, answer.message);
    case 'refused':
      if (REFUSAL_CODES.has(answer.body.code)) {
        return new SandboxError(answer.body.code as SandboxCode, answer.body.message);
      }
      return constructFailure(record, answer.body);
    case 'threw':
    case 'invalid':
      return constructFailure(record, answer.body);
    default:
      return constructFailure(record, { message: 'unknown error', stack: '' });
  }
}

export function constructFailure(
  record: CheckedSpec,
  body: { message: string; stack: string },
): SandboxError {
  return new SandboxError('ERR_INSTANTIATE', `the component could not be constructed: ${body.message}`, {
    componentStack: trimStackOf(body.stack, record.filename),
  });
}

export function callResult(record: CheckedSpec, answer: Answer): JsonValue {
  switch (answer.kind) {
    case 'value':
      return decodeJson(
        answer.text,
        record.spec.limits.maxResultBytes,
        record.spec.limits.maxJsonDepth,
        'ERR_RESULT_INVALID',
        'the result',
      );
    case 'missing':
      throw new SandboxError('ERR_METHOD_NOT_FOUND', 'no such method on the component');
    case 'threw':
      throw new ComponentError(answer.body.message, trimStackOf(answer.body.stack, record.filename));
    case 'refused':
      if (REFUSAL_CODES.has(answer.body.code)) {
        throw new SandboxError(answer.body.code as SandboxCode, answer.body.message);
      }
      throw new SandboxError('ERR_SANDBOX_CRASHED', 'the worker answered a call with garbage');
    case 'invalid':
      throw new SandboxError('ERR_RESULT_INVALID', answer.body.message);
    case 'failed':
      throw workerFailure(answer.code, answer.message);
    default:
      throw new SandboxError('ERR_SANDBOX_CRASHED', 'the worker answered a call with garbage');
  }
}

export function workerFailure(code: string, message: string): SandboxError {
  if (WORKER_CODES.has(code)) return new SandboxError(code as SandboxCode, message.slice(0, 512) || code);
  return new SandboxError('ERR_SANDBOX_CRASHED', 'the worker answered with an unknown error');
}
