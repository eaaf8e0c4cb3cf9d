import { raiseAlerts } from '../../src/alerts/index.js';
import { setTimeout as sleep } from 'node:timers/promises';
import { sql } from 'kysely';
import { Webhook } from 'standardwebhooks';
import { configSchema } from '../../src/config.js';
import { inTransaction } from '../../src/db/transaction.js';
import { activateScorecard, createScorecardVersion } from '../../src/scoring/scorecards.js';
import { recompute } from '../../src/scoring/recompute.js';
import { writeSurveyResponses } from '../../src/signals/surveys.js';
import { createSubscription, enqueueEvents, updateSubscription } from '../../src/webhooks/outbound/repository.js';
import { percentile } from '../lib/http.js';
import { fmt, round, scaled } from '../lib/scale.js';
import { type RunningServer, startReceiver, startServer } from '../lib/server.js';
import type { BenchContext, Cell, Section, Table } from '../lib/types.js';
import { serviceDatabaseUrl } from '../lib/waits.js';

/**
 * Issue 5: outbox throughput to a local receiver (deliveries/s, beside the
 * same signed POSTs sent by a bare client) and the time from a score change
 * to the first delivery attempt (beside one bare POST).
 */

const DELIVERIES = scaled(10_000, 1_000);
const DEFAULT_CONCURRENCY = configSchema.shape.OUTBOX_CONCURRENCY.parse(undefined);
/** Below, at and above the default OUTBOX_CONCURRENCY. */
const CONCURRENCY = [DEFAULT_CONCURRENCY / 2, DEFAULT_CONCURRENCY, DEFAULT_CONCURRENCY * 2];
const PROBES = 50;
const PROBE_EVERY_MS = 200;
const SEGMENT = 'outbox-bench';

const now = () => performance.timeOrigin + performance.now();

/** A health.band_changed payload of the usual size (about 1.5 KB). */
function payload(i: number) {
  return {
    account: { externalId: `outbox-${i}`, name: `Outbox Customer ${i}`, owner: 'csm@example.com', retentionOwner: 'retention@example.com' },
    score: 38.5,
    band: 'red',
    previousBand: 'yellow',
    explanation: Array.from({ length: 6 }, (_, k) => ({
      measure: `measure_${k}`,
      sentence: `Measure ${k} fell from 71 to 35 over the last 30 days, below most accounts of its segment.`,
      contribution: -4.2 + k,
    })),
    attribution: Array.from({ length: 6 }, (_, k) => ({ measure: `measure_${k}`, points: -1.5 * k })),
  };
}

interface Receiver extends RunningServer {
  /** Arrivals noted since the last call: webhook-id → epoch ms. */
  collect(): Promise<Map<string, number>>;
}

async function receiver(): Promise<Receiver> {
  const server = await startReceiver();
  let waiting: ((arrivals: [string, number][]) => void) | undefined;
  server.onMessage((m) => {
    const arrivals = (m as { arrivals?: [string, number][] }).arrivals;
    if (arrivals) waiting?.(arrivals);
  });
  return {
    ...server,
    collect: () =>
      new Promise((resolve) => {
        waiting = (arrivals) => resolve(new Map(arrivals));
        server.send('report');
      }),
  };
}

async function pendingOf(ctx: BenchContext, subscriptionId: number) {
  const { rows } = await sql<{ pending: number; succeeded: number }>`
    select count(*) filter (where status = 'pending')::int as pending, count(*) filter (where status = 'succeeded')::int as succeeded
      from webhook_deliveries where subscription_id = ${subscriptionId}`.execute(ctx.db);
  return rows[0]!;
}

