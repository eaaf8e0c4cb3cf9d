import type { Kysely, Transaction } from 'kysely';
import { isTransientConflict } from './errors.js';
import { retrying } from './retry.js';

/**
 * Runs fn in a transaction, or inside the caller's when there already is one
 * (an Idempotency-Key request wraps its handler in one), so repository code
 * can ask for atomicity without knowing who called it.
 */
export function inTransaction<DB, T>(db: Kysely<DB>, fn: (trx: Transaction<DB>) => Promise<T>): Promise<T> {
  return db.isTransaction ? fn(db as Transaction<DB>) : db.transaction().execute(fn);
}

/**
 * Runs `fn` in a transaction of its own, again (up to `attempts` times, after
 * a short random pause) when PostgreSQL aborted it for a deadlock or a
 * serialization failure. Inside a caller's transaction it runs once: only the
 * owner of a transaction can retry it.
 */
export async function inRetriedTransaction<DB, T>(db: Kysely<DB>, fn: (trx: Transaction<DB>) => Promise<T>, attempts = 4): Promise<T> {
  if (db.isTransaction) return fn(db as Transaction<DB>);
  return retrying(() => db.transaction().execute(fn), { attempts, when: isTransientConflict });
}
