import { createApp } from './app.js';
import { startJobs } from './compose/node.js';
import { planFollowUpsNow } from './compose/plan-now.js';
import { startLocalAdmin } from './cli/local-admin.js';
import { serveNode } from './http/node-server.js';
import { bootstrapAdminKey } from './auth/repository.js';
import { ConfigError, parseConfig } from './config.js';
import { migrate, openDatabase } from './db/node.js';
import { createPostgresDb } from './db/postgres.js';
import { createLogger, errorFields } from './logger.js';
import { nodeDocsAssets } from './system/node-assets.js';
import { nodeWebAssets } from './web/node-assets.js';
import { deliveryOptionsFromConfig } from './outbox/node-destinations.js';
import { outboxOptionsFromConfig, startOutboxWorker } from './outbox/worker.js';
import { notificationDeliveryFromConfig } from './notifications/mailer.js';

async function main() {
  let config;
  try {
    config = parseConfig(process.env);
  } catch (err) {
    if (err instanceof ConfigError) {
      console.error(`healthscore: ${err.message}`);
      process.exit(1);
    }
    throw err;
  }
  const logger = createLogger(config.LOG_LEVEL, { service: 'healthscore' });
  if (config.DATABASE_READ_URL && !config.DATABASE_URL) {
    console.error('healthscore: invalid configuration:\n  - DATABASE_READ_URL: needs DATABASE_URL (the embedded database has no replica)');
    process.exit(1);
  }
  const database = await openDatabase(config, { owner: 'the service (npm start)' });
  // Lag-tolerant reads (feeds, lists, exports) go to the replica while it keeps up (src/db/read-routing.ts).
  const replica = config.DATABASE_READ_URL
    ? createPostgresDb({ url: config.DATABASE_READ_URL, max: config.DATABASE_POOL_MAX, connectTimeoutSeconds: 2 })
    : undefined;
  const applied = await migrate(database.db);
  logger.info('database ready', { kind: database.kind, migrationsApplied: applied });

  const adminKey = await bootstrapAdminKey(database.db);
  if (adminKey) {
    // Printed once, outside the structured log, which must never carry secrets.
    process.stdout.write(
      `\nFirst start: created an admin API key. It is shown only now; store it safely:\n\n  ${adminKey}\n\n`,
    );
  }

  const app = createApp({
    database: () => database.db,
    readDatabase: () => replica?.db,
    readMaxLagMs: config.DATABASE_READ_MAX_LAG_MS,
    logger,
    bodyLimitBytes: config.BODY_LIMIT_BYTES,
    requestTimeoutMs: config.REQUEST_TIMEOUT_MS,
    allowPrivateWebhookUrls: config.WEBHOOK_ALLOW_PRIVATE_URLS,
    rateLimitPerMinute: config.RATE_LIMIT_PER_MINUTE,
    webAppUrl: config.WEB_APP_URL,
    docsAssets: nodeDocsAssets,
    webAssets: nodeWebAssets,
  });
  const server = serveNode({ fetch: app.fetch, port: config.PORT, hostname: config.HOST }, (info) => {
    logger.info('listening', { url: `http://localhost:${info.port}`, database: database.kind });
  });
  // `npm run cli -- demo` beside this process: the embedded database serves only us (src/cli/local-admin.ts).
  const localAdmin = database.kind === 'embedded' ? await startLocalAdmin({ dataDir: config.DATA_DIR, db: database.db, logger }) : undefined;
  // Scheduled jobs (src/compose/jobs.ts): each occurrence runs once across replicas.
  const jobs = startJobs(config, database.db, logger);
  // Follow-ups for what happened while no process ran, now rather than at the next hour's planning.
  const startupPlanning = new AbortController();
  const planned = jobs ? planFollowUpsNow(database.db, logger, startupPlanning.signal).catch((err) => logger.warn('planning follow-ups at start-up failed', errorFields(err))) : undefined;
  // Outgoing webhooks: sends what the outbox holds, in this process, until SIGTERM.
  const outbox = config.OUTBOX_WORKER_ENABLED
    ? startOutboxWorker({
        db: database.db,
        listen: database.listen,
        logger,
        ...outboxOptionsFromConfig(config),
        ...deliveryOptionsFromConfig(config),
        notifications: notificationDeliveryFromConfig(config),
      })
    : undefined;

  let stopping = false;
  const stop = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    logger.info('stopping', { signal });
    const started = performance.now();
    // Stopped within 2 s whatever happens: job runs cut short are handed back, and
    // deliveries still in flight keep their leases and are sent again after them.
    setTimeout(() => {
      logger.warn('shutdown took too long; exiting anyway');
      process.exit(0);
    }, 1_900).unref();
    server.close();
    server.closeIdleConnections();
    const grace = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms).unref());
    startupPlanning.abort();
    await Promise.allSettled([jobs?.stop(1_000), Promise.race([outbox?.stop(), grace(1_000)]), localAdmin?.close(), Promise.race([planned, grace(1_000)])]);
    await Promise.race([Promise.all([database.close(), replica?.close()]), grace(500)]);
    logger.info('stopped', { signal, ms: Math.round(performance.now() - started) });
    process.exit(0);
  };
  process.on('SIGTERM', () => void stop('SIGTERM'));
  process.on('SIGINT', () => void stop('SIGINT'));
}

main().catch((err) => {
  console.error(JSON.stringify({ level: 'error', msg: 'start-up failed', ...errorFields(err) }));
  process.exit(1);
});
