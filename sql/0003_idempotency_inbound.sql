-- Idempotency-Key responses, and inbound webhook sources with their secrets.

-- A stored response for a key, per API key. The row is written in the same
-- transaction as the request's own writes, so it exists exactly when they do;
-- a request still running holds its uncommitted row, which is how a second
-- request with the same key learns it is in flight.
create table idempotency_keys (
  api_key_id      bigint not null references api_keys (id),
  idempotency_key text not null check (length(idempotency_key) between 1 and 255),
  request_hash    text not null,
  response_status smallint not null,
  response_type   text,
  response_body   text not null,
  created_at      timestamptz not null default now(),
  expires_at      timestamptz not null,
  primary key (api_key_id, idempotency_key)
);
create index idempotency_keys_expiry_idx on idempotency_keys (expires_at);

create table webhook_sources (
  name       text primary key check (name ~ '^[a-z0-9][a-z0-9_-]{0,62}$'),
  created_at timestamptz not null default now()
);

-- Several live secrets per source during a rotation; an old one can be given
-- an expiry so it stops verifying after the senders have switched.
create table webhook_source_secrets (
  source     text not null references webhook_sources (name) on delete cascade,
  id         bigint generated always as identity,
  secret     text not null check (secret like 'whsec_%'),
  created_at timestamptz not null default now(),
  expires_at timestamptz,
  primary key (source, id)
);

-- webhook-id values already processed, per source: a redelivery is answered
-- without being applied twice.
create table inbound_webhook_messages (
  source      text not null references webhook_sources (name) on delete cascade,
  webhook_id  text not null,
  received_at timestamptz not null default now(),
  primary key (source, webhook_id)
);
create index inbound_webhook_messages_received_idx on inbound_webhook_messages (received_at);
