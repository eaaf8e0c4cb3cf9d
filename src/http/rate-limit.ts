import type { MiddlewareHandler } from 'hono';
import { rateLimiter } from 'hono-rate-limiter';
import type { AppEnv } from './env.js';
import { DomainError } from './problem.js';

/**
 * Requests per API key per minute (RATE_LIMIT_PER_MINUTE), counted in this
 * process (hono-rate-limiter's memory store): with N replicas behind a load
 * balancer a key gets up to N times the limit. Every authenticated response
 * carries `RateLimit-Policy` and `RateLimit` (IETF draft 7); over the limit
 * the answer is 429 problem+json with `Retry-After`.
 */
export function perKeyRateLimit(limitPerMinute: number): MiddlewareHandler<AppEnv> {
  return rateLimiter<AppEnv>({
    windowMs: 60_000,
    limit: limitPerMinute,
    standardHeaders: 'draft-7',
    keyGenerator: (c) => `key:${c.var.principal?.keyId ?? 'none'}`,
    handler: (c) => {
      const reset = (c.get('rateLimit' as never) as { resetTime?: Date } | undefined)?.resetTime;
      const retryAfterSeconds = reset ? Math.max(1, Math.ceil((reset.getTime() - Date.now()) / 1000)) : 60;
      // The problem response is built afresh by onError: the headers go with the error.
      const headers: Record<string, string> = { 'retry-after': String(retryAfterSeconds) };
      for (const name of ['ratelimit', 'ratelimit-policy']) {
        const value = c.res.headers.get(name);
        if (value) headers[name] = value;
      }
      throw new DomainError(
        'rate_limited',
        `this API key made more than ${limitPerMinute} requests in a minute; retry after ${retryAfterSeconds} s`,
        { retryAfterSeconds },
        headers,
      );
    },
  });
}
