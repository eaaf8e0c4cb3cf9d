import os from 'node:os';
import { setTimeout as sleep } from 'node:timers/promises';
import { sql } from 'kysely';
import { createApiKey } from '../../src/auth/repository.js';
import { configSchema } from '../../src/config.js';
import { inTransaction } from '../../src/db/transaction.js';
import { createSubscription, enqueueEvents, updateSubscription } from '../../src/webhooks/outbound/repository.js';
import { percentile, type PostResult, postAll } from '../lib/http.js';
import { seededRandom } from '../lib/random.js';
import { fmt, round, SCALE, scaled } from '../lib/scale.js';
import { type RunningServer, startReceiver, startServer } from '../lib/server.js';
import type { BenchContext, Cell, Section } from '../lib/types.js';
import { describeLockWaits, sampleLockWaits, serviceDatabaseUrl } from '../lib/waits.js';

/**
 * Issue 13, "Replicas of the service": usage ingest and outbox delivery
 * throughput with 1, 2 and 4 service processes on one database, each beside
 * the 1-process figure. The processes share nothing but PostgreSQL.
 */

const PROCESSES = [1, 2, 4];
const ACCOUNTS = 1_000;
const BATCH = 1_000;
/** Closed-loop clients in all, spread evenly over the processes, so only the number of processes changes. */
const CLIENTS = 8;
const EVENTS = scaled(200_000, BATCH * CLIENTS);
const DELIVERIES = scaled(10_000, 1_000);
const OUTBOX_CONCURRENCY = configSchema.shape.OUTBOX_CONCURRENCY.parse(undefined);
const METRICS = ['report.exported', 'dashboard.viewed', 'alert.created', 'query.run'];

const externalId = (n: number) => `rep-${String(n).padStart(4, '0')}`;

/** Batches of new usage events (event ids unique per run), uniform over the accounts and the last 30 days. */
function usageBodies(run: string, count: number, seed: number): Buffer[] {
  const random = seededRandom(seed);
  const nowMs = Date.now() - 60_000;
  const bodies: Buffer[] = [];
  for (let start = 0; start < count; start += BATCH) {
    const items = Array.from({ length: BATCH }, (_, k) => ({
      eventId: `${run}-${start + k}`,
      account: externalId(1 + Math.floor(random() * ACCOUNTS)),
      occurredAt: new Date(nowMs - Math.floor(random() * 30 * 86_400_000)).toISOString(),
      metric: METRICS[Math.floor(random() * METRICS.length)],
      quantity: 1 + Math.floor(random() * 10),
      userId: `user-${Math.floor(random() * 40)}`,
    }));
    bodies.push(Buffer.from(JSON.stringify({ items })));
  }
  return bodies;
}

/** Empties the usage tables (whatever the migrations made: rollups, deltas, partitions) and the rescore queue. */
async function resetUsage(ctx: BenchContext) {
  const { rows } = await sql<{ name: string }>`
    select c.relname as name from pg_class c join pg_namespace n on n.oid = c.relnamespace
     where n.nspname = current_schema() and c.relkind in ('r', 'p') and (c.relname like 'usage\\_%' or c.relname = 'rescore_queue')`.execute(ctx.db);
  await sql.raw(`truncate ${rows.map((r) => `"${r.name}"`).join(', ')}`).execute(ctx.db);
}

async function startServices(ctx: BenchContext, count: number, env: Record<string, string> = {}) {
  return Promise.all(Array.from({ length: count }, () => startServer('service', { BENCH_DATABASE_URL: serviceDatabaseUrl(ctx.databaseUrl), ...env })));
}

const stopAll = (services: RunningServer[]) => Promise.all(services.map((s) => s.stop()));

