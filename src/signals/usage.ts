import { type Kysely, sql } from 'kysely';
import type { Database } from '../db/schema.js';
import type { UsageEvent } from './schemas.js';
import type { SignalWriter } from './schemas.js';

/**
 * Stores new events and appends their rollup deltas in one statement: only
 * events that were actually inserted (not re-sends) are counted. Nothing
 * shared is updated in place, so batches never wait on each other's rows;
 * compactUsage() folds the deltas into the rollups
 * (sql/0035_append_only_ingest.sql).
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
    deltas as (
      insert into usage_daily_deltas (account_id, day, metric, events, quantity, user_ids)
      select account_id, day, metric, count(*), sum(quantity),
             coalesce(array_agg(distinct user_id) filter (where user_id is not null), '{}')
        from new_events
       group by account_id, day, metric
    )
    select account_id, event_id from new_events`.execute(db);
  const created = new Set(inserted.map((r) => `${r.account_id}:${r.event_id}`));
  return rows.map((r) => (created.has(`${r.accountId}:${r.item.eventId}`) ? 'created' : 'unchanged'));
};
