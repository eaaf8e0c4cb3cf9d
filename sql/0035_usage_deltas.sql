-- Ingest no longer updates usage_daily in place: each batch appends its
-- rollup deltas here (a heap without indexes), so concurrent batches, even for
-- the same account, never wait on each other's row locks. compactUsage()
-- (src/signals/usage-compaction.ts) folds them into usage_daily; the rescoring
-- runs do that first, so scores always see every stored event. No foreign key:
-- the deltas come from usage_events rows, whose own key already checked it.
create table usage_daily_deltas (
  account_id   bigint not null,
  day          date not null,
  metric       text not null,
  events       bigint not null,
  quantity     double precision not null,
  active_users integer not null
);
