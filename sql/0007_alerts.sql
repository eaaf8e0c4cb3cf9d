-- Churn-risk alerts: versioned rule sets, alerts with their history, the
-- frequency-cap ledger and the retention pool. See docs/alerts.md and
-- src/alerts/.

-- Rule sets, versioned like scorecards: one row per version, one active.
create table alert_rule_sets (
  id           bigint generated always as identity primary key,
  version      integer not null unique check (version > 0),
  -- validated by src/alerts/rules.ts (ruleSetDefinitionSchema)
  definition   jsonb not null,
  active       boolean not null default false,
  created_by   text,
  created_at   timestamptz not null default now(),
  activated_at timestamptz
);
-- At most one active rule set.
create unique index alert_rule_sets_one_active on alert_rule_sets (active) where active;

-- One row per alert. An alert is open, acknowledged or snoozed until it is
-- resolved (by hand with an outcome, or by itself when its condition clears).
create table alerts (
  account_id          bigint not null references accounts (id),
  -- the alert's public id; the key leads with the account like every
  -- per-account table (see 0002)
  id                  bigint generated always as identity unique,
  rule_key            text not null check (length(rule_key) between 1 and 63),
  rule_type           text not null,
  -- the rule-set version whose rule last evaluated it
  rule_set_version    integer not null,
  severity            text not null check (severity in ('low', 'medium', 'high', 'critical')),
  status              text not null default 'open' check (status in ('open', 'acknowledged', 'snoozed', 'resolved')),
  assignee            text check (length(assignee) between 1 and 200),
  -- how the assignee was chosen, and the account's retention owner at that
  -- moment: a later change of the owner moves the alert to the new owner
  assigned_via        text check (assigned_via in ('retention_owner', 'pool', 'manual')),
  owner_at_assignment text,
  -- sentences (jsonb array of strings): the rule's own first, then the
  -- score explanation's weakest measures
  reasons             jsonb not null,
  -- the numbers that triggered it
  metrics             jsonb not null,
  -- what a material change is measured against (severity, cited measures,
  -- a coarse bucket of the rule's number); churn_risk.updated goes out only
  -- when it changes
  signature           jsonb not null,
  snoozed_until       timestamptz,
  opened_at           timestamptz not null default now(),
  updated_at          timestamptz not null default now(),
  acknowledged_at     timestamptz,
  resolved_at         timestamptz,
  resolution          text check (resolution in ('manual', 'condition_cleared', 'rule_removed')),
  resolved_by         text,
  outcome             text check (outcome in ('saved', 'churned', 'false_alarm', 'other')),
  outcome_note        text check (length(outcome_note) <= 2000),
  outcome_recorded_at timestamptz,
  check ((status = 'snoozed') = (snoozed_until is not null)),
  check ((status = 'resolved') = (resolved_at is not null and resolution is not null)),
  check (outcome is null or status = 'resolved'),
  primary key (account_id, id)
);
-- The dedupe guarantee: one alert per account and rule that is not resolved.
-- Evaluation inserts with ON CONFLICT on this index; concurrent evaluations
-- cannot both open one.
create unique index alerts_one_unresolved on alerts (account_id, rule_key) where status <> 'resolved';
create index alerts_status_idx on alerts (status, id);
create index alerts_assignee_idx on alerts (assignee, id) where status <> 'resolved';
create index alerts_snoozed_idx on alerts (snoozed_until) where status = 'snoozed';

-- The history of every alert: who did what, when.
create table alert_events (
  id       bigint generated always as identity primary key,
  alert_id bigint not null references alerts (id) on delete cascade,
  action   text not null check (action in ('opened', 'updated', 'acknowledged', 'snoozed', 'unsnoozed', 'assigned',
                                           'reassigned', 'resolved', 'outcome_recorded')),
  -- the API key's name, or 'system' for evaluation and the sweep
  actor    text not null,
  at       timestamptz not null default now(),
  details  jsonb not null default '{}'::jsonb
);
create index alert_events_alert_idx on alert_events (alert_id, id);

-- The frequency cap: when each (account, rule) last opened an alert, and when
-- a specialist last resolved one by hand. A new alert opens only through an
-- INSERT ... ON CONFLICT DO UPDATE of this row whose WHERE requires both to
-- be older than the rule's cooldown, so concurrent evaluations serialise on
-- the row and a flapping account opens at most one alert per window.
create table alert_openings (
  account_id        bigint not null references accounts (id),
  rule_key          text not null,
  last_opened_at    timestamptz not null,
  last_dismissed_at timestamptz,
  primary key (account_id, rule_key)
);

-- Retention specialists who take alerts of accounts without a retention owner.
create table retention_pool (
  member   text primary key check (length(member) between 1 and 200),
  added_by text,
  added_at timestamptz not null default now()
);
