import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { sql } from 'kysely';
import postgres from 'postgres';
import { createApiKey } from '../../src/auth/repository.js';
import { percentile, type PostResult, postAll } from '../lib/http.js';
import { seededRandom } from '../lib/random.js';
import { fmt, round, SCALE, scaled, seconds } from '../lib/scale.js';
import { type RunningServer, startServer } from '../lib/server.js';
import type { BenchContext, Cell, Section } from '../lib/types.js';
import { compactUsage } from '../../src/signals/usage-compaction.js';
import { describeLockWaits, type LockWaits, sampleLockWaits, serviceDatabaseUrl } from '../lib/waits.js';

/** Issue 3: usage events per second through POST /v1/usage/batch, beside a raw COPY of the same rows. */

const ACCOUNTS = 1_000;
const BATCH = 1_000;
/** The comparison alternates COPY and HTTP in this many rounds, so both see the same background load. */
const ROUNDS = 5;
const CLIENTS = Number(process.env.BENCH_INGEST_CLIENTS || 4);
/** Events of the throughput comparison (HTTP and COPY each insert these). */
const EVENTS = scaled(500_000, BATCH * ROUNDS);
/** Events re-sent in the idempotency run; all of them already stored. */
const RESEND = scaled(1_000_000, BATCH);
const WARMUP_BATCHES = 20;
const METRICS = ['report.exported', 'dashboard.viewed', 'alert.created', 'query.run', 'file.uploaded', 'user.invited'];
const USERS_PER_ACCOUNT = 40;
const DAYS = 30;

const externalId = (n: number) => `ing-${String(n).padStart(4, '0')}`;

interface Events {
  count: number;
  eventId: (i: number) => string;
  account: Uint16Array;
  occurredAt: string[];
  metric: Uint8Array;
  quantity: Uint16Array;
  user: Uint8Array;
}

/** `count` events from a seeded generator: uniform over the accounts, the last 30 days, 6 metrics, 40 users per account. */
function generateEvents(count: number, prefix: string, seed: number, nowMs: number): Events {
  const random = seededRandom(seed);
  const events: Events = {
    count,
    eventId: (i) => `${prefix}${i}`,
    account: new Uint16Array(count),
    occurredAt: new Array<string>(count),
    metric: new Uint8Array(count),
    quantity: new Uint16Array(count),
    user: new Uint8Array(count),
  };
  for (let i = 0; i < count; i++) {
    events.account[i] = 1 + Math.floor(random() * ACCOUNTS);
    events.occurredAt[i] = new Date(nowMs - Math.floor(random() * DAYS * 86_400_000)).toISOString();
    events.metric[i] = Math.floor(random() * METRICS.length);
    events.quantity[i] = 1 + Math.floor(random() * 10);
    events.user[i] = Math.floor(random() * USERS_PER_ACCOUNT);
  }
  return events;
}

/** Request bodies of `BATCH` items for events [from, to). */
function httpBodies(e: Events, from: number, to: number): Buffer[] {
  const bodies: Buffer[] = [];
  for (let start = from; start < to; start += BATCH) {
    const items = [];
    for (let i = start; i < Math.min(to, start + BATCH); i++) {
      items.push({
        eventId: e.eventId(i),
        account: externalId(e.account[i]!),
        occurredAt: e.occurredAt[i],
        metric: METRICS[e.metric[i]!],
        quantity: e.quantity[i],
        userId: `user-${e.user[i]}`,
      });
    }
    bodies.push(Buffer.from(JSON.stringify({ items })));
  }
  return bodies;
}

/** COPY text-format chunks (one per `BATCH` rows) for events [from, to), same columns and values as the HTTP items. */
function copyChunks(e: Events, from: number, to: number, accountIds: Map<string, number>): Buffer[] {
  const chunks: Buffer[] = [];
  for (let start = from; start < to; start += BATCH) {
    let text = '';
    for (let i = start; i < Math.min(to, start + BATCH); i++) {
      const id = accountIds.get(externalId(e.account[i]!))!;
      text += `${id}\t${e.eventId(i)}\t${e.occurredAt[i]}\t${METRICS[e.metric[i]!]}\t${e.quantity[i]}\tuser-${e.user[i]}\n`;
    }
    chunks.push(Buffer.from(text));
  }
  return chunks;
}

const COPY_COLUMNS = 'account_id, event_id, occurred_at, metric, quantity, user_id';