/** Deliveries of DELIVERIES events held back (subscription inactive), then released and timed until none is pending. */
async function outboxThroughput(ctx: BenchContext, target: Receiver, concurrency: number) {
  const { subscription } = await createSubscription(ctx.db, { url: `${target.url}/throughput-${concurrency}`, eventTypes: ['health.band_changed'] });
  // Enqueued while active, paused in the same transaction: nothing goes out until it is re-activated.
  await inTransaction(ctx.db, async (trx) => {
    const inputs = Array.from({ length: DELIVERIES }, (_, i) => ({ type: 'health.band_changed' as const, accountId: i, payload: payload(i) }));
    await enqueueEvents(trx, inputs);
    await updateSubscription(trx, subscription.id, { active: false });
  });
  await target.collect();
  const started = performance.now();
  await updateSubscription(ctx.db, subscription.id, { active: true });
  let counts = await pendingOf(ctx, subscription.id);
  while (counts.pending > 0) {
    await sleep(20);
    counts = await pendingOf(ctx, subscription.id);
  }
  const seconds = (performance.now() - started) / 1000;
  const arrivals = await target.collect();
  await ctx.db.deleteFrom('webhook_subscriptions').where('id', '=', subscription.id).execute();
  return { seconds, succeeded: counts.succeeded, arrived: arrivals.size };
}

/** The same number of signed POSTs of the same bodies, from `concurrency` bare loops in this process. */
async function bareThroughput(target: Receiver, concurrency: number) {
  const signer = new Webhook(`whsec_${Buffer.from('bench-secret-bench-secret-123456').toString('base64')}`);
  const bodies = Array.from({ length: DELIVERIES }, (_, i) =>
    JSON.stringify({ type: 'health.band_changed', timestamp: new Date().toISOString(), data: payload(i) }),
  );
  await target.collect();
  let next = 0;
  const started = performance.now();
  const loop = async () => {
    while (next < bodies.length) {
      const i = next++;
      const id = `msg_bare${i}`;
      const at = new Date();
      const response = await fetch(`${target.url}/bare`, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          'webhook-id': id,
          'webhook-timestamp': String(Math.floor(at.getTime() / 1000)),
          'webhook-signature': signer.sign(id, at, bodies[i]!),
        },
        body: bodies[i],
      });
      await response.text();
      if (!response.ok) throw new Error(`bare POST answered ${response.status}`);
    }
  };
  await Promise.all(Array.from({ length: concurrency }, loop));
  const seconds = (performance.now() - started) / 1000;
  const arrived = (await target.collect()).size;
  return { seconds, arrived };
}

/**
 * Probe accounts scored by a one-measure scorecard (the latest NPS answer)
 * with no hysteresis, so an NPS answer of 0 or 10 flips the band.
 */
async function prepareProbes(ctx: BenchContext): Promise<number[]> {
  const card = await createScorecardVersion(ctx.db, SEGMENT, {
    name: 'Outbox bench: latest NPS only',
    bands: { green: 70, red: 40, hysteresis: 0 },
    groups: [{ key: 'surveys', label: 'Surveys', measures: [{ key: 'nps', label: 'Latest NPS', feature: 'latest_nps', weight: 1, mapping: { type: 'linear', points: [[0, 0], [10, 100]] } }] }],
  });
  await inTransaction(ctx.db, (trx) => activateScorecard(trx, card.id));
  const { rows } = await sql<{ id: number }>`
    insert into accounts (external_id, name, segment)
    select 'outbox-probe-' || n, 'Outbox probe ' || n, ${SEGMENT} from generate_series(1, ${PROBES}::int) n
    returning id`.execute(ctx.db);
  return rows.map((r) => Number(r.id));
}

let answers = 0;
async function answerNps(ctx: BenchContext, accountId: number, score: number) {
  const item = { responseId: `outbox-nps-${answers++}`, account: '', kind: 'nps' as const, score, respondedAt: new Date().toISOString() };
  await writeSurveyResponses(ctx.db, [{ accountId, item }]);
}

