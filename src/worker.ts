import swaggerCss from 'swagger-ui-dist/swagger-ui.css';
import swaggerBundle from 'swagger-ui-dist/swagger-ui-bundle.js';
import uplotCss from 'uplot/dist/uPlot.min.css';
import uplotJs from 'uplot/dist/uPlot.iife.min.js';
import { createApp } from './app.js';
import type { Database } from './db/schema.js';
import { createPostgresDb } from './db/postgres.js';
import { ConfigError, configFromEnv, jobSettingsFromConfig } from './jobs/environment.js';
import type { JobSettings } from './jobs/types.js';
import { dispatchCronTrigger } from './jobs/workers.js';
import { registry } from './compose/jobs.js';
import { createLogger } from './logger.js';
import type { ExecutionContext, ScheduledController } from '@cloudflare/workers-types/latest/index.js';
import type { Kysely } from 'kysely';

/**
 * Cloudflare Workers entry. No PGlite here: Workers always use PostgreSQL,
 * through Hyperdrive (binding HYPERDRIVE) or a DATABASE_URL secret. Migrations
 * are applied from a Node host (`npm run migrate`); /readyz reports drift.
 */
interface WorkerEnv {
  HYPERDRIVE?: { connectionString: string };
  DATABASE_URL?: string;
  /** A streaming replica for lag-tolerant reads: a Hyperdrive binding of its own, or the DATABASE_READ_URL var/secret. */
  HYPERDRIVE_READ?: { connectionString: string };
  LOG_LEVEL?: 'debug' | 'info' | 'warn' | 'error' | 'silent';
}

interface RequestEnv extends WorkerEnv {
  db: Kysely<Database>;
  readDb?: Kysely<Database>;
}

/**
 * Settings are parsed once, from the first invocation's bindings, with the
 * schema of src/config.ts (LOG_LEVEL, BODY_LIMIT_BYTES, WEBHOOK_*…). A bad
 * value fails every invocation with a message naming it; nothing falls back
 * to a default unnoticed.
 */
let runtime: { app: ReturnType<typeof createApp>; logger: ReturnType<typeof createLogger>; settings: JobSettings; readUrl?: string } | undefined;

function runtimeFor(env: WorkerEnv) {
  if (runtime) return runtime;
  const config = configFromEnv(env);
  const logger = createLogger(config.LOG_LEVEL, { service: 'healthscore', runtime: 'workers' });
  const app = createApp({
    database: (requestEnv) => (requestEnv as RequestEnv).db,
    readDatabase: (requestEnv) => (requestEnv as RequestEnv).readDb,
    readMaxLagMs: config.DATABASE_READ_MAX_LAG_MS,
    logger,
    bodyLimitBytes: config.BODY_LIMIT_BYTES,
    requestTimeoutMs: config.REQUEST_TIMEOUT_MS,
    allowPrivateWebhookUrls: config.WEBHOOK_ALLOW_PRIVATE_URLS,
    rateLimitPerMinute: config.RATE_LIMIT_PER_MINUTE,
    docsAssets: async (file) => (file === 'swagger-ui.css' ? swaggerCss : swaggerBundle),
    webAssets: async (file) => (file === 'uPlot.min.css' ? uplotCss : uplotJs),
  });
  // No long-running process: the deliver-webhooks job sends outgoing webhooks, with the WEBHOOK_* settings.
  runtime = { app, logger, settings: { ...jobSettingsFromConfig(config), outboxDelivery: 'cron' }, readUrl: config.DATABASE_READ_URL };
  return runtime;
}

const configurationProblem = (err: ConfigError) => {
  console.error(JSON.stringify({ level: 'error', msg: 'invalid configuration', runtime: 'workers', issues: err.issues }));
  return new Response(
    JSON.stringify({ type: '/problems/unavailable', title: 'Service unavailable', status: 503, code: 'unavailable', detail: err.message, requestId: crypto.randomUUID() }),
    { status: 503, headers: { 'content-type': 'application/problem+json' } },
  );
};

function connectionString(env: WorkerEnv): string {
  const url = env.HYPERDRIVE?.connectionString ?? env.DATABASE_URL;
  if (!url) throw new Error('configure a HYPERDRIVE binding or a DATABASE_URL secret');
  return url;
}

export default {
  async fetch(request: Request, env: WorkerEnv, ctx: ExecutionContext): Promise<Response> {
    let app;
    let readUrl;
    try {
      ({ app, readUrl } = runtimeFor(env));
    } catch (err) {
      if (err instanceof ConfigError) return configurationProblem(err);
      throw err;
    }
    // One client per request: Workers may not share sockets across requests. Clients connect on their first query.
    const { db, close } = createPostgresDb({ url: connectionString(env), max: 1 });
    const replicaUrl = env.HYPERDRIVE_READ?.connectionString ?? readUrl;
    const replica = replicaUrl ? createPostgresDb({ url: replicaUrl, max: 1, connectTimeoutSeconds: 2 }) : undefined;
    try {
      return await app.fetch(request, { ...env, db, readDb: replica?.db } satisfies RequestEnv, ctx);
    } finally {
      ctx.waitUntil(Promise.all([close(), replica?.close()]));
    }
  },

  async scheduled(controller: ScheduledController, env: WorkerEnv, ctx: ExecutionContext): Promise<void> {
    // A bad setting throws here, naming it: the invocation fails visibly in the Worker's logs.
    const { logger, settings } = runtimeFor(env);
    logger.info('cron trigger', { cron: controller.cron, scheduledTime: controller.scheduledTime });
    // The job registry (src/compose/jobs.ts), claimed exactly as on Node: one run per occurrence.
    const { db, close } = createPostgresDb({ url: connectionString(env), max: 1 });
    try {
      // Each job on its own connection, side by side (a trigger fires at most three jobs; Workers allow six connections).
      await dispatchCronTrigger(db, controller, {
        jobs: registry,
        logger,
        settings,
        connect: () => createPostgresDb({ url: connectionString(env), max: 1 }),
      });
    } finally {
      ctx.waitUntil(close());
    }
  },
};
