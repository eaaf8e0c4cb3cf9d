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
