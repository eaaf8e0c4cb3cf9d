import type { ColumnType, Generated } from 'kysely';

type Timestamp = ColumnType<Date, Date | string, Date | string>;

export type JobTrigger = 'schedule' | 'catch-up' | 'manual';
export type JobOutcome = 'running' | 'succeeded' | 'failed' | 'skipped';

export interface JobRunsTable {
  id: Generated<number>;
  job_name: string;
  scheduled_for: Timestamp;
  triggered_by: JobTrigger;
  outcome: JobOutcome;
  replica: string;
  started_at: Timestamp;
  finished_at: Timestamp | null;
  lease_expires_at: Timestamp | null;
  counts: ColumnType<Record<string, number>, Record<string, number> | undefined, Record<string, number>>;
  error: string | null;
}

/** Tables of sql/0006_jobs.sql. */
export interface JobTables {
  job_runs: JobRunsTable;
}
