import type { Context } from 'hono';
import type { ContentfulStatusCode } from 'hono/utils/http-status';
import { DomainError, type ErrorCode, notFound } from '../lib/errors.js';

/** What each error code of src/lib/errors.ts is over HTTP: its status and title (the `type` URI follows from the code). */
export const PROBLEMS = {
  validation_failed: { status: 400, title: 'Request failed validation' },
  malformed_request: { status: 400, title: 'Request could not be read' },
  unauthorized: { status: 401, title: 'Missing or invalid API key' },
  forbidden: { status: 403, title: 'API key lacks the required scope' },
  not_found: { status: 404, title: 'Not found' },
  method_not_allowed: { status: 405, title: 'Method not allowed' },
  conflict: { status: 409, title: 'Conflict' },
  request_timeout: { status: 408, title: 'Request timeout' },
  payload_too_large: { status: 413, title: 'Request body too large' },
  unsupported_media_type: { status: 415, title: 'Unsupported media type' },
  unprocessable: { status: 422, title: 'Request cannot be processed' },
  rate_limited: { status: 429, title: 'Too many requests' },
  header_fields_too_large: { status: 431, title: 'Request header fields too large' },
  internal_error: { status: 500, title: 'Internal server error' },
  unavailable: { status: 503, title: 'Service unavailable' },
} as const satisfies Record<ErrorCode, { status: ContentfulStatusCode; title: string }>;

/** The codes of src/lib/errors.ts under the name http gives them. */
export type ProblemCode = ErrorCode;

// Route modules may take DomainError from here or from src/lib/errors.ts; domain code takes it from lib.
export { DomainError, notFound };

export interface FieldError {
  /** JSON pointer-ish location: `body.items.3.email`, `query.limit`, `params.externalId`. */
  field: string;
  message: string;
  code?: string;
}

export interface Problem {
  type: string;
  title: string;
  status: number;
  code: ProblemCode;
  detail: string;
  instance?: string;
  requestId: string;
  errors?: FieldError[];
  [extension: string]: unknown;
}

export const problemType = (code: ProblemCode) => `/problems/${code.replaceAll('_', '-')}`;


export function problemBody(
  c: Context,
  code: ProblemCode,
  detail: string,
  extra: Partial<Pick<Problem, 'errors'>> & Record<string, unknown> = {},
): Problem {
  const { status, title } = PROBLEMS[code];
  return {
    type: problemType(code),
    title,
    status,
    code,
    detail,
    instance: c.req.path,
    requestId: c.get('requestId') ?? 'unknown',
    ...extra,
  };
}

export function problemResponse(
  c: Context,
  code: ProblemCode,
  detail: string,
  extra: Partial<Pick<Problem, 'errors'>> & Record<string, unknown> = {},
  headers: Record<string, string> = {},
): Response {
  const body = problemBody(c, code, detail, extra);
  return new Response(JSON.stringify(body), {
    status: body.status,
    headers: { 'content-type': 'application/problem+json', 'x-request-id': body.requestId, ...headers },
  });
}
