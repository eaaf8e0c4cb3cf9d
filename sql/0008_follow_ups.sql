-- Follow-ups: the team's calendars, versioned playbooks, and the follow-up
-- visits and calls they schedule. See docs/follow-ups.md and src/follow-ups/.

-- Who follow-ups are assigned to. Anyone not listed here works the defaults:
-- the account's time zone (or UTC), 09:00-17:00, Monday to Friday, 8 a day.
create table team_members (
  email                     text primary key
                            check (email = lower(email) and length(email) between 3 and 254 and email ~ '^[^@\s]+@[^@\s]+$'),
  name                      text not null check (length(name) between 1 and 200),
  -- IANA zone; null: the account's zone, per follow-up
  timezone                  text check (length(timezone) between 1 and 100),
  -- working hours, minutes after local midnight (540 = 09:00)
  work_start                integer not null default 540 check (work_start between 0 and 1439),
  work_end                  integer not null default 1020 check (work_end between 1 and 1440),
  -- ISO weekdays, 1 = Monday ... 7 = Sunday
  working_days              integer[] not null default '{1,2,3,4,5}'
                            check (cardinality(working_days) between 1 and 7 and working_days <@ '{1,2,3,4,5,6,7}'::integer[]),
  -- most follow-ups due on one local day; more move to the next working day
  daily_capacity            integer not null default 8 check (daily_capacity between 1 and 1000),
  manager_email             text check (manager_email = lower(manager_email) and length(manager_email) between 3 and 254),
  -- sha-256 (hex) of the secret calendar token; the token itself is never stored
  calendar_token_hash       text unique,
  calendar_token_created_at timestamptz,
  created_at                timestamptz not null default now(),
  updated_at                timestamptz not null default now(),
  check (work_start < work_end)
);

-- Playbooks: what creates follow-ups. Versioned per key like scorecards; the
-- shipped defaults are installed as version 1 on first use.
create table follow_up_playbooks (
  id           bigint generated always as identity primary key,
  key          text not null check (key ~ '^[a-z0-9][a-z0-9-]{0,62}$'),
  version      integer not null check (version > 0),
  definition   jsonb not null check (jsonb_typeof(definition) = 'object'),
  active       boolean not null default false,
  created_at   timestamptz not null default now(),
  activated_at timestamptz,
  unique (key, version)
);
-- At most one active version per key.
create unique index follow_up_playbooks_one_active on follow_up_playbooks (key) where active;

create table follow_ups (
  -- the public id (API paths, event payloads, calendar UIDs); the key leads
  -- with the account like every per-account table (see 0002)
  id                bigint generated always as identity unique,
  account_id        bigint not null references accounts (id),
  playbook_key      text not null,
  playbook_version  integer not null,
  -- what this follow-up answers, unique per account and playbook:
  -- survey:<response_id>, ticket:<ticket_id>, contract:<id>:90, periodic:2026-11, ...
  anchor            text not null check (length(anchor) between 1 and 500),
  kind              text not null check (kind in ('call', 'visit', 'email', 'qbr')),
  title             text not null check (length(title) between 1 and 200),
  reason            text not null check (length(reason) between 1 and 2000),
  -- the typed link to the cause; (account_id, cause_type, cause_ref) names "the same problem"
  cause_type        text not null check (cause_type in ('alert', 'ticket', 'survey', 'contract', 'band_change', 'periodic')),
  cause_ref         text not null check (length(cause_ref) between 1 and 500),
  -- email (lower case); null: unassigned
  assignee          text check (length(assignee) between 1 and 254),
  -- the zone whose working hours due_at was placed in
  timezone          text not null,
  -- whole milliseconds, so the (due_at, id) cursor round-trips through JavaScript
  due_at            timestamptz not null check (due_at = date_trunc('milliseconds', due_at)),
  status            text not null default 'scheduled' check (status in ('scheduled', 'done', 'cancelled', 'missed')),
  outcome           text check (outcome in ('resolved', 'unresolved', 'no_answer', 'rescheduled')),
  notes             text check (length(notes) <= 10000),
  completed_at      timestamptz,
  cancelled_at      timestamptz,
  cancel_reason     text check (length(cancel_reason) <= 2000),
  missed_at         timestamptz,
  -- set once, when follow_up.due was emitted
  due_notified_at   timestamptz,
  -- set once, when it was escalated (overdue, or a second unresolved outcome)
  escalated_to      text,
  escalated_at      timestamptz,
  escalation_reason text,
  created_at        timestamptz not null default now(),
  updated_at        timestamptz not null default now(),
  -- at most one follow-up per account, playbook and anchor: re-running the
  -- planner (ON CONFLICT DO NOTHING on this key) creates nothing twice
  constraint follow_ups_anchor_key primary key (account_id, playbook_key, anchor),
  constraint follow_ups_done_check check ((status = 'done') = (outcome is not null and completed_at is not null)),
  constraint follow_ups_cancelled_check check ((status = 'cancelled') = (cancelled_at is not null)),
  constraint follow_ups_escalated_check check ((escalated_at is null) or (escalation_reason is not null))
);

-- Listing in due order, and the calendar and capacity counts per assignee.
create index follow_ups_due_idx on follow_ups (due_at, id);
create index follow_ups_assignee_due_idx on follow_ups (assignee, due_at, id);
create index follow_ups_account_due_idx on follow_ups (account_id, due_at, id);
-- "the same problem": earlier outcomes on the same cause.
create index follow_ups_cause_idx on follow_ups (account_id, cause_type, cause_ref);
-- The sweeps: not yet announced as due; open and not yet escalated.
create index follow_ups_unnotified_idx on follow_ups (due_at, id) where status = 'scheduled' and due_notified_at is null;
create index follow_ups_unescalated_idx on follow_ups (due_at, id) where status = 'scheduled' and escalated_at is null;