/** The bodies dealt round-robin to the processes, each posted by its share of the clients; the clock spans all of them. */
async function ingestWith(ctx: BenchContext, services: RunningServer[], bodies: Buffer[], key: string) {
  const headers = { authorization: `Bearer ${key}` };
  const perProcess = CLIENTS / services.length;
  const sampler = sampleLockWaits(ctx.db);
  const started = performance.now();
  const runs = await Promise.all(
    services.map((s, i) => postAll(`${s.url}/v1/usage/batch`, headers, bodies.filter((_, b) => b % services.length === i), perProcess)),
  );
  const seconds = (performance.now() - started) / 1000;
  const waits = await sampler.stop();
  return { seconds, runs, waits };
}

const created = (runs: PostResult[]) => runs.reduce((t, r) => t + (r.summary.created ?? 0), 0);
const failures = (runs: PostResult[]) => runs.reduce((t, r) => t + r.failures, 0);
const latencies = (runs: PostResult[]) => runs.flatMap((r) => r.latencies).sort((a, b) => a - b);

async function pending(ctx: BenchContext, subscriptionId: number) {
  const { rows } = await sql<{ pending: number; succeeded: number }>`
    select count(*) filter (where status = 'pending')::int as pending, count(*) filter (where status = 'succeeded')::int as succeeded
      from webhook_deliveries where subscription_id = ${subscriptionId}`.execute(ctx.db);
  return rows[0]!;
}

/** DELIVERIES events enqueued for a paused subscription, then released and timed until none is pending. */
async function deliverWith(ctx: BenchContext, receiverUrl: string, processes: number) {
  const { subscription } = await createSubscription(ctx.db, { url: `${receiverUrl}/replicas-${processes}`, eventTypes: ['health.band_changed'] });
  await inTransaction(ctx.db, async (trx) => {
    const payload = (i: number) => ({ account: { externalId: `rep-${i}`, name: `Replica customer ${i}` }, score: 38.5, band: 'red', previousBand: 'yellow' });
    await enqueueEvents(trx, Array.from({ length: DELIVERIES }, (_, i) => ({ type: 'health.band_changed' as const, accountId: i, payload: payload(i) })));
    await updateSubscription(trx, subscription.id, { active: false });
  });
  const started = performance.now();
  await updateSubscription(ctx.db, subscription.id, { active: true });
  let counts = await pending(ctx, subscription.id);
  while (counts.pending > 0) {
    await sleep(20);
    counts = await pending(ctx, subscription.id);
  }
  const seconds = (performance.now() - started) / 1000;
  await ctx.db.deleteFrom('webhook_subscriptions').where('id', '=', subscription.id).execute();
  return { seconds, succeeded: counts.succeeded };
}

