import { sql } from 'kysely';
import { pruneExpiredKeys } from '../idempotency/repository.js';
import { pruneInboundWebhookMessages } from '../webhooks/inbound/prune.js';
import { dropExpiredUsagePartitions, maintainUsagePartitions } from '../signals/usage-partitions.js';
import { raiseAlerts, sweepAlerts } from '../alerts/index.js';
import { drainOutbox, pruneOutbox } from '../outbox/index.js';
import { escalateOverdue, markDueFollowUps, planFollowUps } from '../follow-ups/index.js';
import { RESCORE_WINDOW_MS, rescoreUntil } from '../scoring/jobs.js';
import { sendDigests } from '../notifications/digest.js';
import { recomputeAll } from '../scoring/recompute.js';
import { backfillMarked } from '../scoring/backfill.js';
import type { JobCounts, JobDefinition } from '../jobs/types.js';

/**
 * The scheduled jobs: adding one is adding an entry here (and its cron to
 * `[triggers] crons` in wrangler.toml; tests/jobs/registry.happy.test.ts fails
 * until both agree). Cron expressions are UTC, five fields, and restrict the
 * day of month or the day of week, not both. Each occurrence runs once across
 * all replicas; see docs/jobs.md.
 */
export const registry: readonly JobDefinition[] = [
  {
    name: 'rescore-dirty',
    cron: '* * * * *',
    description: 'Incremental rescoring: recomputes accounts whose signals changed, within about a second, until the next minute’s run.',
    handler: async ({ db, scheduledFor, signal }) => rescoreUntil(db, new Date(scheduledFor.getTime() + RESCORE_WINDOW_MS), { signal, after: raiseAlerts }),
  },
  {
    name: 'recompute-all',
    cron: '7 2 * * *',
    description: 'Nightly full recompute and snapshot of every account; refreshes the segment percentiles.',
    handler: async ({ db }) => {
      const result = await recomputeAll(db, undefined, raiseAlerts);
      return { accounts: result.accounts, changed: result.changed, bandChanges: result.bandChanges.length };
    },
  },
  {
    name: 'backfill-history',
    cron: '* * * * *',
    description:
      'Backfills the score history (daily for 90 days, weekly to a year) of accounts whose signals arrived back-dated, once no such signal has arrived for a minute; writes snapshots only, never alerts or events (docs/scoring.md).',
    handler: async ({ db, signal }) => ({ ...(await backfillMarked(db, { signal })) }),
  },
  {
    name: 'sweep-churn-alerts',
    cron: '*/15 * * * *',
    description: 'Re-evaluates churn-risk rules for every account (time-based conditions, cleared alerts, reassignment).',
    handler: async ({ db }) => sweepAlerts(db),
  },
  {
    name: 'plan-follow-ups',
    cron: '5 * * * *',
    description: 'Runs the follow-up playbooks; each creates at most one follow-up per account and anchor.',
    handler: async ({ db }) => ({ ...(await planFollowUps(db)) }),
  },
  {
    name: 'follow-ups-due',
    cron: '* * * * *',
    description: 'Emits follow_up.due once for each follow-up whose due time has come.',
    handler: async ({ db }) => ({ ...(await markDueFollowUps(db)) }),
  },
  {
    name: 'escalate-overdue-follow-ups',
    cron: '*/30 * * * *',
    description: 'Escalates follow-ups overdue by 2 business days to the manager; marks long-overdue ones missed.',
    handler: async ({ db }) => ({ ...(await escalateOverdue(db)) }),
  },
  {
    name: 'deliver-webhooks',
    cron: '* * * * *',
    description:
      'Sends due outgoing webhooks for most of a minute where no process runs a delivery worker (Workers, OUTBOX_WORKER_ENABLED=false); elsewhere the worker sends them continuously.',
    handler: async ({ db, logger, settings }): Promise<JobCounts> => {
      if (settings.outboxDelivery === 'continuous') return { attempts: 0, continuous: 1 };
      // Ends before the next occurrence (a request may take 15 s; the next run starts in 60).
      // Five at a time: a Worker invocation may hold six connections, one is the database.
      return { attempts: await drainOutbox({ db, logger, concurrency: 5, maxDurationMs: 50_000, ...settings.delivery }) };
    },
  },
  {
    name: 'notification-digests',
    cron: '*/15 * * * *',
    description:
      'Sends each team member’s daily digest once their local digest time (08:00 by default) has come on a digest day; once per person and local date (docs/notifications.md).',
    handler: async ({ db }) => ({ ...(await sendDigests(db)) }),
  },
  {
    name: 'prune-idempotency-keys',
    cron: '17 * * * *',
    description: 'Deletes stored Idempotency-Key responses past their 24 h expiry.',
    handler: async ({ db }) => ({ deleted: await pruneExpiredKeys(db) }),
  },
  {
    name: 'maintain-usage-partitions',
    cron: '11 * * * *',
    description:
      'Creates the monthly partitions of usage_events, usage_daily and usage_daily_users for this month and the next three, and moves rows that landed in a default partition (back-dated events, imports) into their month’s partition; refreshes the partitioned tables’ statistics daily.',
    handler: async ({ db, scheduledFor }) => ({ ...(await maintainUsagePartitions(db, scheduledFor)) }),
  },
  {
    name: 'prune-usage-events',
    cron: '23 3 * * *',
    description:
      'Drops the monthly partitions of raw usage events whose whole month is older than USAGE_RETENTION_DAYS (default 400) and that hold no event received within that window; the daily rollups are kept.',
    handler: async ({ db, scheduledFor, settings }) => ({
      ...(await dropExpiredUsagePartitions(db, scheduledFor, settings.usageRetentionDays)),
      retentionDays: settings.usageRetentionDays,
    }),
  },
  {
    name: 'prune-inbound-webhook-messages',
    cron: '41 3 * * *',
    description: 'Deletes webhook-id records of inbound webhooks older than 7 days (their redelivery window).',
    handler: async ({ db }) => ({ deleted: await pruneInboundWebhookMessages(db, 7) }),
  },
  {
    name: 'prune-webhook-outbox',
    cron: '53 3 * * *',
    description:
      'Deletes outgoing webhook events older than WEBHOOK_RETENTION_DAYS (default 30) with their deliveries and log, once none is pending.',
    handler: async ({ db, settings }) => ({
      deleted: await pruneOutbox(db, { retentionDays: settings.webhookRetentionDays }),
      retentionDays: settings.webhookRetentionDays,
    }),
  },
];

