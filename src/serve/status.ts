/** HTTP status of each error code in `sealbox serve` (the contract of issue 12, docs/fleet.md). */

/** Status for an error code; unknown codes are 500. */
export function statusFor(code: string): number {
  switch (code) {
    case 'ERR_REQUEST_INVALID':
    case 'ERR_ARGS_INVALID':
    case 'ERR_METHOD_NOT_FOUND':
    case 'ERR_JSON_INVALID':
      return 400;
    case 'ERR_UNAUTHORIZED':
      return 401;
    case 'ERR_FORBIDDEN':
      return 403;
    case 'ERR_NO_VERSION':
      return 404;
    case 'ERR_COMPONENT_THREW':
      return 422;
    case 'ERR_OVERLOADED':
    case 'ERR_QUOTA_EXCEEDED':
    case 'ERR_QUEUE_FULL':
      return 429;
    case 'ERR_TIMEOUT':
    case 'ERR_DEADLINE':
      return 504;
    default:
      return 500;
  }
}
