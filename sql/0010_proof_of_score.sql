-- Proof of score: point-in-time features, zero versus missing, outcomes,
-- backtest and fit reports. See docs/proof-of-score.md.

-- Tickets: a kind ('complaint', 'incident', 'question', … as the help desk
-- names it) and every stored version, so a ticket's state at any past instant
-- is known (escalations, reopens and SLA breaches are not read from today's row).
alter table tickets add column kind text check (length(kind) between 1 and 50);

create table ticket_history (
  account_id        bigint not null,
  ticket_id         text not null,
  source_updated_at timestamptz not null,
  status            text not null,
  priority          text not null,
  kind              text,
  first_response_at timestamptz,
  solved_at         timestamptz,
  reopen_count      integer not null,
  escalated         boolean not null,
  sla_breached      boolean not null,
  satisfaction      text,
  primary key (account_id, ticket_id, source_updated_at),
  foreign key (account_id, ticket_id) references tickets (account_id, ticket_id)
);

create function tickets_record_history() returns trigger
language plpgsql as $fn$
begin
  insert into ticket_history (account_id, ticket_id, source_updated_at, status, priority, kind, first_response_at,
                              solved_at, reopen_count, escalated, sla_breached, satisfaction)
  values (new.account_id, new.ticket_id, new.source_updated_at, new.status, new.priority, new.kind, new.first_response_at,
          new.solved_at, new.reopen_count, new.escalated, new.sla_breached, new.satisfaction)
  on conflict do nothing;
  return null;
end
$fn$;

create trigger tickets_history
  after insert or update on tickets
  for each row execute function tickets_record_history();

insert into ticket_history (account_id, ticket_id, source_updated_at, status, priority, kind, first_response_at,
                            solved_at, reopen_count, escalated, sla_breached, satisfaction)
select account_id, ticket_id, source_updated_at, status, priority, kind, first_response_at,
       solved_at, reopen_count, escalated, sla_breached, satisfaction
  from tickets
on conflict do nothing;

-- Contracts: the source's change time, when the sender knows it, dates the
-- history row (a backfill then says when a contract became overdue).
alter table contracts add column source_updated_at timestamptz;

create or replace function contracts_record_history() returns trigger
language plpgsql as $fn$
begin
  if tg_op = 'INSERT'
     or (old.status, old.payment_status, old.arr, old.seats, old.end_date)
        is distinct from (new.status, new.payment_status, new.arr, new.seats, new.end_date) then
    insert into contract_history (account_id, contract_id, changed_at, status, payment_status, arr, seats, end_date)
    values (new.account_id, new.contract_id, coalesce(new.source_updated_at, clock_timestamp()), new.status,
            new.payment_status, new.arr, new.seats, new.end_date)
    on conflict do nothing;
  end if;
  return null;
end
$fn$;

-- Which days each source had data on, workspace-wide: says whether a source
-- was connected (and how fresh it was) at any instant without scanning the
-- signal tables. Written at intake; one row per source and day.
create table source_days (
  source text not null check (source in ('usage', 'support', 'nps', 'csat', 'commercial')),
  day    date not null,
  primary key (source, day)
);
insert into source_days select distinct 'usage', day from usage_daily on conflict do nothing;
insert into source_days select distinct 'support', (opened_at at time zone 'UTC')::date from tickets on conflict do nothing;
insert into source_days select distinct kind, (responded_at at time zone 'UTC')::date from survey_responses
 where kind in ('nps', 'csat') on conflict do nothing;
insert into source_days select distinct 'commercial', start_date from contracts on conflict do nothing;

-- Renewal outcomes: the labels scores are judged on. Kept current by
-- triggers on contracts (a status of renewed, churned, cancelled or
-- downgraded) and accounts (lifecycle stage 'churned'), and by import.
-- occurred_on: the renewal date, or the day the outcome was recorded when
-- that came first (an early cancellation).
create table outcomes (
  account_id   bigint not null references accounts (id),
  outcome_key  text not null check (length(outcome_key) between 1 and 250),
  kind         text not null check (kind in ('renewed', 'churned', 'cancelled', 'downgraded')),
  occurred_on  date not null,
  contract_id  text,
  arr          numeric(16, 2),
  source       text not null check (source in ('contract', 'lifecycle', 'import')),
  recorded_at  timestamptz not null default now(),
  primary key (account_id, outcome_key)
);
create index outcomes_occurred_idx on outcomes (occurred_on, account_id);

create function contracts_record_outcome() returns trigger
language plpgsql as $fn$
begin
  if new.status in ('renewed', 'churned', 'cancelled', 'downgraded') then
    insert into outcomes (account_id, outcome_key, kind, occurred_on, contract_id, arr, source)
    values (new.account_id, 'contract:' || new.contract_id, new.status,
            least(new.end_date, (coalesce(new.source_updated_at, now()) at time zone 'UTC')::date),
            new.contract_id, new.arr, 'contract')
    on conflict (account_id, outcome_key) do update set
      kind = excluded.kind, arr = excluded.arr,
      occurred_on = case when outcomes.kind = excluded.kind then outcomes.occurred_on else excluded.occurred_on end
    where outcomes.source = 'contract';
  elsif tg_op = 'UPDATE' and old.status is distinct from new.status then
    delete from outcomes where account_id = new.account_id and outcome_key = 'contract:' || new.contract_id and source = 'contract';
  end if;
  return null;
end
$fn$;

create trigger contracts_outcome
  after insert or update on contracts
  for each row execute function contracts_record_outcome();

create function accounts_record_outcome() returns trigger
language plpgsql as $fn$
begin
  if new.lifecycle_stage = 'churned' and (tg_op = 'INSERT' or old.lifecycle_stage is distinct from 'churned') then
    insert into outcomes (account_id, outcome_key, kind, occurred_on, arr, source)
    values (new.id, 'lifecycle', 'churned', (now() at time zone 'UTC')::date, new.arr, 'lifecycle')
    on conflict (account_id, outcome_key) do nothing;
  elsif tg_op = 'UPDATE' and old.lifecycle_stage = 'churned' and new.lifecycle_stage is distinct from 'churned' then
    delete from outcomes where account_id = new.id and outcome_key = 'lifecycle';
  end if;
  return null;
end
$fn$;

create trigger accounts_outcome
  after insert or update of lifecycle_stage on accounts
  for each row execute function accounts_record_outcome();

insert into outcomes (account_id, outcome_key, kind, occurred_on, contract_id, arr, source)
select account_id, 'contract:' || contract_id, status, least(end_date, current_date), contract_id, arr, 'contract'
  from contracts where status in ('renewed', 'churned', 'cancelled', 'downgraded')
on conflict do nothing;
insert into outcomes (account_id, outcome_key, kind, occurred_on, arr, source)
select id, 'lifecycle', 'churned', current_date, arr, 'lifecycle' from accounts where lifecycle_stage = 'churned'
on conflict do nothing;

-- Per measure of the stored score: 0 ok, 1 source not connected, 2 stale,
-- 3 no value (e.g. no rated tickets), 4 no information (the same value for
-- every account, so no weight).
alter table health_scores add column status smallint[] not null default '{}';
alter table health_snapshots add column status smallint[] not null default '{}';

-- Features whose values are the same for every account carry no information;
-- counted by each full recompute, one row per feature and day, so a past
-- score is weighed with what was known then (the newest row computed by T).
create table feature_information (
  feature         text not null,
  day             date not null,
  accounts        integer not null,
  distinct_values integer not null,
  computed_at     timestamptz not null,
  primary key (feature, day)
);

-- Stored backtest and fit reports.
create table scorecard_reports (
  id           bigint generated always as identity primary key,
  kind         text not null check (kind in ('backtest', 'fit')),
  scorecard_id bigint references scorecards (id),
  definition   jsonb not null,
  options      jsonb not null,
  report       jsonb not null,
  created_at   timestamptz not null default now()
);
create index scorecard_reports_kind_idx on scorecard_reports (kind, id desc);
