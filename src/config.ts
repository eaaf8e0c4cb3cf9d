import { z } from 'zod';

const logLevels = ['debug', 'info', 'warn', 'error', 'silent'] as const;

export const configSchema = z.object({
  DATABASE_URL: z
    .string()
    .regex(/^postgres(ql)?:\/\//, 'must be a postgres:// or postgresql:// URL')
    .optional(),
  /** A streaming replica for reads that tolerate a little lag (docs/scaling.md); unset: the primary serves every read. */
  DATABASE_READ_URL: z
    .string()
    .regex(/^postgres(ql)?:\/\//, 'must be a postgres:// or postgresql:// URL')
    .optional(),
  /** Above this replica lag, ms, those reads go to the primary. */
  DATABASE_READ_MAX_LAG_MS: z.coerce.number().int().min(0).max(3_600_000).default(5000),
  DATA_DIR: z.string().min(1).default('./data'),
  PORT: z.coerce.number().int().min(1).max(65535).default(8787),
  HOST: z.string().min(1).default('0.0.0.0'),
  LOG_LEVEL: z.enum(logLevels).default('info'),
  /** Largest request body accepted, in bytes (413 above it). */
  BODY_LIMIT_BYTES: z.coerce.number().int().min(1024).default(10 * 1024 * 1024),
  /** A request still unanswered after this long gets 503 + Retry-After (a connection lost mid-query must not leave a client waiting forever). */
  REQUEST_TIMEOUT_MS: z.coerce.number().int().min(1000).max(3_600_000).default(300_000),
  /** Requests one API key may make per minute (per process); 0 turns the limit off. */
  RATE_LIMIT_PER_MINUTE: z.coerce.number().int().min(0).max(1_000_000).default(1000),
  /** Connections in the postgres.js pool of one process. */
  DATABASE_POOL_MAX: z.coerce.number().int().min(1).max(1000).default(10),

  // Scheduled jobs (docs/jobs.md).
  /** Run the job scheduler (src/compose/jobs.ts) in this process. */
  JOBS_ENABLED: z
    .enum(['true', 'false', '1', '0', 'yes', 'no'], 'must be true or false')
    .transform((v) => v === 'true' || v === '1' || v === 'yes')
    .default(true),
  /** Test/diagnostic jobs to schedule besides the registry, comma-separated (`heartbeat`). */
  JOBS_EXTRA: z
    .string()
    .regex(/^[a-z0-9-]+(,[a-z0-9-]+)*$/, 'must be a comma-separated list of job names')
    .transform((v) => v.split(','))
    .default([]),
  /** Test/diagnostic: milliseconds the scheduler adds to this process's clock (simulates clock skew). */
  JOBS_CLOCK_SKEW_MS: z.coerce.number().int().min(-3_600_000).max(3_600_000).default(0),
  /** Raw usage events older than this many days are deleted daily; the daily rollups are kept. */
  USAGE_RETENTION_DAYS: z.coerce.number().int().min(1).max(36_500).default(400),
  /** Outgoing webhook events (with their deliveries and log) older than this many days are deleted daily, once nothing is pending. */
  WEBHOOK_RETENTION_DAYS: z.coerce.number().int().min(1).max(3_650).default(30),

  // Outgoing webhooks (docs/outbound-webhooks.md).
  /** Run the webhook delivery worker in this process. */
  OUTBOX_WORKER_ENABLED: z
    .enum(['true', 'false', '1', '0', 'yes', 'no'], 'must be true or false')
    .transform((v) => v === 'true' || v === '1' || v === 'yes')
    .default(true),
  /** Webhook requests one process keeps in flight. */
  OUTBOX_CONCURRENCY: z.coerce.number().int().min(1).max(256).default(32),
  /** How often the worker looks for due deliveries (other processes' events, retries), ms. */
  OUTBOX_POLL_INTERVAL_MS: z.coerce.number().int().min(10).max(60_000).default(1000),
  /** How long a claimed delivery stays reserved for its worker, ms. */
  OUTBOX_LEASE_MS: z.coerce.number().int().min(200).max(60_000).default(60_000),
  /** Time allowed for one webhook request, ms (capped at half the lease). */
  WEBHOOK_REQUEST_TIMEOUT_MS: z.coerce.number().int().min(100).max(15_000).default(15_000),
  /** Let subscriptions point to localhost and private networks (off: such URLs are refused, also after DNS resolution). */
  WEBHOOK_ALLOW_PRIVATE_URLS: z
    .enum(['true', 'false', '1', '0', 'yes', 'no'], 'must be true or false')
    .transform((v) => v === 'true' || v === '1' || v === 'yes')
    .default(false),
  /** Delays between attempts, ms, comma-separated; default the Standard Webhooks example schedule. */
  WEBHOOK_RETRY_SCHEDULE_MS: z
    .string()
    .regex(/^\s*\d{1,9}(\s*,\s*\d{1,9}){0,49}\s*$/, 'must be up to 50 comma-separated millisecond delays')
    .transform((v) => v.split(',').map((n) => Number(n.trim())))
    .optional(),

  // Notifications (docs/notifications.md).
  /** SMTP server for email notifications: smtp://user:pass@host:587 or smtps://…:465. Unset: no email is sent. */
  SMTP_URL: z
    .string()
    .regex(/^smtps?:\/\/[^\s]+$/, 'must be an smtp:// or smtps:// URL')
    .optional(),
  /** The sender of email notifications. */
  SMTP_FROM: z.string().min(3).max(320).default('healthscore <healthscore@localhost>'),
  /** Where the web app is, for links in notifications: ${WEB_APP_URL}/accounts/{externalId}. */
  WEB_APP_URL: z
    .string()
    .regex(/^https?:\/\/[^\s]+$/, 'must be an http:// or https:// URL')
    .optional(),
});

export type Config = z.infer<typeof configSchema>;

export class ConfigError extends Error {
  constructor(readonly issues: string[]) {
    super(`invalid configuration:\n${issues.map((i) => `  - ${i}`).join('\n')}`);
    this.name = 'ConfigError';
  }
}

/** Parses settings once, at the edge. Empty strings count as unset. */
export function parseConfig(env: Record<string, string | undefined>): Config {
  const cleaned = Object.fromEntries(
    Object.entries(env).filter(([, value]) => value !== undefined && value !== ''),
  );
  const result = configSchema.safeParse(cleaned);
  if (!result.success) {
    throw new ConfigError(
      result.error.issues.map((issue) => `${issue.path.join('.') || '(root)'}: ${issue.message}`),
    );
  }
  return result.data;
}
