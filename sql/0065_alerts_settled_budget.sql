-- Alerts a team can work (issue 19): settled imports, activation re-checks,
-- a budget with a watch list.

-- An alert that a scorecard or rule-set activation made untrue resolves as such.
alter table alerts drop constraint if exists alerts_resolution_check;
alter table alerts add constraint alerts_resolution_check
  check (resolution in ('manual', 'condition_cleared', 'rule_removed', 'scorecard_changed', 'rules_changed'));

-- A mark appended for back-dated signals (history arriving): the fold records
-- the account's import in account_imports.
alter table rescore_marks add column history boolean not null default false;

-- An account's latest import of history: from its first back-dated signal
-- (started_at) to its last (last_history_at); settled_at is set when the
-- import has settled (no back-dated signal for the rule set's settleMinutes,
-- or an explicit settle at the end of a CSV import or the demo). While it is
-- null, the account's alerts wait; score_drop leaves out scores taken between
-- started_at and settled_at.
create table account_imports (
  account_id      bigint primary key references accounts (id) on delete cascade,
  started_at      timestamptz not null,
  last_history_at timestamptz not null,
  settled_at      timestamptz
);
create index account_imports_unsettled on account_imports (last_history_at) where settled_at is null;

-- Conditions that hold but fall outside the alert budget: visible, not lost.
create table alert_watchlist (
  account_id    bigint not null references accounts (id) on delete cascade,
  rule_key      text not null,
  rule_type     text not null,
  severity      text not null,
  expected_loss float8 not null,
  reasons       jsonb not null default '[]',
  metrics       jsonb not null default '{}',
  since         timestamptz not null default now(),
  updated_at    timestamptz not null default now(),
  primary key (account_id, rule_key)
);
create index alert_watchlist_by_loss on alert_watchlist (expected_loss desc, account_id);
