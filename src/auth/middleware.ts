import type { MiddlewareHandler } from 'hono';
import type { AppEnv } from '../http/env.js';
import { DomainError } from '../lib/errors.js';
import { grants, looksLikeApiKey, type Principal, type Scope } from './keys.js';
import { authenticateApiKey } from './repository.js';

export type { Scope } from './keys.js';

/**
 * A short cache of verified keys so a busy client costs one lookup every few
 * seconds, not one per request. A revoked key stops working within the TTL.
 */
const CACHE_TTL_MS = 5_000;
const CACHE_MAX = 10_000;
const cache = new Map<string, { principal: Principal; expires: number }>();

async function resolvePrincipal(c: Parameters<MiddlewareHandler<AppEnv>>[0], key: string) {
  // Keyed by the key itself (process memory only) so a cache hit costs no hashing.
  const hit = cache.get(key);
  if (hit && hit.expires > Date.now()) return hit.principal;
  const principal = await authenticateApiKey(c.var.db, key);
  if (!principal) {
    cache.delete(key);
    return undefined;
  }
  if (cache.size >= CACHE_MAX) cache.clear();
  cache.set(key, { principal, expires: Date.now() + CACHE_TTL_MS });
  return principal;
}

/** Forget cached keys (tests that revoke a key and expect the next call to fail). */
export const clearKeyCache = () => cache.clear();

export function requireScope(scope: Scope): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    const header = c.req.header('authorization') ?? '';
    const match = /^Bearer\s+(\S+)$/i.exec(header);
    if (!match) throw new DomainError('unauthorized', 'send an API key as `Authorization: Bearer hs_…`');
    const key = match[1]!;
    const principal = looksLikeApiKey(key) ? await resolvePrincipal(c, key) : undefined;
    if (!principal) throw new DomainError('unauthorized', 'the API key is unknown or revoked');
    c.set('principal', principal);
    if (!grants(principal.scopes, scope)) {
      throw new DomainError('forbidden', `this route needs the '${scope}' scope`, { requiredScope: scope });
    }
    await next();
  };
}