/**
 * Test and diagnostic jobs, never in the registry (so never a Cron Trigger):
 * a process schedules them only when JOBS_EXTRA names them.
 */
export const extraJobs: Readonly<Record<string, JobDefinition>> = {
  heartbeat: {
    name: 'heartbeat',
    cron: '* * * * * *',
    description: 'Every second: reads the database clock and logs one line. For exactly-once tests and diagnostics.',
    handler: async ({ db, logger, scheduledFor }) => {
      const { rows } = await sql<{ now: Date }>`select now() as now`.execute(db);
      logger.info('heartbeat', { scheduledFor: scheduledFor.toISOString(), databaseNow: rows[0]!.now.toISOString() });
      return { beats: 1 };
    },
  },
  'notification-digests-every-second': {
    name: 'notification-digests-every-second',
    cron: '* * * * * *',
    description: 'The notification-digests job every second: for exactly-once tests across replicas.',
    handler: async ({ db }) => ({ ...(await sendDigests(db)) }),
  },
};

/** The registry plus the extra (test/diagnostic) jobs JOBS_EXTRA names; an unknown name is an error. */
export function scheduledJobs(extra: readonly string[]): JobDefinition[] {
  const unknown = extra.filter((name) => !Object.hasOwn(extraJobs, name));
  if (unknown.length > 0) {
    throw new Error(`JOBS_EXTRA: unknown job(s) ${unknown.join(', ')}; known: ${Object.keys(extraJobs).join(', ')}`);
  }
  return [...registry, ...extra.map((name) => extraJobs[name]!)];
}
