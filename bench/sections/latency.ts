import { setTimeout as sleep } from 'node:timers/promises';
import { sql } from 'kysely';
import { createApiKey } from '../../src/auth/repository.js';
import { seededRandom } from '../lib/random.js';
import { fmt, round } from '../lib/scale.js';
import { type RunningServer, startServer } from '../lib/server.js';
import type { BenchContext, Cell, Section } from '../lib/types.js';
import { percentile } from '../lib/http.js';
import { describeLockWaits, type LockWaits, sampleLockWaits, serviceDatabaseUrl } from '../lib/waits.js';
import { scoringUrl } from './scoring.js';
import { rescoreBacklog } from '../../src/scoring/rescore-marks.js';

/**
 * Issue 4: time from an ingested usage event to the changed score, with the
 * rescoring stand-in (recomputeDirty every second in the service process),
 * with and without a background ingest load.
 */

const PROBES = 50;
const PROBE_EVERY_MS = 200;
const POLL_EVERY_MS = 25;
const PROBE_TIMEOUT_MS = 60_000;
const PROBE_SEATS = 1_000;
const BACKGROUND_ACCOUNTS = 1_000;
const BACKGROUND_CLIENTS = 2;
const BATCH = 1_000;
const RESCORE_EVERY_MS = 1_000;
const SETTLE_MS = 3_000;
const METRICS = ['report.exported', 'dashboard.viewed', 'alert.created', 'query.run'];

const probeAccount = (i: number) => `lat-probe-${String(i).padStart(2, '0')}`;
const backgroundAccount = (i: number) => `lat-bg-${String(i).padStart(4, '0')}`;

interface Rescore {
  at: number;
  ms: number;
  /** recompute()'s milliseconds per step (features, distributions, scoring, after…). */
  timings?: Record<string, number>;
  claimed?: number;
  changed?: number;
  error?: string;
}

interface Condition {
  latencies: number[];
  postMs: number[];
  scoreChanged: number;
  timedOut: number;
  backgroundEvents: number;
  backgroundSeconds: number;
  backgroundFailures: number;
  runs: Rescore[];
  waits: LockWaits;
}

function medianTimings(runs: Rescore[]) {
  const steps = [...new Set(runs.flatMap((r) => Object.keys(r.timings ?? {})))];
  if (steps.length === 0) return 'n/a';
  return steps
    .map((step) => {
      const values = runs.map((r) => r.timings?.[step]).filter((v): v is number => v !== undefined).sort((a, b) => a - b);
      return `${step} ${fmt(values[Math.floor(values.length / 2)]!)}`;
    })
    .join(', ');
}