async function copyRows(url: string, chunks: Buffer[]): Promise<number> {
  const client = postgres(url, { max: 1, onnotice: () => {} });
  try {
    await client`select 1`;
    const started = performance.now();
    const stream = await client`copy usage_events (account_id, event_id, occurred_at, metric, quantity, user_id) from stdin`.writable();
    await pipeline(Readable.from(chunks), stream);
    return seconds(started);
  } finally {
    await client.end({ timeout: 5 });
  }
}

async function resetUsage(ctx: BenchContext) {
  await sql`truncate usage_events, usage_daily, usage_daily_deltas, usage_daily_users, rescore_queue, rescore_marks`.execute(ctx.db);
}

async function usageTotals(ctx: BenchContext) {
  const { rows } = await sql<{ events: string; rolled: string | null; users: string }>`
    select (select count(*) from usage_events) as events,
           (select coalesce(sum(events), 0) from usage_daily) + (select coalesce(sum(events), 0) from usage_daily_deltas) as rolled,
           (select count(*) from usage_daily_users) as users`.execute(ctx.db);
  const r = rows[0]!;
  return { events: Number(r.events), rolled: Number(r.rolled ?? 0), users: Number(r.users) };
}

export const ingest: Section = {
  name: 'ingest',
  async run(ctx) {
    const nowMs = Date.now() - 60_000;
    await sql`
      insert into accounts (external_id, name, segment, seats)
      select 'ing-' || lpad(n::text, 4, '0'), 'Ingest customer ' || n, (array['smb', 'mid-market', 'enterprise'])[1 + n % 3], 50 + n % 200
        from generate_series(1, ${ACCOUNTS}) n
      on conflict (external_id) do nothing`.execute(ctx.db);
    const idRows = await ctx.db.selectFrom('accounts').select(['id', 'external_id']).where('external_id', 'like', 'ing-%').execute();
    const accountIds = new Map(idRows.map((r) => [r.external_id, r.id]));
    const { key } = await createApiKey(ctx.db, 'bench ingest', ['ingest']);

    let started = performance.now();
    const events = generateEvents(RESEND, 'ev-', 3, nowMs);
    const bodies = httpBodies(events, 0, RESEND);
    const firstBodies = bodies.slice(0, EVENTS / BATCH);
    const copyFirst = copyChunks(events, 0, EVENTS, accountIds);
    const copyRest = copyChunks(events, EVENTS, RESEND, accountIds);
    const warm = httpBodies(generateEvents(WARMUP_BATCHES * BATCH, 'warm-', 4, nowMs), 0, WARMUP_BATCHES * BATCH);
    const bodyMb = bodies.reduce((sum, b) => sum + b.length, 0) / 2 ** 20;
    ctx.log(`generated ${fmt(RESEND)} events (${bodyMb.toFixed(0)} MB of request bodies) in ${seconds(started).toFixed(1)} s`);

    let server: RunningServer | undefined;
    try {
      server = await startServer('service', { BENCH_DATABASE_URL: serviceDatabaseUrl(ctx.databaseUrl) });
      const url = `${server.url}/v1/usage/batch`;
      const headers = { authorization: `Bearer ${key}` };
      ctx.log(`HTTP warm-up: ${WARMUP_BATCHES} batches`);
      await postAll(url, headers, warm, CLIENTS);

      // Alternating rounds: COPY of a slice into empty tables, then the same slice through HTTP into empty tables.
      const perRound = EVENTS / ROUNDS;
      const batchesPerRound = perRound / BATCH;
      let copySeconds = 0;
      const httpRuns: PostResult[] = [];
      const roundRatios: number[] = [];
      let compactSeconds = 0;
      let compacted = 0;
      const waits: LockWaits = { active: 0, locked: 0, top: [] };
      const topWaits = new Map<string, number>();
      for (let r = 0; r < ROUNDS; r++) {
        const slice = (list: Buffer[]) => list.slice(r * batchesPerRound, (r + 1) * batchesPerRound);
        await resetUsage(ctx);
        ctx.log(`round ${r + 1}/${ROUNDS}: COPY of ${fmt(perRound)} rows, then the same through HTTP (${CLIENTS} clients)`);
        const copy = await copyRows(ctx.databaseUrl, slice(copyFirst));
        const afterCopy = await usageTotals(ctx);
        if (afterCopy.events !== perRound) throw new Error(`COPY stored ${afterCopy.events} rows, expected ${perRound}`);
        await resetUsage(ctx);
        const sampler = sampleLockWaits(ctx.db);
        const run = await postAll(url, headers, slice(firstBodies), CLIENTS);
        const w = await sampler.stop();
        waits.active += w.active;
        waits.locked += w.locked;
        for (const [q, n] of w.top) topWaits.set(q, (topWaits.get(q) ?? 0) + n);
        const afterHttp = await usageTotals(ctx);
        if (afterHttp.events !== perRound || afterHttp.rolled !== perRound || run.summary.created !== perRound) {
          throw new Error(`HTTP stored ${afterHttp.events} events (${afterHttp.rolled} rolled up, ${run.summary.created} created), expected ${perRound}`);
        }
        // The deltas the round appended, folded into usage_daily as the rescoring run does: part of the cost of an event.
        const compactStarted = performance.now();
        compacted += await compactUsage(ctx.db);
        compactSeconds += seconds(compactStarted);
        copySeconds += copy;
        httpRuns.push(run);
        roundRatios.push(copy / run.seconds);
      }
      const http = mergeRuns(httpRuns);
      waits.top = [...topWaits].sort((a, b) => b[1] - a[1]).slice(0, 3);

      // Store the rest raw, then rebuild the rollups from the raw rows as the HTTP path would have kept them.
      ctx.log(`storing events ${fmt(EVENTS)}…${fmt(RESEND)} by COPY and rebuilding the rollups`);
      started = performance.now();
      await copyRows(ctx.databaseUrl, copyFirst.slice(0, (EVENTS - EVENTS / ROUNDS) / BATCH));
      const stored = await usageTotals(ctx);
      if (stored.events !== EVENTS) throw new Error(`expected ${EVENTS} events, found ${stored.events}`);
      if (copyRest.length) await copyRows(ctx.databaseUrl, copyRest);
      await sql`truncate usage_daily, usage_daily_users`.execute(ctx.db);
      await sql`
        insert into usage_daily_users (account_id, day, metric, user_id)
        select distinct account_id, (occurred_at at time zone 'UTC')::date, metric, user_id from usage_events where user_id is not null`.execute(ctx.db);
      await sql`
        insert into usage_daily (account_id, day, metric, events, quantity, active_users)
        select e.account_id, e.day, e.metric, e.events, e.quantity, coalesce(u.n, 0)
          from (select account_id, (occurred_at at time zone 'UTC')::date as day, metric, count(*) as events, sum(quantity) as quantity
                  from usage_events group by 1, 2, 3) e
          left join (select account_id, day, metric, count(*)::int as n from usage_daily_users group by 1, 2, 3) u using (account_id, day, metric)`.execute(ctx.db);
      await sql`truncate rescore_queue, rescore_marks`.execute(ctx.db);
      await sql`analyze usage_events, usage_daily, usage_daily_users`.execute(ctx.db);
      const setupSeconds = seconds(started);

      const before = await usageTotals(ctx);
      if (before.events !== RESEND || before.rolled !== RESEND) throw new Error(`expected ${RESEND} stored events before the re-send, found ${before.events} (${before.rolled} rolled up)`);
      ctx.log(`HTTP re-send of ${fmt(RESEND)} stored events`);
      const resendSampler = sampleLockWaits(ctx.db);
      const resend = await postAll(url, headers, bodies, CLIENTS);
      const resendWaits = await resendSampler.stop();
      const after = await usageTotals(ctx);

      const eps = (count: number, secs: number) => count / secs;
      const httpRow = (label: string, count: number, r: PostResult): Cell[] => [
        label,
        count,
        round(r.seconds, 2),
        Math.round(eps(count, r.seconds)),
        round(percentile(r.latencies, 0.5), 1),
        round(percentile(r.latencies, 0.99), 1),
        r.failures,
      ];
      const columns = ['target', 'events', 'seconds', 'events/s', 'p50 batch ms', 'p99 batch ms', 'failed requests'];
      const httpEps = eps(EVENTS, http.seconds);
      const copyEps = eps(EVENTS, copySeconds);
      const resendEps = eps(RESEND, resend.seconds);
      const failureNotes = [...http.failureSamples, ...resend.failureSamples].map((s) => `failed request (retried): ${s}`);
      return {
        tables: [
          {
            title: `New events: ${fmt(EVENTS)} usage events, batches of ${fmt(BATCH)}, ${CLIENTS} concurrent clients`,
            columns,
            rows: [
              httpRow('POST /v1/usage/batch', EVENTS, http),
              ['COPY usage_events (raw rows only)', EVENTS, round(copySeconds, 2), Math.round(copyEps), null, null, 0],
              ['ratio HTTP / COPY', null, null, round(httpEps / copyEps, 3), null, null, null],
              [`compaction of the rounds' ${fmt(compacted)} rollup deltas into usage_daily`, EVENTS, round(compactSeconds, 2), Math.round(eps(EVENTS, compactSeconds)), null, null, 0],
              ['ratio HTTP + compaction / COPY', null, null, round(eps(EVENTS, http.seconds + compactSeconds) / copyEps, 3), null, null, null],
            ],
          },
          {
            title: `Re-send: ${fmt(RESEND)} already-stored events through POST /v1/usage/batch`,
            columns: ['target', 'events', 'seconds', 'events/s', 'p50 batch ms', 'p99 batch ms', 'failed requests', 'usage_events rows added', 'sum(usage_daily.events) added'],
            rows: [
              [...httpRow('re-send (all unchanged)', RESEND, resend), after.events - before.events, after.rolled - before.rolled],
              [...httpRow('new events (table above)', EVENTS, http), EVENTS, EVENTS],
              ['ratio re-send / new', null, null, round(resendEps / httpEps, 3), null, null, null, null, null],
            ],
          },
        ],
        notes: [
          `BENCH_SCALE=${SCALE}. ${fmt(ACCOUNTS)} accounts; events uniform over them, over the last ${DAYS} days, ${METRICS.length} metrics and ${USERS_PER_ACCOUNT} user ids per account, from a seeded generator; request bodies and COPY text built before the clock starts (${bodyMb.toFixed(0)} MB of JSON for ${fmt(RESEND)} events).`,
          `The HTTP path does more than the COPY: per item validation and result, account lookup, the insert into usage_events (skipping re-sends), the appended rollup deltas with their distinct users and the appended rescore marks (sql/0035_append_only_ingest.sql), and the source days, in one transaction per batch. The deltas are folded into usage_daily and usage_daily_users by the rescoring job, in a loop beside its scoring passes (compactUntil); that compaction is timed separately after each round (one statement, as the job runs it). The COPY writes the raw usage_events rows only (same columns and values), on one connection.`,
          `${ROUNDS} alternating rounds of ${fmt(EVENTS / ROUNDS)} events: COPY of a slice, then the same slice through HTTP; before each the usage tables and the rescore queue were truncated, so both inserted new rows into an empty usage_events. The service ran in its own process (pool of 10), after a warm-up of ${WARMUP_BATCHES} batches. HTTP/COPY events/s ratio per round: ${roundRatios.map((r) => r.toFixed(3)).join(', ')}.`,
          `Lock waits of the service's database sessions (sampled every 100 ms): new events ${describeLockWaits(waits)}; re-send ${describeLockWaits(resendWaits)}.`,
          `HTTP summary: ${JSON.stringify(http.summary)}; re-send summary: ${JSON.stringify(resend.summary)}.`,
          `Re-send: the last round left events ${fmt(EVENTS - EVENTS / ROUNDS)}…${fmt(EVENTS)} stored through HTTP; events 0…${fmt(EVENTS - EVENTS / ROUNDS)} and ${fmt(EVENTS)}…${fmt(RESEND)} were added by COPY and the rollups rebuilt from the raw rows in SQL (${setupSeconds.toFixed(1)} s) before it; usage_events ${fmt(before.events)} → ${fmt(after.events)} rows, sum(usage_daily.events) ${fmt(before.rolled)} → ${fmt(after.rolled)}, usage_daily_users ${fmt(before.users)} → ${fmt(after.users)}.`,
          ...failureNotes,
        ],
      };
    } finally {
      await server?.stop();
    }
  },
};

function mergeRuns(runs: PostResult[]): PostResult {
  const summary: Record<string, number> = {};
  for (const run of runs) for (const [k, v] of Object.entries(run.summary)) summary[k] = (summary[k] ?? 0) + v;
  return {
    seconds: runs.reduce((t, r) => t + r.seconds, 0),
    requests: runs.reduce((t, r) => t + r.requests, 0),
    failures: runs.reduce((t, r) => t + r.failures, 0),
    failureSamples: runs.flatMap((r) => r.failureSamples).slice(0, 5),
    summary,
    latencies: runs.flatMap((r) => r.latencies).sort((a, b) => a - b),
  };
}