/** Each probe: an NPS answer flips the band, then recompute (one account) commits the score and its health.band_changed event. */
async function scoreChangeLatency(ctx: BenchContext, target: Receiver, ids: number[]) {
  const { subscription } = await createSubscription(ctx.db, { url: `${target.url}/latency`, eventTypes: ['health.band_changed'] });
  for (const id of ids) await answerNps(ctx, id, 10);
  await recompute(ctx.db, { accountIds: ids, after: raiseAlerts }); // every probe green
  while ((await pendingOf(ctx, subscription.id)).pending > 0) await sleep(50);
  await target.collect();

  const probes: { accountId: number; start: number; committed: number; recomputeMs: number }[] = [];
  for (const accountId of ids) {
    await answerNps(ctx, accountId, 0);
    const start = now();
    await recompute(ctx.db, { accountIds: [accountId], after: raiseAlerts });
    const committed = now();
    probes.push({ accountId, start, committed, recomputeMs: committed - start });
    await sleep(PROBE_EVERY_MS);
  }
  while ((await pendingOf(ctx, subscription.id)).pending > 0) await sleep(50);
  const arrivals = await target.collect();
  const { rows: events } = await sql<{ id: string; subject_account_id: number }>`
    select distinct on (subject_account_id) id, subject_account_id from webhook_events
     where type = 'health.band_changed' and subject_account_id = any(${ids}::int8[])
     order by subject_account_id, created_at desc`.execute(ctx.db);
  const eventOf = new Map(events.map((e) => [Number(e.subject_account_id), e.id]));
  const fromStart: number[] = [];
  const fromCommit: number[] = [];
  for (const p of probes) {
    const at = arrivals.get(eventOf.get(p.accountId) ?? '');
    if (at === undefined) continue;
    fromStart.push(at - p.start);
    fromCommit.push(at - p.committed);
  }
  await ctx.db.deleteFrom('webhook_subscriptions').where('id', '=', subscription.id).execute();
  return {
    fromStart: fromStart.sort((a, b) => a - b),
    fromCommit: fromCommit.sort((a, b) => a - b),
    recomputeMs: probes.map((p) => p.recomputeMs).sort((a, b) => a - b),
    missing: probes.length - fromStart.length,
  };
}

/** One signed POST at a time from this process to the receiver: arrival minus send time. */
async function bareLatency(target: Receiver) {
  const signer = new Webhook(`whsec_${Buffer.from('bench-secret-bench-secret-123456').toString('base64')}`);
  await target.collect();
  const sent = new Map<string, number>();
  for (let i = 0; i < PROBES; i++) {
    const id = `msg_lat${i}`;
    const body = JSON.stringify({ type: 'health.band_changed', timestamp: new Date().toISOString(), data: payload(i) });
    const at = new Date();
    sent.set(id, now());
    const response = await fetch(`${target.url}/bare-latency`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'webhook-id': id, 'webhook-timestamp': String(Math.floor(at.getTime() / 1000)), 'webhook-signature': signer.sign(id, at, body) },
      body,
    });
    await response.text();
    await sleep(PROBE_EVERY_MS);
  }
  const arrivals = await target.collect();
  return [...sent].map(([id, t]) => arrivals.get(id)! - t).filter(Number.isFinite).sort((a, b) => a - b);
}

const ms = (sorted: number[], p: number) => round(percentile(sorted, p), 1);

