/** SQLSTATE of a driver error (postgres.js and PGlite both expose `code`). */
export function sqlState(err: unknown): string | undefined {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === 'string' && /^[0-9A-Z]{5}$/.test(code) ? code : undefined;
}

/** Class 22 (data exception) and 23 (integrity violation): the input's fault, not the server's. */
export const isInputRejection = (err: unknown) => /^2[23]/.test(sqlState(err) ?? '');

/**
 * Deadlock (40P01) or serialization failure (40001): PostgreSQL rolled the
 * transaction back because of a concurrent one; running it again may succeed.
 */
export const isTransientConflict = (err: unknown) => ['40P01', '40001'].includes(sqlState(err) ?? '');

/** postgres.js and Node socket codes for a connection that is gone or cannot be made. */
const CONNECTION_CODES = new Set([
  'CONNECTION_CLOSED',
  'CONNECTION_ENDED',
  'CONNECTION_DESTROYED',
  'CONNECT_TIMEOUT',
  'ECONNREFUSED',
  'ECONNRESET',
  'EPIPE',
  'ETIMEDOUT',
  'ENOTFOUND',
  'EAI_AGAIN',
  // src/db/breaker.ts: refused before reaching the database (breaker open, no connection free in time).
  'DATABASE_UNAVAILABLE',
]);

/**
 * The database is unreachable or going through a restart: connection errors,
 * class 08 (connection exception), 57P01-57P03 (shutting down, crashed,
 * "the database system is starting up"), 53300 (too many connections). The
 * request did not happen (or its transaction was rolled back): a 503 with
 * Retry-After, never a 500.
 */
export function isDatabaseUnavailable(err: unknown): boolean {
  for (let e: unknown = err, depth = 0; e && depth < 4; e = (e as { cause?: unknown }).cause, depth++) {
    const code = (e as { code?: unknown }).code;
    if (typeof code === 'string' && CONNECTION_CODES.has(code)) return true;
    const state = sqlState(e);
    if (state && (/^08/.test(state) || ['57P01', '57P02', '57P03', '53300'].includes(state))) return true;
    // AggregateError from a connection attempt to several addresses.
    const errors = (e as { errors?: unknown[] }).errors;
    if (Array.isArray(errors) && errors.some((inner) => isDatabaseUnavailable(inner))) return true;
  }
  return false;
}
