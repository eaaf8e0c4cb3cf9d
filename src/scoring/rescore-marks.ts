import { type Kysely, sql } from 'kysely';
import type { Database } from '../db/schema.js';
import { inRetriedTransaction } from '../db/transaction.js';

type Db = Kysely<Database>;

/** Queues accounts for the incremental rescoring job: appends marks, which never wait on another batch's. */
export async function markForRescore(db: Db, accountIds: Iterable<number>, history: Iterable<number> = []): Promise<void> {
  const ids = [...new Set(accountIds)];
  if (ids.length === 0) return;
  // `history`: accounts whose batch carried back-dated signals (an import); the fold records their import (sql/0065).
  const past = [...new Set(history)];
  await sql`insert into rescore_marks (account_id, history)
            select id, id = any(${past}::int8[]) from unnest(${ids}::int8[]) as id`.execute(db);
}

/**
 * Moves the appended marks into rescore_queue (sql/0035_append_only_ingest.sql):
 * one row per account, every fold moving its time strictly forward, so a
 * claimed account marked again while it is rescored stays queued, even when
 * the new mark's ingest began (its marked_at) before the claim but committed
 * after the rescoring read its features. One statement, in a
 * short transaction of its own: the marks it deletes are the ones it queues.
 */
export async function foldRescoreMarks(db: Db): Promise<number> {
  return inRetriedTransaction(db, async (trx) => {
    const { rows } = await sql<{ n: number }>`
      with moved as (delete from rescore_marks returning account_id, marked_at, history),
      queued as (
        insert into rescore_queue (account_id, marked_at)
        select account_id, max(marked_at) from moved group by account_id
         order by account_id
        on conflict (account_id) do update
          set marked_at = greatest(excluded.marked_at, rescore_queue.marked_at + interval '1 microsecond')
      ),
      imports as (
        -- history arriving: a settled account starts a new import, an unsettled one goes on with it
        insert into account_imports as i (account_id, started_at, last_history_at)
        select account_id, min(marked_at), max(marked_at) from moved where history group by account_id
         order by account_id
        on conflict (account_id) do update
          set started_at = case when i.settled_at is null then i.started_at else excluded.started_at end,
              last_history_at = greatest(i.last_history_at, excluded.last_history_at),
              settled_at = null
      )
      select count(*)::int8 as n from moved`.execute(trx);
    return Number(rows[0]?.n ?? 0);
  });
}

/** Accounts waiting to be rescored, queued or only marked. */
export async function rescoreBacklog(db: Db): Promise<number> {
  const { rows } = await sql<{ n: number }>`
    select count(*)::int8 as n from (select account_id from rescore_queue union select account_id from rescore_marks) q`.execute(db);
  return Number(rows[0]!.n);
}
