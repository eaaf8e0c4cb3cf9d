import type { Kysely } from 'kysely';
import type { Database } from '../db/schema.js';
import type { Logger } from '../logger.js';
import { type ClaimResult, type JobRun, runOccurrence } from './runner.js';
import type { JobDefinition, JobSettings } from './types.js';

export interface CronTrigger {
  /** `controller.cron`: the expression of the trigger that fired, as written in wrangler.toml. */
  cron: string;
  /** `controller.scheduledTime`: the occurrence, ms since the epoch. */
  scheduledTime: number;
}

export interface DispatchOptions {
  logger: Logger;
  settings: JobSettings;
  /** The jobs the triggers fire: the registry (src/compose/jobs.ts), handed over by the entry. */
  jobs: readonly JobDefinition[];
  replica?: string;
  /**
   * A database connection of its own for each job (the Worker: one client per
   * job), so the jobs of one trigger run side by side: deliver-webhooks does
   * not wait the minute rescore-dirty takes. Without it they share `db`, one
   * after another.
   */
  connect?: () => { db: Kysely<Database>; close: () => Promise<void> };
}

const normalise = (cron: string) => cron.trim().replace(/\s+/g, ' ');

/**
 * A Workers Cron Trigger: runs every job of `options.jobs` (the registry) whose expression is the
 * trigger's, for the occurrence Cloudflare scheduled (Cron Triggers fire on
 * whole minutes, so that is the granularity). The same claim as on Node
 * decides, so Node replicas and Workers may both be scheduling: each
 * occurrence still runs once. Worker-safe.
 */
export async function dispatchCronTrigger(db: Kysely<Database>, trigger: CronTrigger, options: DispatchOptions) {
  const jobs = options.jobs.filter((job) => normalise(job.cron) === normalise(trigger.cron));
  if (jobs.length === 0) options.logger.warn('cron trigger matches no job; check wrangler.toml [triggers] crons', { cron: trigger.cron });
  const scheduledFor = new Date(Math.floor(trigger.scheduledTime / 60_000) * 60_000);
  const run = async (job: JobDefinition, on: Kysely<Database>) => {
    const result = await runOccurrence(on, job, {
      scheduledFor,
      trigger: 'schedule',
      replica: options.replica ?? 'workers',
      logger: options.logger,
      settings: options.settings,
    });
    options.logger.info('cron trigger dispatched', { job: job.name, scheduledFor: scheduledFor.toISOString(), status: result.status });
    return { job: job.name, result };
  };
  if (options.connect && jobs.length > 1) {
    const connect = options.connect;
    return Promise.all(
      jobs.map(async (job) => {
        const own = connect();
        try {
          return await run(job, own.db);
        } finally {
          await own.close();
        }
      }),
    );
  }
  const results: { job: string; result: ClaimResult | { status: 'ran'; run: JobRun } }[] = [];
  // One after another on the one connection.
  for (const job of jobs) results.push(await run(job, db));
  return results;
}
