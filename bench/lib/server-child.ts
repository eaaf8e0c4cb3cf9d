import { raiseAlerts } from '../../src/alerts/index.js';
import { setTimeout as sleep } from 'node:timers/promises';
import { serve } from '@hono/node-server';
import { Hono } from 'hono';
import { createApp } from '../../src/app.js';
import { parseConfig } from '../../src/config.js';
import { openDatabase } from '../../src/db/node.js';
import { createLogger } from '../../src/logger.js';
import { recomputeDirty } from '../../src/scoring/recompute.js';
import { compactUntil } from '../../src/signals/usage-compaction.js';
import { startOutboxWorker } from '../../src/outbox/worker.js';

/** Entry of a child process that serves one bench target: `service` or `bare`. */
async function start(kind: string) {
  if (kind === 'bare') {
    return { fetch: new Hono().get('/x', (c) => c.json({ ok: true })).fetch, close: async () => {} };
  }
  const config = parseConfig({ DATABASE_URL: process.env.BENCH_DATABASE_URL, LOG_LEVEL: 'silent' });
  const logger = createLogger(config.LOG_LEVEL, { service: 'healthscore' });
  const database = await openDatabase(config);
  const app = createApp({ database: () => database.db, logger, bodyLimitBytes: config.BODY_LIMIT_BYTES });
  const rescoring = Number(process.env.BENCH_RESCORE_EVERY_MS || 0) > 0 ? startRescoring(database.db, Number(process.env.BENCH_RESCORE_EVERY_MS)) : undefined;
  // The outgoing-webhook worker as src/node.ts runs it, when the outbox section asks for it.
  const outboxConcurrency = Number(process.env.BENCH_OUTBOX_CONCURRENCY || 0);
  const outbox = outboxConcurrency > 0 ? startOutboxWorker({ db: database.db, listen: database.listen, logger, concurrency: outboxConcurrency }) : undefined;
  return {
    fetch: app.fetch,
    close: async () => {
      await outbox?.stop();
      await rescoring?.stop();
      await database.close();
    },
  };
}

/**
 * STAND-IN FOR THE RESCORING JOB: a run of recomputeDirty(db) every `everyMs`
 * in the service process (or as soon as the previous one ends if that took
 * longer), as the brief of the latency section specifies. Each run's duration
 * and counts go to the parent over IPC. The real job (src/compose/jobs.ts
 * `rescore-dirty` → src/scoring/jobs.ts rescoreUntil) differs: it loops
 * recomputeDirty without pause while there is work, sleeps 1 s when the queue
 * is empty, and runs until 58 s after its occurrence (the next one takes over).
 * Both fold usage deltas into the rollups in a loop of their own beside the
 * scoring passes (compactUntil), as the job does.
 */
function startRescoring(db: Parameters<typeof recomputeDirty>[0], everyMs: number) {
  let stopped = false;
  const stopCompaction = new AbortController();
  const compaction = compactUntil(db, Number.POSITIVE_INFINITY, { signal: stopCompaction.signal }).catch((err: unknown) => {
    process.send?.({ rescore: { at: Date.now(), ms: 0, error: `compaction: ${String(err)}` } });
  });
  const loop = (async () => {
    let next = performance.now();
    while (!stopped) {
      const started = performance.now();
      try {
        const result = await recomputeDirty(db, undefined, raiseAlerts);
        process.send?.({ rescore: { at: Date.now(), ms: performance.now() - started, claimed: result.claimed, changed: result.changed, timings: result.timings } });
      } catch (err) {
        process.send?.({ rescore: { at: Date.now(), ms: performance.now() - started, error: String(err) } });
      }
      next = Math.max(next + everyMs, performance.now());
      while (!stopped && performance.now() < next) await sleep(Math.min(50, next - performance.now()));
    }
  })();
  return {
    async stop() {
      stopped = true;
      stopCompaction.abort();
      await Promise.all([loop, compaction]);
    },
  };
}

const kind = process.argv[2] ?? 'service';
const target = await start(kind);
const server = serve({ fetch: target.fetch, port: 0, hostname: '127.0.0.1' }, (info) => process.send?.({ port: info.port }));

/** Gives the pool a bounded time to close (see docs/benchmarks.md), then exits anyway. */
const CLOSE_LIMIT_MS = 10_000;
let stopping = false;
async function stop() {
  if (stopping) return;
  stopping = true;
  server.close();
  const closed = await Promise.race([target.close().then(() => true), sleep(CLOSE_LIMIT_MS, false)]);
  if (!closed) console.error(`[bench] ${kind} server: did not close within ${CLOSE_LIMIT_MS} ms; exiting anyway`);
  process.exit(0);
}
process.on('message', (message) => message === 'stop' && void stop());
process.on('disconnect', () => void stop());
process.on('SIGINT', () => void stop());
process.on('SIGTERM', () => void stop());
