/**
 * Errors the caller can act on, raised by domain code and mapped to an HTTP
 * status and an RFC 9457 problem by src/http/problem.ts (onError), so domain
 * code never imports http. The codes are stable: clients match on them.
 */
export const ERROR_CODES = [
  'validation_failed',
  'malformed_request',
  'unauthorized',
  'forbidden',
  'not_found',
  'method_not_allowed',
  'conflict',
  'request_timeout',
  'payload_too_large',
  'unsupported_media_type',
  'unprocessable',
  'rate_limited',
  'header_fields_too_large',
  'internal_error',
  'unavailable',
] as const;

export type ErrorCode = (typeof ERROR_CODES)[number];

/** A failure the caller can act on; mapped to its status by onError (src/http/problem.ts). */
export class DomainError extends Error {
  constructor(
    readonly code: ErrorCode,
    readonly detail: string,
    readonly extensions: Record<string, unknown> = {},
    /** Response headers that go with the problem (`Retry-After`, `RateLimit`…). */
    readonly headers: Record<string, string> = {},
  ) {
    super(detail);
    this.name = 'DomainError';
  }
}

export const notFound = (what: string) => new DomainError('not_found', `${what} was not found`);
