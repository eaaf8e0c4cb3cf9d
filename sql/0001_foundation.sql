-- Foundation: API keys, the change clock behind complete keyset feeds, and accounts.
-- Each file runs as one PL/pgSQL DO block inside the migration transaction
-- (see src/db/migrations.ts), so write PERFORM where a bare SELECT would go.

create table api_keys (
  id           bigint generated always as identity primary key,
  name         text not null check (length(name) between 1 and 200),
  -- first characters of the key, shown in listings so a key can be recognised
  prefix       text not null,
  -- sha-256 of the whole key (hex); the key itself is never stored
  key_hash     text not null unique,
  scopes       text[] not null check (scopes <@ array['read', 'write', 'ingest', 'admin']::text[] and cardinality(scopes) > 0),
  created_at   timestamptz not null default now(),
  last_used_at timestamptz,
  revoked_at   timestamptz
);

-- One row; whoever inserts it creates the first admin key. Replicas starting
-- together race on the primary key, not on a check in code.
create table bootstrap (
  singleton  boolean primary key default true check (singleton),
  created_at timestamptz not null default now()
);

-- A feed's clock. A writer takes the next value once per transaction and keeps
-- the row locked until it commits, so change_seq values become visible in
-- order: a reader paging by (change_seq, id) can never see a later value
-- before an earlier one commits, and so never skips a change.
create table change_clocks (
  feed text primary key,
  seq  bigint not null default 0
);

create function healthscore_change_seq(p_feed text) returns bigint
language plpgsql as $fn$
declare
  v_key    text := 'healthscore.change_seq_' || p_feed;
  v_cached text := current_setting(v_key, true);
  v_seq    bigint;
begin
  if v_cached is not null and v_cached <> '' then
    return v_cached::bigint;
  end if;
  update change_clocks set seq = seq + 1 where feed = p_feed returning seq into v_seq;
  if not found then
    insert into change_clocks (feed, seq) values (p_feed, 1)
    on conflict (feed) do update set seq = change_clocks.seq + 1
    returning seq into v_seq;
  end if;
  perform set_config(v_key, v_seq::text, true);
  return v_seq;
end
$fn$;

create function healthscore_stamp_change() returns trigger
language plpgsql as $fn$
begin
  new.change_seq := healthscore_change_seq(tg_table_name);
  if tg_op = 'UPDATE' then
    new.updated_at := now();
  end if;
  return new;
end
$fn$;

insert into change_clocks (feed) values ('accounts');

create table accounts (
  id              bigint generated always as identity primary key,
  external_id     text not null unique check (length(external_id) between 1 and 200),
  name            text not null,
  segment         text,
  tier            text,
  owner           text,
  retention_owner text,
  seats           integer check (seats >= 0),
  arr             numeric(16, 2) check (arr >= 0),
  currency        char(3),
  timezone        text,
  lifecycle_stage text,
  renewal_date    date,
  attributes      jsonb not null default '{}'::jsonb,
  archived_at     timestamptz,
  created_at      timestamptz not null default now(),
  updated_at      timestamptz not null default now(),
  change_seq      bigint not null default 0
);

create index accounts_change_idx on accounts (change_seq, id);
create index accounts_segment_idx on accounts (segment, change_seq, id);
create index accounts_owner_idx on accounts (owner, change_seq, id);

create trigger accounts_stamp_change
  before insert or update on accounts
  for each row execute function healthscore_stamp_change();
