import { type Kysely, sql } from 'kysely';
import type { Database } from '../db/schema.js';
import { inRetriedTransaction } from '../db/transaction.js';

/**
 * Folds the rollup deltas ingest appended (sql/0035) into usage_daily, in one
 * statement: the rows it deletes are exactly the rows it adds, so two
 * compactions at once never count a delta twice (the second skips rows the
 * first deleted). Returns the number of deltas folded. Call it in a short
 * transaction of its own: the usage_daily rows it touches stay locked until
 * commit, and the next compaction waits for them.
 */
export async function compactUsage(db: Kysely<Database>): Promise<number> {
  const run = async (trx: Kysely<Database>) => {
    const { rows } = await sql<{ deltas: number }>`
      with moved as (
        delete from usage_daily_deltas returning account_id, day, metric, events, quantity, active_users
      ),
      folded as (
        insert into usage_daily (account_id, day, metric, events, quantity, active_users)
        select account_id, day, metric, sum(events), sum(quantity), sum(active_users)
          from moved
         group by account_id, day, metric
         order by account_id, day, metric
        on conflict (account_id, day, metric) do update set
          events = usage_daily.events + excluded.events,
          quantity = usage_daily.quantity + excluded.quantity,
          active_users = usage_daily.active_users + excluded.active_users
      )
      select count(*)::int8 as deltas from moved`.execute(trx);
    return Number(rows[0]?.deltas ?? 0);
  };
  return inRetriedTransaction(db, run);
}
