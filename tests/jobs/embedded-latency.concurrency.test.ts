import { request } from 'node:http';
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { registry } from '../../src/compose/jobs.js';
import { generateDemo } from '../../src/demo/generate.js';
import { createLogger } from '../../src/logger.js';
import { onServer } from '../support/db.js';
import { startTestServer, type TestServer } from '../support/server.js';

/**
 * #24 item 7: on the embedded database one PGlite session serves requests and
 * jobs alike, so a job that holds it holds every request up. After a
 * demo-sized load (HS_LATENCY_ACCOUNTS accounts of demo data, default 120),
 * each scheduled job runs while a client reads the API one request after
 * another; no request may wait more than 1 s. The figures are printed.
 */
// Not met yet for every job (rescore-dirty, recompute-all, plan-follow-ups and maintain-usage-partitions
// hold the session longer, see docs/scaling.md), and minutes long: run on demand.
const skipReason = onServer() ? 'the embedded database only' : process.env.HS_EMBEDDED_LATENCY !== '1' ? 'set HS_EMBEDDED_LATENCY=1 to run it' : undefined;
if (skipReason) console.log(`embedded-latency.concurrency.test.ts skipped: ${skipReason}`);
const ACCOUNTS = Number(process.env.HS_LATENCY_ACCOUNTS ?? 120);
const LIMIT_MS = 1_000;
// Sends to generated URLs, or runs for most of a minute by design: rescore-dirty is run for a few seconds below.
const SKIPPED = new Set(['deliver-webhooks']);

let s: TestServer;
beforeAll(async () => {
  if (skipReason) return;
  s = await startTestServer();
  await generateDemo(s.db, { accounts: ACCOUNTS, seed: 3 });
}, 900_000);
afterAll(() => s?.close());

/** One request on a connection of its own (a kept-alive one can close under a busy event loop and fail the next request before it is sent). */
const get = (path: string) =>
  new Promise<number>((resolve, reject) => {
    const { hostname, port } = new URL(s.url);
    const req = request({ hostname, port, path, agent: false, headers: { authorization: `Bearer ${s.adminKey}` } }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode!));
    });
    req.on('error', reject);
    req.end();
  });

describe.skipIf(skipReason !== undefined)('requests on the embedded database while jobs run', () => {
  it(`every request is answered within ${LIMIT_MS} ms while each job runs`, async () => {
    const report: string[] = [];
    const slow: string[] = [];
    for (const job of registry) {
      if (SKIPPED.has(job.name)) continue;
      // Work for the incremental rescoring: every account queued, as after a large import.
      if (job.name === 'rescore-dirty') await sql`insert into rescore_queue (account_id) select id from accounts on conflict do nothing`.execute(s.db).catch(() => undefined);
      const latencies: number[] = [];
      let done = false;
      const client = (async () => {
        for (let n = 0; !done; n++) {
          const started = performance.now();
          await get(n % 2 ? '/v1/accounts?limit=5' : '/readyz');
          latencies.push(performance.now() - started);
        }
      })();
      const started = performance.now();
      // rescore-dirty drains until nearly the next minute; here it runs for about 5 s of that window.
      const scheduledFor = job.name === 'rescore-dirty' ? new Date(Date.now() - 53_000) : new Date();
      await job.handler({ db: s.db, logger: createLogger('silent'), scheduledFor, settings: { usageRetentionDays: 400, webhookRetentionDays: 30, outboxDelivery: 'continuous', delivery: {} } });
      const jobMs = performance.now() - started;
      done = true;
      await client;
      const worst = Math.max(...latencies);
      report.push(`${job.name}: ran ${Math.round(jobMs)} ms, ${latencies.length} requests, slowest ${Math.round(worst)} ms`);
      console.log(report.at(-1));
      if (worst > LIMIT_MS) slow.push(`${job.name}: a request waited ${Math.round(worst)} ms`);
    }
    console.log(`embedded latency with ${ACCOUNTS} demo accounts:\n  ${report.join('\n  ')}`);
    expect(slow).toEqual([]);
  }, 900_000);
});
