-- Score history backfilled for past days (src/scoring/backfill.ts): the same
-- snapshots as the live run writes, marked, so they can be told apart and
-- never count as something that happened now (no alert, no event).
alter table health_snapshots add column backfilled boolean not null default false;

-- Accounts whose signals arrived back-dated (a CSV import, a batch with
-- history): appended by ingest, taken by the backfill-history job once they
-- have settled. Append-only like rescore_marks: concurrent batches never wait
-- on each other's rows.
create table history_backfill_marks (
  account_id bigint not null references accounts (id),
  since      date not null,
  marked_at  timestamptz not null default now()
);
create index history_backfill_marks_marked_idx on history_backfill_marks (marked_at);

-- The past instants the history holds (every account scored as of each), with
-- the features that carried no information at that instant: the same value
-- for every account then (the judgement an as-of score and a backtest at that
-- instant make too, so all three agree).
create table history_instants (
  as_of          timestamptz primary key,
  uninformative  text[] not null,
  accounts       integer not null,
  computed_at    timestamptz not null default now()
);
