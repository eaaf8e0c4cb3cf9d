-- Signals: usage (raw events + daily rollups), tickets, survey responses,
-- contracts with their change history, and the queue of accounts to rescore.
-- Every table is keyed by account first (see 0001).

create table usage_events (
  account_id  bigint not null references accounts (id),
  event_id    text not null check (length(event_id) between 1 and 200),
  occurred_at timestamptz not null,
  metric      text not null check (length(metric) between 1 and 100),
  quantity    double precision not null default 1,
  user_id     text,
  received_at timestamptz not null default now(),
  primary key (account_id, event_id)
);
create index usage_events_received_idx on usage_events (received_at);

-- One row per account, UTC day and metric, kept current at ingest.
create table usage_daily (
  account_id   bigint not null references accounts (id),
  day          date not null,
  metric       text not null,
  events       bigint not null default 0,
  quantity     double precision not null default 0,
  active_users integer not null default 0,
  primary key (account_id, day, metric)
);

-- Who was active on a day, per metric: makes the distinct counts above exact
-- under concurrent ingest without reading raw events.
create table usage_daily_users (
  account_id bigint not null references accounts (id),
  day        date not null,
  metric     text not null,
  user_id    text not null,
  primary key (account_id, day, metric, user_id)
);

create table tickets (
  account_id        bigint not null references accounts (id),
  ticket_id         text not null check (length(ticket_id) between 1 and 200),
  subject           text,
  status            text not null check (status in ('new', 'open', 'pending', 'solved', 'closed')),
  priority          text not null check (priority in ('low', 'normal', 'high', 'urgent')),
  opened_at         timestamptz not null,
  first_response_at timestamptz,
  solved_at         timestamptz,
  reopen_count      integer not null default 0 check (reopen_count >= 0),
  escalated         boolean not null default false,
  sla_breached      boolean not null default false,
  satisfaction      text check (satisfaction in ('good', 'bad')),
  -- the help desk's updated_at: an update older than this never overwrites
  source_updated_at timestamptz not null,
  created_at        timestamptz not null default now(),
  updated_at        timestamptz not null default now(),
  primary key (account_id, ticket_id)
);
create index tickets_open_idx on tickets (account_id) where status in ('new', 'open', 'pending');

create table survey_responses (
  account_id   bigint not null references accounts (id),
  response_id  text not null check (length(response_id) between 1 and 200),
  kind         text not null check (kind in ('nps', 'csat', 'ces')),
  score        smallint not null,
  comment      text,
  respondent   text,
  responded_at timestamptz not null,
  created_at   timestamptz not null default now(),
  primary key (account_id, response_id),
  check (
    (kind = 'nps' and score between 0 and 10) or
    (kind = 'csat' and score between 1 and 5) or
    (kind = 'ces' and score between 1 and 7)
  )
);
create index survey_responses_recent_idx on survey_responses (account_id, kind, responded_at desc);

create table contracts (
  account_id     bigint not null references accounts (id),
  contract_id    text not null check (length(contract_id) between 1 and 200),
  start_date     date not null,
  end_date       date not null,
  arr            numeric(16, 2) not null check (arr >= 0),
  currency       char(3),
  seats          integer check (seats >= 0),
  auto_renew     boolean not null default false,
  status         text not null check (status in ('active', 'renewed', 'churned', 'cancelled', 'downgraded')),
  payment_status text not null default 'current' check (payment_status in ('current', 'overdue')),
  created_at     timestamptz not null default now(),
  updated_at     timestamptz not null default now(),
  primary key (account_id, contract_id),
  check (end_date >= start_date)
);

-- Every change of a contract's status, value or payment standing: renewal
-- outcomes are the ground truth the scoring model is judged on.
create table contract_history (
  account_id     bigint not null,
  contract_id    text not null,
  changed_at     timestamptz not null default clock_timestamp(),
  status         text not null,
  payment_status text not null,
  arr            numeric(16, 2) not null,
  seats          integer,
  end_date       date not null,
  primary key (account_id, contract_id, changed_at),
  foreign key (account_id, contract_id) references contracts (account_id, contract_id)
);

create function contracts_record_history() returns trigger
language plpgsql as $fn$
begin
  if tg_op = 'INSERT'
     or (old.status, old.payment_status, old.arr, old.seats, old.end_date)
        is distinct from (new.status, new.payment_status, new.arr, new.seats, new.end_date) then
    insert into contract_history (account_id, contract_id, status, payment_status, arr, seats, end_date)
    values (new.account_id, new.contract_id, new.status, new.payment_status, new.arr, new.seats, new.end_date)
    on conflict do nothing;
  end if;
  return null;
end
$fn$;

create trigger contracts_history
  after insert or update on contracts
  for each row execute function contracts_record_history();

-- Accounts whose signals changed since they were last scored.
create table rescore_queue (
  account_id bigint primary key references accounts (id),
  marked_at  timestamptz not null default now()
);
