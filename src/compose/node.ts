import type { Kysely } from 'kysely';
import type { Config } from '../config.js';
import type { Database } from '../db/schema.js';
import { jobSettingsFromConfig } from '../jobs/environment.js';
import { startJobScheduler } from '../jobs/node.js';
import type { JobScheduler } from '../jobs/scheduler.js';
import type { JobSettings } from '../jobs/types.js';
import type { Logger } from '../logger.js';
import { notificationDeliveryFromConfig } from '../notifications/mailer.js';
import { deliveryOptionsFromConfig } from '../outbox/node-destinations.js';
import { scheduledJobs } from './jobs.js';

/** The Node-only wiring of the jobs (src/node.ts): settings from the configuration, the registry to the scheduler. */

type SettingsConfig = Pick<
  Config,
  'USAGE_RETENTION_DAYS' | 'WEBHOOK_RETENTION_DAYS' | 'OUTBOX_WORKER_ENABLED' | 'WEBHOOK_ALLOW_PRIVATE_URLS' | 'WEBHOOK_REQUEST_TIMEOUT_MS' | 'WEBHOOK_RETRY_SCHEDULE_MS'
>;

/** The same delivery settings as the worker of src/node.ts: the deliver-webhooks job honours WEBHOOK_* too. */
export const settingsFromConfig = (config: SettingsConfig & Partial<Pick<Config, 'SMTP_URL' | 'SMTP_FROM' | 'WEB_APP_URL'>>): JobSettings =>
  jobSettingsFromConfig(config, {
    ...deliveryOptionsFromConfig(config),
    // Email and links for notifications the deliver-webhooks job sends (OUTBOX_WORKER_ENABLED=false).
    notifications: notificationDeliveryFromConfig({ SMTP_URL: config.SMTP_URL, SMTP_FROM: config.SMTP_FROM ?? 'healthscore <healthscore@localhost>', WEB_APP_URL: config.WEB_APP_URL }),
  });

/** The scheduler of this process over the registry and the extra jobs JOBS_EXTRA names (an unknown name throws first). */
export function startJobs(
  config: Pick<Config, 'JOBS_ENABLED' | 'JOBS_EXTRA' | 'JOBS_CLOCK_SKEW_MS'> & SettingsConfig & Partial<Pick<Config, 'SMTP_URL' | 'SMTP_FROM' | 'WEB_APP_URL'>>,
  db: Kysely<Database>,
  logger: Logger,
): JobScheduler | undefined {
  const jobs = scheduledJobs(config.JOBS_EXTRA);
  return startJobScheduler(config, db, logger, { jobs, settings: settingsFromConfig(config) });
}