async function post(url: string, key: string, items: unknown[]) {
  const response = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${key}` },
    body: JSON.stringify({ items }),
  });
  const text = await response.text();
  if (!response.ok) throw new Error(`${response.status} ${text.slice(0, 200)}`);
  const result = JSON.parse(text) as { summary: Record<string, number> };
  if (result.summary.error) throw new Error(`items rejected: ${text.slice(0, 300)}`);
  return result;
}

async function waitForQueue(ctx: BenchContext, limitMs: number) {
  const until = Date.now() + limitMs;
  while (Date.now() < until) {
    if ((await rescoreBacklog(ctx.db)) === 0) return;
    await sleep(200);
  }
  throw new Error(`the rescore queue did not drain within ${limitMs} ms`);
}

async function runCondition(ctx: BenchContext, server: RunningServer, key: string, ids: Map<string, number>, runs: Rescore[], label: string, background: boolean): Promise<Condition> {
  const url = `${server.url}/v1/usage/batch`;
  const random = seededRandom(label.length * 7919);
  let stopBackground = false;
  let backgroundEvents = 0;
  let backgroundFailures = 0;
  let sequence = 0;
  const backgroundLoop = async () => {
    while (!stopBackground) {
      const items = Array.from({ length: BATCH }, () => ({
        eventId: `${label}-bg-${sequence++}`,
        account: backgroundAccount(1 + Math.floor(random() * BACKGROUND_ACCOUNTS)),
        occurredAt: new Date(Date.now() - Math.floor(random() * 20 * 86_400_000)).toISOString(),
        metric: METRICS[Math.floor(random() * METRICS.length)],
        quantity: 1,
        userId: `user-${Math.floor(random() * 50)}`,
      }));
      try {
        await post(url, key, items);
        backgroundEvents += BATCH;
      } catch {
        backgroundFailures++;
      }
    }
  };
  const loops = background ? Array.from({ length: BACKGROUND_CLIENTS }, backgroundLoop) : [];
  if (background) await sleep(SETTLE_MS);
  const measuredFrom = Date.now();
  const eventsBefore = backgroundEvents;
  const windowStarted = performance.now();

  // One poller for all pending probes: the raw feature vector of a probe account changes once its new user is scored.
  const pending = new Map<number, { before: string; score: number | null; sent: number; resolve: (r: { ms: number; scoreChanged: boolean } | null) => void }>();
  let polling = true;
  const poller = (async () => {
    while (polling) {
      if (pending.size) {
        const { rows } = await sql<{ account_id: number; raw: string; score: number | null }>`
          select account_id, raw::text as raw, score from health_scores where account_id = any(${[...pending.keys()]}::int8[])`.execute(ctx.db);
        const now = performance.now();
        for (const row of rows) {
          const probe = pending.get(Number(row.account_id));
          if (probe && row.raw !== probe.before) {
            pending.delete(Number(row.account_id));
            probe.resolve({ ms: now - probe.sent, scoreChanged: row.score !== probe.score });
          }
        }
        for (const [id, probe] of pending) {
          if (now - probe.sent > PROBE_TIMEOUT_MS) {
            pending.delete(id);
            probe.resolve(null);
          }
        }
      }
      await sleep(POLL_EVERY_MS);
    }
  })();

  const sampler = sampleLockWaits(ctx.db);

  const postMs: number[] = [];
  const probe = async (i: number) => {
    const accountId = ids.get(probeAccount(i))!;
    const { rows } = await sql<{ raw: string; score: number | null }>`select raw::text as raw, score from health_scores where account_id = ${accountId}`.execute(ctx.db);
    const sent = performance.now();
    const result = new Promise<{ ms: number; scoreChanged: boolean } | null>((resolve) =>
      pending.set(accountId, { before: rows[0]!.raw, score: rows[0]!.score, sent, resolve }),
    );
    // A user this probe account has never had: its 30-day active users, hence adoption, go up by one.
    await post(url, key, [{ eventId: `${label}-probe-${i}`, account: probeAccount(i), occurredAt: new Date().toISOString(), metric: 'probe', quantity: 1, userId: `${label}-user-${i}` }]);
    postMs.push(performance.now() - sent);
    return result;
  };
  const results: Promise<{ ms: number; scoreChanged: boolean } | null>[] = [];
  for (let i = 0; i < PROBES; i++) {
    results.push(probe(i));
    await sleep(PROBE_EVERY_MS);
  }
  const settled = await Promise.all(results);
  polling = false;
  await poller;
  const waits = await sampler.stop();
  const windowSeconds = (performance.now() - windowStarted) / 1000;
  const windowEvents = backgroundEvents - eventsBefore;
  stopBackground = true;
  await Promise.all(loops);
  const latencies = settled.filter((r) => r !== null).map((r) => r.ms).sort((a, b) => a - b);
  return {
    latencies,
    postMs: postMs.sort((a, b) => a - b),
    scoreChanged: settled.filter((r) => r?.scoreChanged).length,
    timedOut: settled.filter((r) => r === null).length,
    backgroundEvents: windowEvents,
    backgroundSeconds: windowSeconds,
    backgroundFailures,
    runs: runs.filter((r) => r.at >= measuredFrom),
    waits,
  };
}

export const latency: Section = {
  name: 'latency',
  async run(ctx) {
    await sql`
      insert into accounts (external_id, name, segment, seats)
      select 'lat-probe-' || lpad(n::text, 2, '0'), 'Latency probe ' || n, 'enterprise', ${PROBE_SEATS} from generate_series(0, ${PROBES - 1}) n
      union all
      select 'lat-bg-' || lpad(n::text, 4, '0'), 'Latency background ' || n, (array['smb', 'mid-market', 'enterprise'])[1 + n % 3], 100
        from generate_series(1, ${BACKGROUND_ACCOUNTS}) n
      on conflict (external_id) do nothing`.execute(ctx.db);
    const idRows = await ctx.db.selectFrom('accounts').select(['id', 'external_id']).where('external_id', 'like', 'lat-%').execute();
    const ids = new Map(idRows.map((r) => [r.external_id, Number(r.id)]));
    const { key } = await createApiKey(ctx.db, 'bench latency', ['ingest']);

    const runs: Rescore[] = [];
    const server = await startServer('service', { BENCH_DATABASE_URL: serviceDatabaseUrl(scoringUrl(ctx.databaseUrl)), BENCH_RESCORE_EVERY_MS: String(RESCORE_EVERY_MS) });
    server.onMessage((message) => {
      const rescore = (message as { rescore?: Rescore }).rescore;
      if (rescore) runs.push(rescore);
    });
    try {
      // Every probe and background account gets a first event and a first score before measuring.
      const url = `${server.url}/v1/usage/batch`;
      const first = [
        ...Array.from({ length: PROBES }, (_, i) => probeAccount(i)),
        ...Array.from({ length: BACKGROUND_ACCOUNTS }, (_, i) => backgroundAccount(i + 1)),
      ].map((account, i) => ({ eventId: `initial-${i}`, account, occurredAt: new Date().toISOString(), metric: 'report.exported', quantity: 1, userId: 'user-initial' }));
      for (let i = 0; i < first.length; i += BATCH) await post(url, key, first.slice(i, i + BATCH));
      ctx.log('waiting for the first scores');
      await waitForQueue(ctx, 120_000);
      const scored = await sql<{ n: string }>`select count(*) as n from health_scores where account_id = any(${[...ids.values()]}::int8[])`.execute(ctx.db);
      if (Number(scored.rows[0]!.n) !== ids.size) throw new Error(`only ${scored.rows[0]!.n} of ${ids.size} latency accounts were scored`);

      ctx.log(`idle: ${PROBES} probes, one every ${PROBE_EVERY_MS} ms`);
      const idle = await runCondition(ctx, server, key, ids, runs, 'idle', false);
      await waitForQueue(ctx, 120_000);
      ctx.log(`under ingest: ${BACKGROUND_CLIENTS} clients posting batches of ${fmt(BATCH)}, ${PROBES} probes`);
      const loaded = await runCondition(ctx, server, key, ids, runs, 'loaded', true);
      await waitForQueue(ctx, 120_000);

      const row = (label: string, c: Condition): Cell[] => {
        const durations = c.runs.map((r) => r.ms).sort((a, b) => a - b);
        const claimed = c.runs.map((r) => r.claimed ?? 0).sort((a, b) => a - b);
        return [
          label,
          c.latencies.length,
          round(percentile(c.latencies, 0.5) / 1000, 2),
          round(percentile(c.latencies, 0.95) / 1000, 2),
          round((c.latencies.at(-1) ?? Number.NaN) / 1000, 2),
          c.timedOut,
          Math.round(c.backgroundEvents / c.backgroundSeconds),
          c.runs.length,
          round(percentile(durations, 0.5), 0),
          round(percentile(durations, 0.95), 0),
          percentile(claimed, 0.5),
        ];
      };
      const errors = [...idle.runs, ...loaded.runs].filter((r) => r.error).map((r) => r.error!);
      return {
        tables: [
          {
            title: `Event → changed score: ${PROBES} probes, one every ${PROBE_EVERY_MS} ms, recomputeDirty every ${RESCORE_EVERY_MS} ms in the service`,
            columns: ['condition', 'probes', 'p50 s', 'p95 s (aim < 2)', 'max s', 'timed out', 'background events/s', 'rescoring runs', 'run p50 ms', 'run p95 ms', 'accounts per run p50'],
            rows: [
              row('under ingest load', loaded),
              row('no background ingest (baseline)', idle),
              [
                'ratio loaded / baseline',
                null,
                round(percentile(loaded.latencies, 0.5) / percentile(idle.latencies, 0.5), 2),
                round(percentile(loaded.latencies, 0.95) / percentile(idle.latencies, 0.95), 2),
                null,
                null,
                null,
                null,
                null,
                null,
                null,
              ],
            ],
          },
        ],
        notes: [
          `The service child runs a stand-in for the rescoring job (bench/lib/server-child.ts): recomputeDirty(db) (up to 10,000 accounts) every ${RESCORE_EVERY_MS} ms in the service process, or right after the previous run if that took longer, with compactUntil folding usage deltas into the rollups in a loop of its own beside it, as the job does. The real job (rescore-dirty, src/scoring/jobs.ts) loops without pause while there is work, sleeps 1 s when the queue is empty and runs until 58 s after its occurrence, when the next one takes over.`,
          `A probe posts one usage event with a user new to one of ${PROBES} probe accounts (${fmt(PROBE_SEATS)} seats each, one probe per account per condition) through POST /v1/usage/batch; its latency runs from just before the POST until a poll (every ${POLL_EVERY_MS} ms, SQL on health_scores) sees the account's stored raw features change (its adoption). Score changed too in ${loaded.scoreChanged}/${PROBES} (loaded) and ${idle.scoreChanged}/${PROBES} (baseline) probes. The POST itself took p50 ${round(percentile(loaded.postMs, 0.5), 1)} ms loaded, ${round(percentile(idle.postMs, 0.5), 1)} ms baseline.`,
          `Background load: ${BACKGROUND_CLIENTS} closed-loop clients posting batches of ${fmt(BATCH)} events over ${fmt(BACKGROUND_ACCOUNTS)} accounts (so up to ${fmt(BACKGROUND_ACCOUNTS)} dirty accounts per rescoring run), started ${SETTLE_MS / 1000} s before the first probe; ${fmt(loaded.backgroundEvents)} events during the ${loaded.backgroundSeconds.toFixed(1)} s probe window, ${loaded.backgroundFailures} failed batches.`,
          `Lock waits of the service's database sessions (sampled every 100 ms during the probe window): under ingest load ${describeLockWaits(loaded.waits)}; baseline ${describeLockWaits(idle.waits)}.`,
          `Rescoring runs during the loaded window (ms/accounts claimed): ${loaded.runs.map((r) => `${Math.round(r.ms)}/${r.claimed ?? 'error'}`).join(', ')}; baseline: ${idle.runs.map((r) => `${Math.round(r.ms)}/${r.claimed ?? 'error'}`).join(', ')}.`,
          `Time per step of the loaded runs (ms, median over the runs; see the scoring section for the steps): ${medianTimings(loaded.runs)}; baseline: ${medianTimings(idle.runs)}.`,
          `The service's database URL carries jit=off (see the scoring section); the rescoring runs listed are those during each probe window.`,
          ...errors.slice(0, 5).map((e) => `rescoring run failed: ${e}`),
        ],
      };
    } finally {
      await server.stop();
    }
  },
};
