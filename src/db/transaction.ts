import type { Kysely } from 'kysely';

/**
 * Runs fn in a transaction, or inside the caller's when there already is one
 * (an Idempotency-Key request wraps its handler in one), so repository code
 * can ask for atomicity without knowing who called it.
 */
export function inTransaction<DB, T>(db: Kysely<DB>, fn: (trx: Kysely<DB>) => Promise<T>): Promise<T> {
  return db.isTransaction ? fn(db) : db.transaction().execute(fn);
}
