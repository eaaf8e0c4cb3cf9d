import type { Kysely } from 'kysely';
import type { Config } from '../config.js';
import type { Database } from '../db/schema.js';
import type { Logger } from '../logger.js';
import { configureJobs } from './environment.js';
import { defaultReplica, JobScheduler } from './scheduler.js';
import type { JobDefinition, JobSettings } from './types.js';

/**
 * Starts the scheduler of a Node process over the jobs it is handed (the
 * registry and extras: src/compose/node.ts), unless JOBS_ENABLED=false;
 * either way names the replica and the settings for jobs run through the API.
 */
export function startJobScheduler(
  config: Pick<Config, 'JOBS_ENABLED' | 'JOBS_CLOCK_SKEW_MS'>,
  db: Kysely<Database>,
  logger: Logger,
  parts: { jobs: readonly JobDefinition[]; settings: JobSettings },
): JobScheduler | undefined {
  const replica = defaultReplica();
  configureJobs({ replica, settings: parts.settings });
  if (!config.JOBS_ENABLED) return undefined;
  if (config.JOBS_CLOCK_SKEW_MS !== 0) {
    logger.warn('JOBS_CLOCK_SKEW_MS is set: the job scheduler runs on a shifted clock (a test/diagnostic setting)', {
      skewMs: config.JOBS_CLOCK_SKEW_MS,
    });
  }
  return new JobScheduler({
    db,
    logger,
    jobs: [...parts.jobs],
    replica,
    settings: parts.settings,
    clockSkewMs: config.JOBS_CLOCK_SKEW_MS,
  }).start();
}
