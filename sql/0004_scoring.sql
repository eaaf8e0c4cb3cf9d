-- Scoring: versioned scorecards, current health per account, history,
-- segment distributions for percentile measures, and CSM pulses.

create table scorecards (
  id           bigint generated always as identity primary key,
  -- '' for the default scorecard, else the account segment it applies to
  segment_key  text not null default '',
  version      integer not null check (version > 0),
  definition   jsonb not null,
  active       boolean not null default false,
  created_at   timestamptz not null default now(),
  activated_at timestamptz,
  unique (segment_key, version)
);
-- At most one active scorecard per segment.
create unique index scorecards_one_active on scorecards (segment_key) where active;

insert into change_clocks (feed) values ('health_scores');

create table health_scores (
  account_id      bigint primary key references accounts (id),
  scorecard_id    bigint not null references scorecards (id),
  score           double precision check (score between 0 and 100),
  base_score      double precision,
  band            text check (band in ('green', 'yellow', 'red')),
  coverage        double precision not null check (coverage between 0 and 1),
  -- per measure of the scorecard, in its order; null where data is missing
  raw             double precision[] not null,
  sub             double precision[] not null,
  pulse           double precision,
  computed_at     timestamptz not null default now(),
  updated_at      timestamptz not null default now(),
  band_changed_at timestamptz,
  change_seq      bigint not null
);
create index health_scores_change_idx on health_scores (change_seq, account_id);

create table health_snapshots (
  account_id   bigint not null references accounts (id),
  taken_at     timestamptz not null,
  reason       text not null check (reason in ('daily', 'band_change')),
  day          date not null,
  scorecard_id bigint not null references scorecards (id),
  score        double precision,
  band         text,
  previous_band text,
  coverage     double precision not null,
  raw          double precision[] not null,
  sub          double precision[] not null,
  pulse        double precision,
  primary key (account_id, taken_at, reason)
);
create unique index health_snapshots_daily on health_snapshots (account_id, day) where reason = 'daily';

-- Quantile breakpoints of a feature within a segment ('*': all accounts), for
-- percentile measures; refreshed by each full recompute. A value's percentile
-- is the share of breakpoints at or below it (ties count in its favour).
create table feature_distributions (
  feature      text not null,
  segment_key  text not null,
  breakpoints  double precision[] not null,
  -- the same quantiles of the negated values, for lower-is-better measures
  negated_breakpoints double precision[] not null,
  computed_at  timestamptz not null default now(),
  primary key (feature, segment_key)
);

-- A CSM's manual adjustment of a score, with a reason and an expiry.
create table health_pulses (
  account_id  bigint not null references accounts (id),
  id          bigint generated always as identity,
  adjustment  double precision not null check (adjustment between -50 and 50),
  reason      text not null check (length(reason) between 1 and 1000),
  author      text,
  expires_at  timestamptz not null,
  created_at  timestamptz not null default now(),
  primary key (account_id, id)
);
