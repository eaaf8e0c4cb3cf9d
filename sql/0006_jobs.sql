-- Scheduled jobs (jobs/registry.ts, docs/jobs.md): the history of their runs.
--
-- One row per occurrence of a job that some replica claimed, and one per
-- manual run. The unique (job_name, scheduled_for) key is what makes a
-- scheduled run happen once across replicas: every replica names an
-- occurrence by the time the cron expression gives it, so they all try to
-- insert the same key and only one insert succeeds. The claim transaction also
-- takes an advisory lock per job, only to make its "is a run of this job still
-- running?" check race-free; the unique indexes are the guarantees.
create table job_runs (
  id               bigint generated always as identity primary key,
  job_name         text not null check (job_name ~ '^[a-z0-9][a-z0-9-]{0,62}$'),
  -- The occurrence: a time the cron expression names (whole seconds, UTC), or
  -- for a manual run the time it was requested.
  scheduled_for    timestamptz not null,
  triggered_by     text not null check (triggered_by in ('schedule', 'catch-up', 'manual')),
  -- 'running' until the run ends; 'skipped' rows never ran (the reason is in error).
  outcome          text not null check (outcome in ('running', 'succeeded', 'failed', 'skipped')),
  -- hostname:pid of the process that claimed it (or 'workers' for a Cron Trigger).
  replica          text not null check (length(replica) between 1 and 200),
  started_at       timestamptz not null,
  finished_at      timestamptz,
  -- A running run's replica extends this while it works; past it, the run is
  -- taken for dead and marked failed by the next claim of the job.
  lease_expires_at timestamptz,
  counts           jsonb not null default '{}'::jsonb check (jsonb_typeof(counts) = 'object'),
  -- Why it failed or was skipped: one sanitised line, never a stack or a secret.
  error            text check (length(error) <= 2000),
  constraint job_runs_occurrence_key unique (job_name, scheduled_for),
  constraint job_runs_finished_check check ((outcome = 'running') = (finished_at is null)),
  constraint job_runs_lease_check check ((outcome = 'running') = (lease_expires_at is not null))
);

-- A job never overlaps itself: at most one running run per job.
create unique index job_runs_one_running_idx on job_runs (job_name) where outcome = 'running';
-- Run history per job, newest first (GET /v1/jobs/runs?job=, the last run of each job).
create index job_runs_job_idx on job_runs (job_name, id desc);
