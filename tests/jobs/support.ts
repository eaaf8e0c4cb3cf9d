import { sql } from 'kysely';
import type { TestDatabase } from '../support/db.js';
import { createLogger } from '../../src/logger.js';
import type { JobContext, JobCounts, JobDefinition, JobSettings } from '../../src/jobs/types.js';

export const silent = createLogger('silent');
export const settings: JobSettings = { usageRetentionDays: 400, webhookRetentionDays: 30, outboxDelivery: 'continuous', delivery: {} };

/** A whole minute ten minutes in the past: occurrences there pass the database's "not ahead of me" check. */
export const pastMinute = () => Math.floor(Date.now() / 60_000) * 60_000 - 10 * 60_000;

export interface Recorded {
  job: string;
  scheduledFor: number;
  /** Set by the test driving fake clocks: the true time when it ran. */
  trueTime?: number;
  replica?: string;
}

/** A job whose handler records each run it is given. */
export function recordingJob(name: string, cron: string, log: Recorded[], extra: Partial<Recorded> | (() => Partial<Recorded>) = {}): JobDefinition {
  return {
    name,
    cron,
    description: `test job ${name}`,
    handler: async (ctx: JobContext): Promise<JobCounts> => {
      log.push({ job: name, scheduledFor: ctx.scheduledFor.getTime(), ...(typeof extra === 'function' ? extra() : extra) });
      return { ran: 1 };
    },
  };
}

/** A promise and the function that settles it. */
export function gate() {
  let open!: () => void;
  const opened = new Promise<void>((resolve) => (open = resolve));
  return { open, opened };
}

export const runsOf = (t: TestDatabase, job: string) =>
  t.db.selectFrom('job_runs').selectAll().where('job_name', '=', job).orderBy('scheduled_for').orderBy('id').execute();

export async function clearRuns(t: TestDatabase) {
  await sql`delete from job_runs`.execute(t.db);
}
