import { setTimeout as sleep } from 'node:timers/promises';
import { serve } from '@hono/node-server';
import { Hono } from 'hono';
import { createApp } from '../../src/app.js';
import { parseConfig } from '../../src/config.js';
import { openDatabase } from '../../src/db/node.js';
import { createLogger } from '../../src/logger.js';

/** Entry of a child process that serves one bench target: `service` or `bare`. */
async function start(kind: string) {
  if (kind === 'bare') {
    return { fetch: new Hono().get('/x', (c) => c.json({ ok: true })).fetch, close: async () => {} };
  }
  const config = parseConfig({ DATABASE_URL: process.env.BENCH_DATABASE_URL, LOG_LEVEL: 'silent' });
  const logger = createLogger(config.LOG_LEVEL, { service: 'healthscore' });
  const database = await openDatabase(config);
  const app = createApp({ database: () => database.db, logger, bodyLimitBytes: config.BODY_LIMIT_BYTES });
  return { fetch: app.fetch, close: database.close };
}

const kind = process.argv[2] ?? 'service';
const target = await start(kind);
const server = serve({ fetch: target.fetch, port: 0, hostname: '127.0.0.1' }, (info) => process.send?.({ port: info.port }));

/** postgres.js end() can hang after the pool was saturated; see docs/benchmarks.md. */
const CLOSE_LIMIT_MS = 2_000;
let stopping = false;
async function stop() {
  if (stopping) return;
  stopping = true;
  server.close();
  const closed = await Promise.race([target.close().then(() => true), sleep(CLOSE_LIMIT_MS, false)]);
  if (!closed) console.error(`[bench] ${kind} server: the database pool did not close within ${CLOSE_LIMIT_MS} ms; exiting anyway`);
  process.exit(0);
}
process.on('message', (message) => message === 'stop' && void stop());
process.on('disconnect', () => void stop());
process.on('SIGINT', () => void stop());
process.on('SIGTERM', () => void stop());
