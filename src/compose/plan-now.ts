import type { Kysely } from 'kysely';
import { registry } from './jobs.js';
import type { Database } from '../db/schema.js';
import { jobSettings, replicaName } from '../jobs/environment.js';
import { claimRun, executeRun } from '../jobs/runner.js';
import type { Logger } from '../logger.js';

/**
 * A planning run now instead of at the next hour (at start-up, after an
 * import): a manual run of the plan-follow-ups job, recorded in the job
 * history like the scheduled ones. Exactly-once holds as it does for them:
 * every follow-up is inserted under its unique (account, playbook, anchor) key
 * and its follow_up.created event in the same transaction. While another run
 * of the job is in progress this does nothing; that run plans the same causes.
 * Aborted by `signal` (shutdown), the run is handed back like a scheduled one.
 */
export async function planFollowUpsNow(db: Kysely<Database>, logger: Logger, signal?: AbortSignal): Promise<{ created: number } | 'busy' | 'failed'> {
  const job = registry.find((j) => j.name === 'plan-follow-ups')!;
  const claim = await claimRun(db, { job: job.name, trigger: 'manual', replica: replicaName() });
  if (claim.status !== 'claimed') return 'busy';
  const run = await executeRun(db, job, claim.run, { logger, settings: jobSettings(process.env), signal });
  if (run.outcome !== 'succeeded') {
    logger.warn('planning follow-ups failed; the hourly run tries again', { runId: run.id, error: run.error });
    return 'failed';
  }
  return { created: run.counts.created ?? 0 };
}
