import { type Config, ConfigError, parseConfig } from '../config.js';
import type { DeliverySettings, JobSettings } from './types.js';

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

/** Job settings from the parsed configuration; `delivery` adds what only Node has (a pinned fetch, DNS checks). */
export function jobSettingsFromConfig(
  config: Pick<Config, 'USAGE_RETENTION_DAYS' | 'WEBHOOK_RETENTION_DAYS' | 'AUDIT_RETENTION_DAYS' | 'OUTBOX_WORKER_ENABLED' | 'WEBHOOK_REQUEST_TIMEOUT_MS' | 'WEBHOOK_RETRY_SCHEDULE_MS'>,
  delivery: DeliverySettings = {},
): JobSettings {
  return {
    usageRetentionDays: config.USAGE_RETENTION_DAYS,
    webhookRetentionDays: config.WEBHOOK_RETENTION_DAYS,
    auditRetentionDays: config.AUDIT_RETENTION_DAYS,
    outboxDelivery: config.OUTBOX_WORKER_ENABLED ? 'continuous' : 'cron',
    delivery: {
      requestTimeoutMs: config.WEBHOOK_REQUEST_TIMEOUT_MS,
      ...(config.WEBHOOK_RETRY_SCHEDULE_MS ? { retryScheduleMs: config.WEBHOOK_RETRY_SCHEDULE_MS } : {}),
      ...delivery,
    },
  };
}

/** The string bindings of a Worker's env (`[vars]` and secrets); objects such as HYPERDRIVE are left out. */
export const stringBindings = (env: unknown): Record<string, string> =>
  Object.fromEntries(Object.entries((env ?? {}) as Record<string, unknown>).filter((e): e is [string, string] => typeof e[1] === 'string'));

const parsedEnvs = new WeakMap<object, Config>();

/**
 * A Worker's configuration: its string bindings parsed once per env object
 * with the same schema as src/config.ts. A bad value throws ConfigError (it
 * names the setting) instead of falling back to a default unnoticed.
 */
export function configFromEnv(env: unknown): Config {
  const key = (env ?? {}) as object;
  let config = parsedEnvs.get(key);
  if (!config) {
    config = parseConfig(stringBindings(env));
    parsedEnvs.set(key, config);
  }
  return config;
}

/**
 * Job settings on Workers. A Worker has no long-running process, so the
 * deliver-webhooks job sends outgoing webhooks.
 */
export function settingsFromEnv(env: unknown): JobSettings {
  return { ...jobSettingsFromConfig(configFromEnv(env)), outboxDelivery: 'cron' };
}

export { ConfigError };

/** The configured settings, else those of the request's env bindings. */
export const jobSettings = (env?: unknown): JobSettings => configured.settings ?? settingsFromEnv(env);
