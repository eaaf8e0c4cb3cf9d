import { configSchema } from '../config.js';
import type { JobSettings } from './types.js';

/**
 * Who this process is and which settings its jobs get, for runs started
 * outside the scheduler (the run-now route). A Node process configures both
 * at start-up (src/jobs/node.ts); on Workers they come from the env bindings.
 * Worker-safe: no Node-only imports.
 */
let configured: { replica?: string; settings?: JobSettings } = {};

export function configureJobs(values: { replica?: string; settings?: JobSettings }): void {
  configured = { ...configured, ...values };
}

/** hostname:pid on Node (once configured), `workers` on Cloudflare Workers. */
export function replicaName(): string {
  if (configured.replica) return configured.replica;
  const nav = (globalThis as { navigator?: { userAgent?: string } }).navigator;
  if (nav?.userAgent === 'Cloudflare-Workers') return 'workers';
  const pid = (globalThis as { process?: { pid?: number } }).process?.pid;
  return pid ? `pid:${pid}` : 'unknown';
}

/** One numeric setting from a string binding; a missing or invalid value gets the default. */
function daysFrom(env: unknown, name: 'USAGE_RETENTION_DAYS' | 'WEBHOOK_RETENTION_DAYS'): number {
  const raw = (env as Record<string, unknown> | undefined)?.[name];
  const parsed = configSchema.shape[name].safeParse(raw === '' ? undefined : raw);
  return parsed.success ? parsed.data : configSchema.shape[name].parse(undefined);
}

/**
 * Settings from string bindings (a Worker's `[vars]`), with the same checks
 * and defaults as src/config.ts. A Worker has no long-running process, so the
 * deliver-webhooks job sends outgoing webhooks.
 */
export function settingsFromEnv(env: unknown): JobSettings {
  return {
    usageRetentionDays: daysFrom(env, 'USAGE_RETENTION_DAYS'),
    webhookRetentionDays: daysFrom(env, 'WEBHOOK_RETENTION_DAYS'),
    outboxDelivery: 'cron',
  };
}

/** The configured settings, else those of the request's env bindings. */
export const jobSettings = (env?: unknown): JobSettings => configured.settings ?? settingsFromEnv(env);