export const replicas: Section = {
  name: 'replicas',
  async run(ctx) {
    await sql`
      insert into accounts (external_id, name, segment)
      select 'rep-' || lpad(n::text, 4, '0'), 'Replica customer ' || n, (array['smb', 'mid-market', 'enterprise'])[1 + n % 3]
        from generate_series(1, ${ACCOUNTS}) n
      on conflict (external_id) do nothing`.execute(ctx.db);
    const { key } = await createApiKey(ctx.db, 'bench replicas', ['ingest']);

    const ingestRows: Cell[][] = [];
    const ingestNotes: string[] = [];
    let ingestOne = 0;
    for (const n of PROCESSES) {
      await resetUsage(ctx);
      const services = await startServices(ctx, n);
      try {
        await ingestWith(ctx, services, usageBodies(`warm${n}`, BATCH * CLIENTS, 10 + n), key); // warm-up: every process and client once
        await resetUsage(ctx);
        ctx.log(`ingest: ${fmt(EVENTS)} events through ${n} process(es), ${CLIENTS} clients`);
        const result = await ingestWith(ctx, services, usageBodies(`run${n}`, EVENTS, n), key);
        if (created(result.runs) !== EVENTS) throw new Error(`${n} process(es) created ${created(result.runs)} of ${EVENTS} events`);
        const rate = EVENTS / result.seconds;
        if (n === 1) ingestOne = rate;
        const all = latencies(result.runs);
        ingestRows.push([`${n} process${n > 1 ? 'es' : ''}`, fmt(EVENTS), round(result.seconds, 2), fmt(rate), round(rate / ingestOne, 2), round(percentile(all, 0.5), 1), round(percentile(all, 0.99), 1), failures(result.runs)]);
        ingestNotes.push(`${n}: ${describeLockWaits(result.waits)}`);
      } finally {
        await stopAll(services);
      }
    }

    // Earlier sections may leave subscriptions with pending deliveries (follow-ups writes 76,000): the workers
    // measured here would work through those too. Only this section's own subscription is active below.
    await sql`update webhook_subscriptions set active = false`.execute(ctx.db);
    await sql`truncate webhook_delivery_attempts, webhook_deliveries cascade`.execute(ctx.db);
    const outboxRows: Cell[][] = [];
    let outboxOne = 0;
    const receiver = await startReceiver();
    try {
      for (const n of PROCESSES) {
        const services = await startServices(ctx, n, { BENCH_OUTBOX_CONCURRENCY: String(OUTBOX_CONCURRENCY) });
        try {
          ctx.log(`outbox: ${fmt(DELIVERIES)} deliveries by ${n} process(es), ${OUTBOX_CONCURRENCY} in flight each`);
          const result = await deliverWith(ctx, receiver.url, n);
          if (result.succeeded !== DELIVERIES) throw new Error(`${n} process(es) delivered ${result.succeeded} of ${DELIVERIES}`);
          const rate = DELIVERIES / result.seconds;
          if (n === 1) outboxOne = rate;
          outboxRows.push([`${n} process${n > 1 ? 'es' : ''}`, fmt(DELIVERIES), n * OUTBOX_CONCURRENCY, round(result.seconds, 2), fmt(rate), round(rate / outboxOne, 2)]);
        } finally {
          await stopAll(services);
        }
      }
    } finally {
      await receiver.stop();
    }

    return {
      tables: [
        {
          title: `Usage ingest with several service processes: ${fmt(EVENTS)} new events, batches of ${fmt(BATCH)}, ${CLIENTS} clients in all`,
          columns: ['service', 'events', 'seconds', 'events/s', '× 1 process', 'p50 batch ms', 'p99 batch ms', 'failed requests'],
          rows: ingestRows,
        },
        {
          title: `Outbox delivery with several service processes: ${fmt(DELIVERIES)} deliveries to a local receiver`,
          columns: ['service', 'deliveries', 'in flight in all', 'seconds', 'deliveries/s', '× 1 process'],
          rows: outboxRows,
        },
      ],
      notes: [
        `BENCH_SCALE=${SCALE}. Each process is a service child (bench/lib/server-child.ts: createApp over its own pool of 10, as src/node.ts runs it) on the one bench database; the processes share nothing else. Nothing on this machine is spread over several machines: every process, the clients, the receiver and PostgreSQL share its ${os.cpus().length} CPUs, so the ratios say how much the service gains from more processes where the CPU is not already the limit, and how much contention the database adds.`,
        `Ingest: ${ACCOUNTS} accounts; events uniform over them and the last 30 days, 4 metrics, 40 user ids per account, new event ids in each run. The batches are dealt round-robin to the processes, each posted by ${CLIENTS} / processes closed-loop clients (bench/lib/http.ts); the usage tables and the rescore queue are emptied before each run and after a warm-up of one batch per client. Lock waits of the services' sessions (sampled every 100 ms) by processes: ${ingestNotes.join('; ')}.`,
        `Outbox: events enqueued while the subscription is paused; the clock runs from re-activating it until no delivery is pending. Each process runs the delivery worker as src/node.ts does (OUTBOX_CONCURRENCY ${OUTBOX_CONCURRENCY}, LISTEN/NOTIFY wake-ups); deliveries are claimed in the database (FOR UPDATE SKIP LOCKED), so the processes share the queue without coordinating otherwise. The receiver is bench/lib/receiver-child.ts in its own process.`,
      ],
    };
  },
};
