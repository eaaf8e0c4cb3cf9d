-- Fit proposals (#18): a job fits a draft scorecard when enough new outcomes
-- have arrived, compares it with the active one on the same held-out outcomes
-- and stores what it found here. It never activates anything. See
-- docs/proof-of-score.md.
create table fit_proposals (
  id                  bigint generated always as identity primary key,
  created_at          timestamptz not null default now(),
  trigger             text not null check (trigger in ('schedule', 'outcomes_import', 'manual')),
  status              text not null check (status in ('proposed', 'not_better', 'too_few_outcomes', 'failed')),
  segment_key         text not null default '',
  -- outcomes known when it ran, and the latest recorded_at among them: "new" outcomes are recorded after it
  outcomes_total      integer not null check (outcomes_total >= 0),
  outcomes_until      timestamptz,
  draft_scorecard_id  bigint references scorecards (id),
  better              boolean not null default false,
  notified            boolean not null default false,
  -- the rest of the proposal as GET /v1/fit-proposals/{id} shows it
  payload             jsonb not null
);
create index fit_proposals_recent_idx on fit_proposals (segment_key, id desc);
