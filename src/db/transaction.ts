import type { Kysely } from 'kysely';
import { isTransientConflict } from './errors.js';

/**
 * Runs fn in a transaction, or inside the caller's when there already is one
 * (an Idempotency-Key request wraps its handler in one), so repository code
 * can ask for atomicity without knowing who called it.
 */
export function inTransaction<DB, T>(db: Kysely<DB>, fn: (trx: Kysely<DB>) => Promise<T>): Promise<T> {
  return db.isTransaction ? fn(db) : db.transaction().execute(fn);
}

/**
 * Runs `fn` in a transaction of its own, again (up to `attempts` times, after
 * a short random pause) when PostgreSQL aborted it for a deadlock or a
 * serialization failure. Inside a caller's transaction it runs once: only the
 * owner of a transaction can retry it.
 */
export async function inRetriedTransaction<DB, T>(db: Kysely<DB>, fn: (trx: Kysely<DB>) => Promise<T>, attempts = 4): Promise<T> {
  if (db.isTransaction) return fn(db);
  for (let attempt = 1; ; attempt++) {
    try {
      return await db.transaction().execute(fn);
    } catch (err) {
      if (attempt >= attempts || !isTransientConflict(err)) throw err;
      await new Promise((r) => setTimeout(r, 20 * attempt + Math.random() * 50 * attempt));
    }
  }
}
