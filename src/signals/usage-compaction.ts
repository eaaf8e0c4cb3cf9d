import { type Kysely, sql } from 'kysely';
import type { Database } from '../db/schema.js';
import { inRetriedTransaction } from '../db/transaction.js';
import { pause } from '../lib/pause.js';

/**
 * Folds the rollup deltas ingest appended (sql/0035_append_only_ingest.sql)
 * into usage_daily and usage_daily_users, in one statement: a user counts once per day and metric,
 * and the rows it deletes are exactly the rows it adds, so two
 * compactions at once never count a delta twice (the second skips rows the
 * first deleted). Returns the number of deltas folded. Call it in a short
 * transaction of its own: the usage_daily rows it touches stay locked until
 * commit, and the next compaction waits for them.
 */
export async function compactUsage(db: Kysely<Database>): Promise<number> {
  const run = async (trx: Kysely<Database>) => {
    const { rows } = await sql<{ deltas: number }>`
      with moved as (
        delete from usage_daily_deltas returning account_id, day, metric, events, quantity, user_ids
      ),
      new_users as (
        insert into usage_daily_users (account_id, day, metric, user_id)
        select distinct m.account_id, m.day, m.metric, u.user_id
          from moved m cross join unnest(m.user_ids) as u(user_id)
         order by 1, 2, 3, 4
        on conflict do nothing
        returning account_id, day, metric
      ),
      user_counts as (
        select account_id, day, metric, count(*)::int as n from new_users group by 1, 2, 3
      ),
      sums as (
        select account_id, day, metric, sum(events) as events, sum(quantity) as quantity from moved group by 1, 2, 3
      ),
      folded as (
        insert into usage_daily (account_id, day, metric, events, quantity, active_users)
        select s.account_id, s.day, s.metric, s.events, s.quantity, coalesce(u.n, 0)
          from sums s left join user_counts u using (account_id, day, metric)
         order by s.account_id, s.day, s.metric
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

/**
 * Compacts again and again until `deadline` (epoch ms) or `signal`: at once
 * while deltas keep arriving, else every `idleMs`. The rescoring job runs it
 * beside its scoring loop, so a scoring pass never waits for a compaction: the
 * scoring query reads the deltas not yet folded in, and a compaction commits
 * its delete and its sums together, so every statement sees a delta exactly
 * once, either still here or already in the rollups.
 */
export async function compactUntil(db: Kysely<Database>, deadline: number, options: { idleMs?: number; signal?: AbortSignal } = {}) {
  let deltas = 0;
  let passes = 0;
  do {
    const folded = await compactUsage(db);
    deltas += folded;
    passes++;
    if (folded === 0) await pause(Math.min(options.idleMs ?? 1_000, Math.max(0, deadline - Date.now())), options.signal);
  } while (Date.now() < deadline && !options.signal?.aborted);
  return { passes, deltas };
}
