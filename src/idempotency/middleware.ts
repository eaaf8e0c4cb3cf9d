import type { MiddlewareHandler } from 'hono';
import { sql } from 'kysely';
import { z } from 'zod';
import { sqlState } from '../db/errors.js';
import { sha256Hex } from '../encoding.js';
import type { AppEnv } from '../http/env.js';
import { DomainError } from '../lib/errors.js';
import { claimKey, findKey, saveResponse } from './repository.js';

export const IDEMPOTENCY_TTL_HOURS = 24;

export const idempotencyHeaderSchema = z.object({
  'idempotency-key': z
    .string()
    .regex(/^[\x21-\x7e]{1,255}$/, 'must be 1 to 255 visible ASCII characters')
    .optional()
    .meta({ description: `Makes a retry safe: the same key and body replay the first response for ${IDEMPOTENCY_TTL_HOURS} h` }),
});

const keyPattern = /^[\x21-\x7e]{1,255}$/;

/** Requests of this process still running, by API key and Idempotency-Key. */
const inFlight = new Set<string>();

class RollBack extends Error {}

const requestHash = (method: string, path: string, body: string) => sha256Hex(`${method} ${path}\n${body}`);

/**
 * Idempotency-Key (IETF httpapi draft) for POST routes. The handler runs in a
 * transaction that also stores its response under the key, so the writes and
 * the stored response commit together or not at all: a crash mid-request
 * leaves nothing behind and the retry simply runs again. The same key with the
 * same request replays the stored response; with another request, 422; while
 * the first is still running, 409. Error responses are not stored.
 */
export function idempotency(): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    const key = c.req.header('idempotency-key');
    if (key === undefined) return next();
    if (!keyPattern.test(key)) {
      throw new DomainError('validation_failed', 'Idempotency-Key must be 1 to 255 visible ASCII characters', {
        errors: [{ field: 'headers.idempotency-key', message: 'must be 1 to 255 visible ASCII characters' }],
      });
    }
    const apiKeyId = c.var.principal!.keyId;
    const local = `${apiKeyId}:${key}`;
    if (inFlight.has(local)) throw inProgress();
    inFlight.add(local);
    try {
      const hash = await requestHash(c.req.method, c.req.path, await c.req.text());
      const outer = c.var.db;
      let replay: Response | undefined;
      try {
        await outer.transaction().execute(async (trx) => {
          const claimed = await withLockTimeout(trx, () => claimKey(trx, apiKeyId, key, hash, IDEMPOTENCY_TTL_HOURS));
          if (!claimed) {
            const stored = (await findKey(trx, apiKeyId, key))!;
            if (stored.request_hash !== hash) {
              throw new DomainError('unprocessable', 'this Idempotency-Key was already used for a different request');
            }
            replay = new Response(stored.response_body, {
              status: stored.response_status,
              headers: { 'content-type': stored.response_type ?? 'application/json', 'idempotent-replayed': 'true' },
            });
            return;
          }
          c.set('db', trx);
          try {
            await next();
          } finally {
            c.set('db', outer);
          }
          if (c.res.status >= 400) throw new RollBack();
          const body = await c.res.clone().text();
          await saveResponse(trx, apiKeyId, key, c.res.status, c.res.headers.get('content-type'), body);
        });
      } catch (err) {
        if (!(err instanceof RollBack)) throw err;
      }
      if (replay) return replay;
    } finally {
      inFlight.delete(local);
    }
  };
}

const inProgress = () => new DomainError('conflict', 'a request with this Idempotency-Key is still in progress; retry later');

/**
 * A request holding the same key in another process has its row locked; wait
 * for it only briefly, then report it as in flight.
 */
async function withLockTimeout<T>(trx: Parameters<typeof claimKey>[0], fn: () => Promise<T>): Promise<T> {
  await sql`savepoint idempotency_claim`.execute(trx);
  await sql`set local lock_timeout = '250ms'`.execute(trx);
  try {
    const result = await fn();
    await sql`set local lock_timeout = 0`.execute(trx);
    await sql`release savepoint idempotency_claim`.execute(trx);
    return result;
  } catch (err) {
    if (sqlState(err) === '55P03') throw inProgress();
    throw err;
  }
}
