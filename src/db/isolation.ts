import { type Kysely, sql, type Transaction } from 'kysely';
import { isInputRejection, sqlState } from './errors.js';
import { inTransaction } from './transaction.js';

export type Rejected = { sqlstate: string };

/**
 * Writes all rows with one call of `write`; should the database refuse that
 * for some row's data (SQLSTATE class 22/23), writes row by row so only the
 * offending rows fail. Savepoints keep the surrounding transaction usable.
 */
export async function writeIsolated<DB, Row, Out>(
  db: Kysely<DB>,
  rows: Row[],
  write: (trx: Transaction<DB>, rows: Row[]) => Promise<Out[]>,
): Promise<(Out | Rejected)[]> {
  if (rows.length === 0) return [];
  return inTransaction(db, async (trx) => {
    const attempt = async (subset: Row[]) => {
      await sql`savepoint write_isolated`.execute(trx);
      try {
        const out = await write(trx, subset);
        await sql`release savepoint write_isolated`.execute(trx);
        return out;
      } catch (err) {
        await sql`rollback to savepoint write_isolated`.execute(trx);
        throw err;
      }
    };
    try {
      return await attempt(rows);
    } catch (err) {
      if (!isInputRejection(err)) throw err;
    }
    const outcomes: (Out | Rejected)[] = [];
    for (const row of rows) {
      try {
        outcomes.push((await attempt([row]))[0]!);
      } catch (err) {
        if (!isInputRejection(err)) throw err;
        outcomes.push({ sqlstate: sqlState(err)! });
      }
    }
    return outcomes;
  });
}

export const isRejected = (value: unknown): value is Rejected =>
  typeof value === 'object' && value !== null && 'sqlstate' in value;
