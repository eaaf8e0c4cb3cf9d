import type { Kysely } from 'kysely';
import type { Database } from '../db/schema.js';
import type { JobRun } from './runner.js';
import type { JobOutcome } from '../db/tables/jobs.js';

type Db = Kysely<Database>;

/** The latest run (by claim order) of each named job. */
export async function lastRuns(db: Db, jobs: readonly string[]): Promise<Map<string, JobRun>> {
  if (jobs.length === 0) return new Map();
  const rows = await db
    .selectFrom('job_runs')
    .selectAll()
    .distinctOn('job_name')
    .where('job_name', 'in', jobs)
    .orderBy('job_name')
    .orderBy('id', 'desc')
    .execute();
  return new Map(rows.map((r) => [r.job_name, r]));
}

export interface RunFilter {
  job?: string;
  outcome?: JobOutcome;
  /** Keyset: only runs with a smaller id (older claims). */
  beforeId?: number;
  limit: number;
}

/** Runs, newest claim first. */
export async function listRuns(db: Db, filter: RunFilter) {
  let query = db.selectFrom('job_runs').selectAll();
  if (filter.job) query = query.where('job_name', '=', filter.job);
  if (filter.outcome) query = query.where('outcome', '=', filter.outcome);
  if (filter.beforeId !== undefined) query = query.where('id', '<', filter.beforeId);
  const rows = await query.orderBy('id', 'desc').limit(filter.limit + 1).execute();
  const runs = rows.slice(0, filter.limit);
  return { runs, hasMore: rows.length > filter.limit };
}
