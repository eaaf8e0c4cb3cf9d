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

/** Settings from string bindings (a Worker's `[vars]`), with the same checks and defaults as src/config.ts. */
export function settingsFromEnv(env: unknown): JobSettings {
  const raw = (env as Record<string, unknown> | undefined)?.USAGE_RETENTION_DAYS;
  const days = configSchema.shape.USAGE_RETENTION_DAYS.safeParse(raw === '' ? undefined : raw);
  return { usageRetentionDays: days.success ? days.data : configSchema.shape.USAGE_RETENTION_DAYS.parse(undefined) };
}

/** The configured settings, else those of the request's env bindings. */
export const jobSettings = (env?: unknown): JobSettings => configured.settings ?? settingsFromEnv(env);
