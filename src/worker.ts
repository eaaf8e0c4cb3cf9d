import swaggerCss from 'swagger-ui-dist/swagger-ui.css';
import swaggerBundle from 'swagger-ui-dist/swagger-ui-bundle.js';
import uplotCss from 'uplot/dist/uPlot.min.css';
import uplotJs from 'uplot/dist/uPlot.iife.min.js';
import { createApp } from './app.js';
import type { Database } from './db/schema.js';
import { createPostgresDb } from './db/postgres.js';
import { settingsFromEnv } from './jobs/environment.js';
import { dispatchCronTrigger } from './jobs/workers.js';
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
  LOG_LEVEL?: 'debug' | 'info' | 'warn' | 'error' | 'silent';
}

interface RequestEnv extends WorkerEnv {
  db: Kysely<Database>;
}

const logger = createLogger('info', { service: 'healthscore', runtime: 'workers' });

const app = createApp({
  database: (env) => (env as RequestEnv).db,
  logger,
  docsAssets: async (file) => (file === 'swagger-ui.css' ? swaggerCss : swaggerBundle),
  webAssets: async (file) => (file === 'uPlot.min.css' ? uplotCss : uplotJs),
});

function connectionString(env: WorkerEnv): string {
  const url = env.HYPERDRIVE?.connectionString ?? env.DATABASE_URL;
  if (!url) throw new Error('configure a HYPERDRIVE binding or a DATABASE_URL secret');
  return url;
}

export default {
  async fetch(request: Request, env: WorkerEnv, ctx: ExecutionContext): Promise<Response> {
    // One client per request: Workers may not share sockets across requests.
    const { db, close } = createPostgresDb({ url: connectionString(env), max: 1 });
    try {
      return await app.fetch(request, { ...env, db } satisfies RequestEnv, ctx);
    } finally {
      ctx.waitUntil(close());
    }
  },

  async scheduled(controller: ScheduledController, env: WorkerEnv, ctx: ExecutionContext): Promise<void> {
    logger.info('cron trigger', { cron: controller.cron, scheduledTime: controller.scheduledTime });
    // The job registry (jobs/registry.ts), claimed exactly as on Node: one run per occurrence.
    const { db, close } = createPostgresDb({ url: connectionString(env), max: 1 });
    try {
      await dispatchCronTrigger(db, controller, { logger, settings: settingsFromEnv(env) });
    } finally {
      ctx.waitUntil(close());
    }
  },
};
