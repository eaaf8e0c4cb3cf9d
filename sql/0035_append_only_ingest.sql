-- Ingest no longer updates usage_daily or usage_daily_users: each batch
-- appends its rollup deltas here (a heap without indexes), with the distinct
-- users it saw per day and metric, so concurrent batches, even for the same
-- account, never wait on each other's rows. compactUsage()
-- (src/signals/usage-compaction.ts) folds them in, counting a user once per
-- day and metric; the rescoring runs do that first, and the scoring query
-- reads whatever is still here. No foreign key: the deltas come from
-- usage_events rows, whose own key already checked the account.
create table usage_daily_deltas (
  account_id bigint not null,
  day        date not null,
  metric     text not null,
  events     bigint not null,
  quantity   double precision not null,
  user_ids   text[] not null
);

-- Accounts whose signals changed, appended by ingest (any number of rows per
-- account, no key); the rescoring run folds them into rescore_queue, so
-- batches for the same account never wait on each other's queue row.
create table rescore_marks (
  account_id bigint not null,
  marked_at  timestamptz not null default now()
);
