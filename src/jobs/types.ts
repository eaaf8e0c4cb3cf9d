import type { Kysely } from 'kysely';
import type { Database } from '../db/schema.js';
import type { Logger } from '../logger.js';
import type { DestinationCheck } from '../outbox/destinations.js';
import type { NotificationDelivery } from '../notifications/send.js';

/** How the deliver-webhooks job sends: the same settings the delivery worker gets (WEBHOOK_* in config.ts). */
export interface DeliverySettings {
  requestTimeoutMs?: number;
  retryScheduleMs?: readonly number[];
  /** Node: a fetch that connects only to checked addresses (node-destinations.ts). */
  fetch?: typeof fetch;
  /** Refuses private destinations before the request (Node, unless allowed). */
  checkDestination?: DestinationCheck;
  /** Notifications (src/notifications): links to the web app, and the mailer for email (Node). */
  notifications?: NotificationDelivery;
}

/** Settings a job may read; parsed once at the edge (src/config.ts, or the Worker's env). */
export interface JobSettings {
  /** Raw usage events older than this many days are pruned. */
  usageRetentionDays: number;
  /** Outgoing webhook events older than this many days are pruned once nothing is pending. */
  webhookRetentionDays: number;
  /**
   * Who sends outgoing webhooks: `continuous`, a delivery worker in this
   * process (Node); `cron`, the deliver-webhooks job (Workers, or a Node
   * process with OUTBOX_WORKER_ENABLED=false).
   */
  outboxDelivery: 'continuous' | 'cron';
  /** For deliveries the job sends: timeout, retry schedule, destination checks. */
  delivery: DeliverySettings;
}

export interface JobContext {
  db: Kysely<Database>;
  logger: Logger;
  /**
   * The occurrence this run is for: a time the cron expression names (UTC),
   * not the clock of the replica that runs it. Manual runs: the request time.
   */
  scheduledFor: Date;
  settings: JobSettings;
  /**
   * Aborted when the process shuts down: a long handler stops at a safe point
   * and returns; its occurrence is then handed back for the next process.
   */
  signal?: AbortSignal;
}

/** What a run did, recorded on its row: `{ deleted: 120 }`. */
export type JobCounts = Record<string, number>;

export interface JobDefinition {
  /** Lower-case letters, digits and dashes; the key of its runs. */
  name: string;
  /**
   * When it runs, in UTC. Five fields (minute to day of week) for jobs in the
   * registry, because Cloudflare Cron Triggers have no seconds field.
   */
  cron: string;
  description: string;
  handler: (ctx: JobContext) => Promise<JobCounts>;
}

export const JOB_NAME_PATTERN = /^[a-z0-9][a-z0-9-]{0,62}$/;