export const outbox: Section = {
  name: 'outbox',
  async run(ctx) {
    const target = await receiver();
    const throughputRows: Cell[][] = [];
    const ratios: string[] = [];
    let latencyTable: Table | undefined;
    let latencyNote = '';
    try {
      const ids = await prepareProbes(ctx);
      for (const concurrency of CONCURRENCY) {
        const service = await startServer('service', {
          BENCH_DATABASE_URL: serviceDatabaseUrl(ctx.databaseUrl),
          BENCH_OUTBOX_CONCURRENCY: String(concurrency),
        });
        try {
          ctx.log(`throughput: ${fmt(DELIVERIES)} deliveries, worker concurrency ${concurrency}`);
          const service1 = await outboxThroughput(ctx, target, concurrency);
          const bare = await bareThroughput(target, concurrency);
          const rate = DELIVERIES / service1.seconds;
          const bareRate = DELIVERIES / bare.seconds;
          throughputRows.push(
            [`outbox worker, ${concurrency} in flight${concurrency === DEFAULT_CONCURRENCY ? ' (default)' : ''}`, fmt(DELIVERIES), round(service1.seconds, 2), fmt(rate), `${fmt(service1.succeeded)} succeeded, ${fmt(service1.arrived)} arrived`],
            [`bare signed POSTs, ${concurrency} in flight`, fmt(DELIVERIES), round(bare.seconds, 2), fmt(bareRate), `${fmt(bare.arrived)} arrived`],
            [`ratio outbox / bare, ${concurrency} in flight`, null, null, round(rate / bareRate, 3), null],
          );
          ratios.push(`${concurrency}: ${round(rate / bareRate, 3)}`);

          if (concurrency === DEFAULT_CONCURRENCY) {
            ctx.log(`score change → first delivery attempt: ${PROBES} probes`);
            const latency = await scoreChangeLatency(ctx, target, ids);
            const bareMs = await bareLatency(target);
            latencyTable = {
              title: `Score change → first delivery attempt: ${PROBES} band changes, one every ${PROBE_EVERY_MS} ms, worker in another process (aim: p50 < 50 ms)`,
              columns: ['measure', 'n', 'p50 ms', 'p95 ms', 'max ms'],
              rows: [
                ['score change committed → arrival at the receiver', latency.fromCommit.length, ms(latency.fromCommit, 0.5), ms(latency.fromCommit, 0.95), ms(latency.fromCommit, 1)],
                ['bare signed POST: send → arrival (baseline)', bareMs.length, ms(bareMs, 0.5), ms(bareMs, 0.95), ms(bareMs, 1)],
                ['ratio committed → arrival / bare', null, round(percentile(latency.fromCommit, 0.5) / percentile(bareMs, 0.5), 1), round(percentile(latency.fromCommit, 0.95) / percentile(bareMs, 0.95), 1), null],
                ['recompute of the one account (start → commit)', latency.recomputeMs.length, ms(latency.recomputeMs, 0.5), ms(latency.recomputeMs, 0.95), ms(latency.recomputeMs, 1)],
                ['recompute start → arrival', latency.fromStart.length, ms(latency.fromStart, 0.5), ms(latency.fromStart, 0.95), ms(latency.fromStart, 1)],
              ],
            };
            latencyNote = `${latency.missing} of ${PROBES} probes had no arrival matched to their event. "Committed" is when the bench process has the COMMIT's answer; the worker hears the NOTIFY at the commit itself, so the figure can even be negative.`;
          }
        } finally {
          await service.stop();
        }
      }
    } finally {
      await target.stop();
    }
    return {
      tables: [
        {
          title: `Outbox throughput: ${fmt(DELIVERIES)} deliveries of ~1.5 KB health.band_changed events to a local receiver (aim: 2,000/s)`,
          columns: ['sender', 'deliveries', 'seconds', 'deliveries/s', 'check'],
          rows: throughputRows,
        },
        ...(latencyTable ? [latencyTable] : []),
      ],
      notes: [
        `The service runs in its own process with the delivery worker as src/node.ts starts it (LISTEN/NOTIFY wake-ups, pool of 10), OUTBOX_CONCURRENCY as in each row; the receiver is a bare node:http server in a third process that answers 200 at once and notes each webhook-id's arrival time.`,
        `Throughput: the events were enqueued (enqueueEvents) while the subscription was paused; the clock runs from re-activating it until no delivery is pending. Each delivery is a claim (batched), a signed POST, and a recorded outcome (one transaction each). The bare sender signs with standardwebhooks and POSTs the same bodies from the bench process, with no database. Ratios outbox / bare by concurrency: ${ratios.join('; ')}.`,
        `Score change: a scorecard for segment ${SEGMENT} scores the latest NPS answer alone with no hysteresis; each probe writes an NPS answer of 0 for a green account, then times recompute() of that one account (features, score, band change, health.band_changed, churn-risk rules, in one transaction) from its start, in the bench process, to the delivery's arrival at the receiver. ${latencyNote}`,
      ],
    };
  },
};
