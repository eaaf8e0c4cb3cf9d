import { type Kysely, sql } from 'kysely';
import type { Database } from '../db/schema.js';

type Db = Kysely<Database>;

/**
 * Takes the key for this request: a new row, or an expired one taken over.
 * Returns false when a live row exists (it is then locked until we finish).
 */
export async function claimKey(db: Db, apiKeyId: number, key: string, hash: string, ttlHours: number): Promise<boolean> {
  const row = await db
    .insertInto('idempotency_keys')
    .values({
      api_key_id: apiKeyId,
      idempotency_key: key,
      request_hash: hash,
      response_status: 0,
      response_body: '',
      expires_at: sql`now() + make_interval(hours => ${ttlHours})`,
    })
    .onConflict((oc) =>
      oc
        .columns(['api_key_id', 'idempotency_key'])
        .doUpdateSet({
          request_hash: (eb) => eb.ref('excluded.request_hash'),
          response_status: 0,
          response_body: '',
          created_at: sql`now()`,
          expires_at: (eb) => eb.ref('excluded.expires_at'),
        })
        .where('idempotency_keys.expires_at', '<', sql<Date>`now()`),
    )
    .returning('api_key_id')
    .executeTakeFirst();
  return row !== undefined;
}

export function findKey(db: Db, apiKeyId: number, key: string) {
  return db
    .selectFrom('idempotency_keys')
    .selectAll()
    .where('api_key_id', '=', apiKeyId)
    .where('idempotency_key', '=', key)
    .executeTakeFirst();
}

export async function saveResponse(db: Db, apiKeyId: number, key: string, status: number, type: string | null, body: string) {
  await db
    .updateTable('idempotency_keys')
    .set({ response_status: status, response_type: type, response_body: body })
    .where('api_key_id', '=', apiKeyId)
    .where('idempotency_key', '=', key)
    .execute();
}

/** Deletes keys past their expiry; returns how many. */
export async function pruneExpiredKeys(db: Db): Promise<number> {
  const result = await db.deleteFrom('idempotency_keys').where('expires_at', '<', sql<Date>`now()`).executeTakeFirst();
  return Number(result.numDeletedRows);
}
