import { type Kysely, sql } from 'kysely';
import type { Database } from '../db/schema.js';
import type { UsageEvent } from './schemas.js';
import type { SignalWriter } from './ingest.js';

/**
 * Stores new events and their rollup deltas in one statement: only events
 * that were actually inserted (not re-sends) are counted, and a user is added
 * to a day's distinct count only the first time they appear. The deltas are
 * appended, not added to usage_daily in place, so batches never wait on each
 * other's counters; compactUsage() folds them in (sql/0035).
 */
export const writeUsageEvents: SignalWriter<UsageEvent> = async (db: Kysely<Database>, rows) => {
  const { rows: inserted } = await sql<{ account_id: number; event_id: string }>`
    with input as (
      select * from unnest(
        ${rows.map((r) => r.accountId)}::int8[],
        ${rows.map((r) => r.item.eventId)}::text[],
        ${rows.map((r) => r.item.occurredAt)}::text[],
        ${rows.map((r) => r.item.metric)}::text[],
        ${rows.map((r) => r.item.quantity)}::float8[],
        ${rows.map((r) => r.item.userId ?? null)}::text[]
      ) as t (account_id, event_id, occurred_at, metric, quantity, user_id)
    ),
    new_events as (
      insert into usage_events (account_id, event_id, occurred_at, metric, quantity, user_id)
      select account_id, event_id, occurred_at::timestamptz, metric, quantity, user_id from input
       order by account_id, event_id
      on conflict (account_id, event_id, occurred_at) do nothing
      returning account_id, event_id, (occurred_at at time zone 'UTC')::date as day, metric, quantity, user_id
    ),
    new_users as (
      insert into usage_daily_users (account_id, day, metric, user_id)
      select distinct account_id, day, metric, user_id from new_events where user_id is not null
       order by account_id, day, metric, user_id
      on conflict do nothing
      returning account_id, day, metric
    ),
    user_counts as (
      select account_id, day, metric, count(*)::int as n from new_users group by 1, 2, 3
    ),
    deltas as (
      insert into usage_daily_deltas (account_id, day, metric, events, quantity, active_users)
      select e.account_id, e.day, e.metric, count(*), sum(e.quantity), coalesce(max(u.n), 0)
        from new_events e
        left join user_counts u using (account_id, day, metric)
       group by e.account_id, e.day, e.metric
    )
    select account_id, event_id from new_events`.execute(db);
  const created = new Set(inserted.map((r) => `${r.account_id}:${r.event_id}`));
  return rows.map((r) => (created.has(`${r.accountId}:${r.item.eventId}`) ? 'created' : 'unchanged'));
};
