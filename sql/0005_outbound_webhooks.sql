-- Outbound webhooks: subscriptions, the transactional outbox of events, one
-- delivery per (event, subscription), and a log row per delivery attempt.
-- See docs/outbound-webhooks.md and src/webhooks/outbound/.

create table webhook_subscriptions (
  id                         bigint generated always as identity primary key,
  url                        text not null check (url ~ '^https?://' and length(url) <= 2048),
  event_types                text[] not null check (cardinality(event_types) between 1 and 50),
  -- Standard Webhooks signing secret; sent only once, on create (or rotation)
  secret                     text not null check (secret like 'whsec_%'),
  -- after a rotation the old secret also signs until it expires
  previous_secret            text check (previous_secret like 'whsec_%'),
  previous_secret_expires_at timestamptz,
  format                     text not null default 'standard' check (format in ('standard', 'slack')),
  description                text check (length(description) <= 500),
  owner_contact              text check (length(owner_contact) <= 500),
  active                     boolean not null default true,
  -- why and when it stopped: set by the worker (410 Gone, days of failures) or an admin
  disabled_reason            text,
  disabled_at                timestamptz,
  -- the first failure since the last success; null while healthy
  failing_since              timestamptz,
  created_at                 timestamptz not null default now(),
  updated_at                 timestamptz not null default now()
);

-- The outbox. A row is written in the transaction of the change it reports,
-- so an event exists exactly when that change committed. Its id is the
-- `webhook-id` of every delivery and retry of it.
create table webhook_events (
  id                 text primary key check (id ~ '^msg_[0-9A-Za-z]{10,60}$'),
  type               text not null check (length(type) between 1 and 100),
  -- the account the event is about (accounts.id), if any; no foreign key so
  -- the record of what was sent outlives whatever it described
  subject_account_id bigint,
  payload            jsonb not null,
  occurred_at        timestamptz not null default now(),
  created_at         timestamptz not null default now()
);
create index webhook_events_created_idx on webhook_events (created_at);

-- One row per event and subscription (and per replay). `status` is pending
-- until the endpoint answered 2xx (succeeded) or retries ran out (failed).
-- A worker claims a due row by bumping `attempt` and setting a fresh
-- `lease_token`; it records the outcome only while the token is still there.
create table webhook_deliveries (
  id               bigint generated always as identity primary key,
  event_id         text not null references webhook_events (id) on delete cascade,
  subscription_id  bigint not null references webhook_subscriptions (id) on delete cascade,
  replay_of        bigint references webhook_deliveries (id) on delete set null,
  status           text not null default 'pending' check (status in ('pending', 'succeeded', 'failed')),
  -- attempts started so far
  attempt          integer not null default 0 check (attempt >= 0),
  -- when a worker may next claim it: the retry time, or the end of the lease
  -- while one is held (so a crashed worker's claim comes round again)
  next_attempt_at  timestamptz,
  lease_token      text,
  leased_until     timestamptz,
  last_status_code smallint,
  last_error       text,
  last_attempt_at  timestamptz,
  delivered_at     timestamptz,
  created_at       timestamptz not null default now(),
  updated_at       timestamptz not null default now(),
  check ((status = 'pending') = (next_attempt_at is not null))
);
create index webhook_deliveries_due_idx on webhook_deliveries (next_attempt_at) where status = 'pending';
create index webhook_deliveries_subscription_idx on webhook_deliveries (subscription_id, id);
create index webhook_deliveries_event_idx on webhook_deliveries (event_id);

-- The delivery log: one row per attempt. No request headers or secrets; the
-- error text is truncated.
create table webhook_delivery_attempts (
  delivery_id bigint not null references webhook_deliveries (id) on delete cascade,
  attempt     integer not null check (attempt > 0),
  started_at  timestamptz not null default now(),
  finished_at timestamptz,
  duration_ms integer,
  status_code smallint,
  -- null while in flight; 'abandoned' when the worker died and its lease ran out
  outcome     text check (outcome in ('succeeded', 'failed', 'abandoned')),
  error       text check (length(error) <= 1000),
  primary key (delivery_id, attempt)
);
