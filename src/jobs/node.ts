import type { Kysely } from 'kysely';
import { extraJobs, registry } from '../../jobs/registry.js';
import type { Config } from '../config.js';
import type { Database } from '../db/schema.js';
import type { Logger } from '../logger.js';
import { deliveryOptionsFromConfig } from '../webhooks/outbound/node-destinations.js';
import { notificationDeliveryFromConfig } from '../notifications/mailer.js';
import { configureJobs, jobSettingsFromConfig } from './environment.js';
import { defaultReplica, JobScheduler } from './scheduler.js';
import type { JobDefinition, JobSettings } from './types.js';

type SettingsConfig = Pick<
  Config,
  'USAGE_RETENTION_DAYS' | 'WEBHOOK_RETENTION_DAYS' | 'AUDIT_RETENTION_DAYS' | 'OUTBOX_WORKER_ENABLED' | 'WEBHOOK_ALLOW_PRIVATE_URLS' | 'WEBHOOK_REQUEST_TIMEOUT_MS' | 'WEBHOOK_RETRY_SCHEDULE_MS'
>;

/** The same delivery settings as the worker of src/node.ts: the deliver-webhooks job honours WEBHOOK_* too. */
export const settingsFromConfig = (config: SettingsConfig & Partial<Pick<Config, 'SMTP_URL' | 'SMTP_FROM' | 'WEB_APP_URL'>>): JobSettings =>
  jobSettingsFromConfig(config, {
    ...deliveryOptionsFromConfig(config),
    // Email and links for notifications the deliver-webhooks job sends (OUTBOX_WORKER_ENABLED=false).
    notifications: notificationDeliveryFromConfig({ SMTP_URL: config.SMTP_URL, SMTP_FROM: config.SMTP_FROM ?? 'healthscore <healthscore@localhost>', WEB_APP_URL: config.WEB_APP_URL }),
  });

/** The registry plus the extra (test/diagnostic) jobs JOBS_EXTRA names; an unknown name is an error. */
export function scheduledJobs(extra: readonly string[]): JobDefinition[] {
  const unknown = extra.filter((name) => !Object.hasOwn(extraJobs, name));
  if (unknown.length > 0) {
    throw new Error(`JOBS_EXTRA: unknown job(s) ${unknown.join(', ')}; known: ${Object.keys(extraJobs).join(', ')}`);
  }
  return [...registry, ...extra.map((name) => extraJobs[name]!)];
}

/**
 * Starts the scheduler of a Node process (src/node.ts), unless
 * JOBS_ENABLED=false; either way names the replica and the settings for jobs
 * run through the API.
 */
export function startJobScheduler(
  config: Pick<Config, 'JOBS_ENABLED' | 'JOBS_EXTRA' | 'JOBS_CLOCK_SKEW_MS'> & SettingsConfig,
  db: Kysely<Database>,
  logger: Logger,
): JobScheduler | undefined {
  const jobs = scheduledJobs(config.JOBS_EXTRA);
  const replica = defaultReplica();
  configureJobs({ replica, settings: settingsFromConfig(config) });
  if (!config.JOBS_ENABLED) return undefined;
  if (config.JOBS_CLOCK_SKEW_MS !== 0) {
    logger.warn('JOBS_CLOCK_SKEW_MS is set: the job scheduler runs on a shifted clock (a test/diagnostic setting)', {
      skewMs: config.JOBS_CLOCK_SKEW_MS,
    });
  }
  return new JobScheduler({
    db,
    logger,
    jobs,
    replica,
    settings: settingsFromConfig(config),
    clockSkewMs: config.JOBS_CLOCK_SKEW_MS,
  }).start();
}
