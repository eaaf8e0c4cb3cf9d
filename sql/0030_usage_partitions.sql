-- Raw usage events and the daily rollups, partitioned by month (UTC) with
-- PostgreSQL's declarative partitioning: retention drops a month's partition
-- instead of deleting its rows (docs/scaling.md#partitioning).
--
-- A partitioned table's keys must contain the partition key, so usage_events
-- is now keyed (account_id, event_id, occurred_at): a re-sent event is still
-- stored once when it carries the same time; the same id at another time is
-- another event (docs/signals.md#idempotency). The rollups' keys already
-- contain their day.
--
-- Each table has a DEFAULT partition, so a row for a month without a partition
-- (a back-dated event, an import of old data) is stored, never refused;
-- maintenance moves such rows into their month's partition
-- (src/jobs/usage-partitions.ts).

-- Creates the month's partition of a usage table (if missing) and moves the
-- rows of that month out of the table's default partition into it. Returns
-- the partition's name when it created it, else null.
--
-- Writes to the table wait while it runs (reads do not): an insert already
-- routed to the default partition would otherwise fail its re-checked
-- partition constraint once the new partition is attached. With the default
-- partition empty, as maintenance keeps it, that is a few milliseconds.
create function usage_month_partition(parent text, month date) returns text
language plpgsql as $fn$
declare
  lo   date := date_trunc('month', month)::date;
  hi   date := (date_trunc('month', month) + interval '1 month')::date;
  part text := format('%s_p%s', parent, to_char(lo, 'YYYY_MM'));
  col  text;
  lo_v text;
  hi_v text;
begin
  case parent
    when 'usage_events' then
      col := 'occurred_at';
      lo_v := to_char(lo, 'YYYY-MM-DD') || ' 00:00:00+00';
      hi_v := to_char(hi, 'YYYY-MM-DD') || ' 00:00:00+00';
    when 'usage_daily', 'usage_daily_users' then
      col := 'day';
      lo_v := to_char(lo, 'YYYY-MM-DD');
      hi_v := to_char(hi, 'YYYY-MM-DD');
    else
      raise exception 'not a partitioned usage table: %', parent;
  end case;
  -- Blocks writers, not readers; self-conflicting, so two callers take turns and the check below holds.
  execute format('lock table %I in share row exclusive mode', parent);
  if to_regclass(part) is not null then
    return null;
  end if;
  execute format('create table %I (like %I including all)', part, parent);
  execute format(
    'with moved as (delete from %I where %I >= %L and %I < %L returning *) insert into %I select * from moved',
    parent || '_default', col, lo_v, col, hi_v, part);
  execute format('alter table %I attach partition %I for values from (%L) to (%L)', parent, part, lo_v, hi_v);
  return part;
end
$fn$;

-- usage_events
alter table usage_events rename to usage_events_unpartitioned;
alter table usage_events_unpartitioned rename constraint usage_events_pkey to usage_events_unpartitioned_pkey;
alter index usage_events_received_idx rename to usage_events_unpartitioned_received_idx;

create table usage_events (
  account_id  bigint not null references accounts (id),
  event_id    text not null check (length(event_id) between 1 and 200),
  occurred_at timestamptz not null,
  metric      text not null check (length(metric) between 1 and 100),
  quantity    double precision not null default 1,
  user_id     text,
  received_at timestamptz not null default now(),
  primary key (account_id, event_id, occurred_at)
) partition by range (occurred_at);
create index usage_events_received_idx on usage_events (received_at);
create table usage_events_default partition of usage_events default;

-- usage_daily
alter table usage_daily rename to usage_daily_unpartitioned;
alter table usage_daily_unpartitioned rename constraint usage_daily_pkey to usage_daily_unpartitioned_pkey;

create table usage_daily (
  account_id   bigint not null references accounts (id),
  day          date not null,
  metric       text not null,
  events       bigint not null default 0,
  quantity     double precision not null default 0,
  active_users integer not null default 0,
  primary key (account_id, day, metric)
) partition by range (day);
create table usage_daily_default partition of usage_daily default;

-- usage_daily_users
alter table usage_daily_users rename to usage_daily_users_unpartitioned;
alter table usage_daily_users_unpartitioned rename constraint usage_daily_users_pkey to usage_daily_users_unpartitioned_pkey;

create table usage_daily_users (
  account_id bigint not null references accounts (id),
  day        date not null,
  metric     text not null,
  user_id    text not null,
  primary key (account_id, day, metric, user_id)
) partition by range (day);
create table usage_daily_users_default partition of usage_daily_users default;

-- A partition for every month that holds rows, this month and the next three
-- (the maintenance job keeps three ahead), created while the default
-- partitions are still empty; then the rows move.
perform usage_month_partition('usage_events', m)
   from (select distinct date_trunc('month', occurred_at at time zone 'UTC')::date as m from usage_events_unpartitioned
         union
         select (date_trunc('month', now() at time zone 'UTC') + make_interval(months => g))::date from generate_series(0, 3) g) months;
perform usage_month_partition(t, m)
   from (select distinct date_trunc('month', day)::date as m from usage_daily_unpartitioned
         union
         select distinct date_trunc('month', day)::date from usage_daily_users_unpartitioned
         union
         select (date_trunc('month', now() at time zone 'UTC') + make_interval(months => g))::date from generate_series(0, 3) g) months,
        (values ('usage_daily'), ('usage_daily_users')) v (t);

insert into usage_events (account_id, event_id, occurred_at, metric, quantity, user_id, received_at)
select account_id, event_id, occurred_at, metric, quantity, user_id, received_at from usage_events_unpartitioned;
insert into usage_daily (account_id, day, metric, events, quantity, active_users)
select account_id, day, metric, events, quantity, active_users from usage_daily_unpartitioned;
insert into usage_daily_users (account_id, day, metric, user_id)
select account_id, day, metric, user_id from usage_daily_users_unpartitioned;

drop table usage_events_unpartitioned;
drop table usage_daily_unpartitioned;
drop table usage_daily_users_unpartitioned;

-- Autovacuum never analyzes a partitioned parent; the planner needs its
-- statistics for joins over the whole table (maintenance refreshes them daily).
analyze usage_events, usage_daily, usage_daily_users;
