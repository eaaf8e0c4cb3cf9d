import { raiseAlerts } from '../../src/alerts/index.js';
import { sql } from 'kysely';
import postgres from 'postgres';
import { createPostgresDb } from '../../src/db/postgres.js';
import { type RecomputeResult, recompute, recomputeAll, recomputeDirty, today } from '../../src/scoring/recompute.js';
import { seededRandom } from '../lib/random.js';
import { fmt, round, SCALE, scaled, seconds } from '../lib/scale.js';
import type { BenchContext, Cell, Section } from '../lib/types.js';

/**
 * Issue 4: full and incremental recompute on a large dataset generated in SQL,
 * each beside a bare GROUP BY over the same usage rows in the same run.
 */

const ACCOUNTS = scaled(1_000_000, 10);
/** Usage rows per account: 10 days (6 days apart, so over 60 days) × one metric each. */
const USAGE_DAYS_PER_ACCOUNT = 10;
const DIRTY = Math.min(10_000, ACCOUNTS);
/** Accounts per recompute() call when recomputeAll cannot do the first scoring. */
const FIRST_SCORING_CHUNK = 100_000;
const INCREMENTAL_ROUNDS = 3;
const PREFIX = 'sc-';

/**
 * With PostgreSQL's default jit = on, the writing statement of a recompute over
 * more than about a thousand accounts goes into LLVM compilation of a
 * megabyte-sized expression for many minutes, and cannot be cancelled meanwhile
 * (docs/benchmarks.md). So recomputes run on connections with jit = off (a
 * connection parameter in the URL) unless BENCH_SCORING_JIT=server.
 */
export const SCORING_JIT = process.env.BENCH_SCORING_JIT === 'server' ? 'server' : 'off';
export function scoringUrl(url: string) {
  if (SCORING_JIT === 'server') return url;
  const u = new URL(url);
  u.searchParams.set('jit', 'off');
  return u.toString();
}

const describeTimings = (t: Record<string, number> | undefined) =>
  t ? Object.entries(t).map(([step, ms]) => `${step} ${fmt(ms)}`).join(', ') : 'n/a';

async function count(ctx: BenchContext, table: string) {
  const { rows } = await sql<{ n: string }>`select count(*) as n from ${sql.table(table)}`.execute(ctx.db);
  return Number(rows[0]!.n);
}

/**
 * Generates the dataset, set-based, on one connection of its own: triggers and
 * foreign-key checks off (session_replication_role = replica) for the signal
 * tables, which are consistent by construction, and more sort memory. Rows go
 * in in day order, as ingest would have written them, not account order.
 */
async function generate(ctx: BenchContext, asOf: string) {
  const client = postgres(ctx.databaseUrl, { max: 1, onnotice: () => {} });
  const steps: [string, number][] = [];
  const step = async (name: string, statement: string) => {
    const started = performance.now();
    const params = [asOf, ACCOUNTS].slice(0, statement.includes('$2') ? 2 : statement.includes('$1') ? 1 : 0);
    await client.unsafe(statement, params as never[]);
    steps.push([name, seconds(started)]);
    ctx.log(`  ${name}: ${seconds(started).toFixed(1)} s`);
  };
  try {
    await client.unsafe(`set work_mem = '512MB'`);
    await client.unsafe(`set maintenance_work_mem = '1GB'`);
    await client.unsafe(`select setseed(0.42)`);
    // Accounts through the normal trigger (change_seq). 10 % without seats of their own (they take the contract's).
    await step(
      'accounts',
      `insert into accounts (external_id, name, segment, tier, seats, arr, currency, lifecycle_stage, renewal_date)
       select '${PREFIX}' || lpad(n::text, 7, '0'), 'Scoring customer ' || n,
              (array['smb', 'mid-market', 'enterprise'])[1 + n % 3], (array['bronze', 'silver', 'gold'])[1 + n % 3 ],
              case when n % 10 = 0 then null else 5 + (n * 37) % 200 end, (n % 500) * 1000, 'USD',
              (array['onboarding', 'adoption', 'renewal'])[1 + n % 3], $1::date + (n % 365)
         from generate_series(1, $2::int) n`,
    );
    await client.unsafe(`set session_replication_role = replica`);
    await client.unsafe(`create temp table sc_ids as select id, row_number() over (order by id) as n from accounts where external_id like '${PREFIX}%'`);
    // 10 rows per account: days off + i·6 + id % 6 before as-of (off 0 for 90 %, up to 119 days for every tenth
    // account, so some are inactive), metrics rotating over four.
    await step(
      'usage_daily',
      `insert into usage_daily (account_id, day, metric, events, quantity, active_users)
       select id, day, metric, events, events * 1.5, 1 from (
         select a.id, $1::date - (case when a.n % 10 = 0 then 20 + a.n % 100 else 0 end + i * 6 + a.n % 6)::int as day,
                (array['report.exported', 'dashboard.viewed', 'query.run', 'file.uploaded'])[1 + (a.n + i) % 4] as metric,
                1 + floor(random() * 50)::int as events
           from sc_ids a cross join generate_series(0, ${USAGE_DAYS_PER_ACCOUNT - 1}) i) r
       order by day, id`,
    );
    await step(
      'usage_daily_users',
      `insert into usage_daily_users (account_id, day, metric, user_id)
       select account_id, day, metric, 'user-' || ((account_id + extract(day from day)::int) % 12) from usage_daily
        where account_id in (select id from sc_ids)`,
    );
    // About one ticket per account (0, 1 or 2), over the last 180 days; a third still open.
    await step(
      'tickets',
      `insert into tickets (account_id, ticket_id, subject, status, priority, opened_at, first_response_at, solved_at,
                            reopen_count, escalated, sla_breached, satisfaction, source_updated_at)
       select id, 'T-' || id || '-' || j, 'Ticket ' || j, status, priority, opened_at, opened_at + interval '2 hours',
              case when status in ('solved', 'closed') then opened_at + interval '2 days' end,
              case when random() < 0.1 then 1 else 0 end, random() < 0.05, random() < 0.08,
              case when status in ('solved', 'closed') then (array['good', 'good', 'good', 'bad', null])[1 + floor(random() * 5)::int] end,
              opened_at + interval '3 days'
         from (select a.id, j, (array['new', 'open', 'pending', 'solved', 'closed', 'closed'])[1 + floor(random() * 6)::int] as status,
                      (array['low', 'normal', 'normal', 'high', 'urgent'])[1 + floor(random() * 5)::int] as priority,
                      $1::date - (random() * 180 * interval '1 day') as opened_at
                 from sc_ids a cross join lateral generate_series(1, a.n % 3) j) t`,
    );
    // About one survey answer per account: NPS 60 %, CSAT 30 %, CES 10 %, over the last 360 days.
    await step(
      'survey_responses',
      `insert into survey_responses (account_id, response_id, kind, score, respondent, responded_at)
       select id, 'R-' || id || '-' || j, kind,
              case kind when 'nps' then floor(random() * 11) when 'csat' then 1 + floor(random() * 5) else 1 + floor(random() * 7) end,
              'user-' || j, $1::date - (random() * 360 * interval '1 day')
         from (select a.id, j, (array['nps', 'nps', 'nps', 'nps', 'nps', 'nps', 'csat', 'csat', 'csat', 'ces'])[1 + floor(random() * 10)::int] as kind
                 from sc_ids a cross join lateral generate_series(1, (a.n + 1) % 3) j) s`,
    );
    // 80 % of accounts have a current contract; a fifth of those also a previous (renewed) one with
    // other seats and ARR, so contraction is defined for them.
    await step(
      'contracts',
      `insert into contracts (account_id, contract_id, start_date, end_date, arr, currency, seats, auto_renew, status, payment_status)
       select a.id, 'C-' || a.id || '-2', $1::date - (a.n % 300)::int, $1::date - (a.n % 300)::int + 365, 1000 + (a.n % 500) * 100, 'USD',
              5 + (a.n * 37) % 200, a.n % 4 <> 0, 'active', case when a.n % 25 = 0 then 'overdue' else 'current' end
         from sc_ids a where a.n % 5 <> 0
       union all
       select a.id, 'C-' || a.id || '-1', $1::date - (a.n % 300)::int - 365, $1::date - (a.n % 300)::int, 1000 + (a.n % 700) * 100, 'USD',
              5 + (a.n * 41) % 220, true, 'renewed', 'current'
         from sc_ids a where a.n % 5 = 1`,
    );
    await step(
      'contract_history',
      `insert into contract_history (account_id, contract_id, changed_at, status, payment_status, arr, seats, end_date)
       select account_id, contract_id, created_at, status, payment_status, arr, seats, end_date from contracts
        where account_id in (select id from sc_ids)`,
    );
    // Ingest records the days each source sent anything (sql/0010); without them every measure would read "not connected".
    await step(
      'source_days',
      `insert into source_days (source, day)
       select s, $1::date - d from unnest(array['usage', 'support', 'nps', 'csat', 'commercial']) s cross join generate_series(0, 400) d
       on conflict do nothing`,
    );
    await client.unsafe(`set session_replication_role = origin`);
    await step('analyze', `analyze`);
    await step('checkpoint', `checkpoint`);
    return steps;
  } finally {
    await client.end({ timeout: 5 });
  }
}

/** The bare aggregation over the usage rollup, server-side only (every column consumed, nothing sent back but one row). */
async function bareGroupBy(ctx: BenchContext, ids: number[] | null) {
  const started = performance.now();
  await sql`
    select count(*), sum(s), sum(m) from (
      select account_id, sum(events) as s, count(distinct metric) as m
        from usage_daily
       where ${ids === null ? sql`true` : sql`account_id = any(${ids}::int8[])`}
       group by account_id) g`.execute(ctx.db);
  return seconds(started);
}

async function sizes(ctx: BenchContext) {
  const { rows } = await sql<{ bytes: string }>`select pg_database_size(current_database()) as bytes`.execute(ctx.db);
  return Number(rows[0]!.bytes) / 2 ** 30;
}

export const scoring: Section = {
  name: 'scoring',
  async run(ctx) {
    const asOf = today();
    ctx.log(`generating ${fmt(ACCOUNTS)} accounts and their signals in SQL (BENCH_SCALE=${SCALE})`);
    const generationStarted = performance.now();
    const steps = await generate(ctx, asOf);
    const generationSeconds = seconds(generationStarted);
    const tables = ['accounts', 'usage_daily', 'usage_daily_users', 'tickets', 'survey_responses', 'contracts'];
    const counts = Object.fromEntries(await Promise.all(tables.map(async (t) => [t, await count(ctx, t)] as const)));
    const databaseGb = await sizes(ctx);
    ctx.log(`generated in ${generationSeconds.toFixed(0)} s; ${tables.map((t) => `${t} ${fmt(counts[t]!)}`).join(', ')}; database ${databaseGb.toFixed(1)} GB`);

    const scoringDb = createPostgresDb({ url: scoringUrl(ctx.databaseUrl), max: 2 });
    try {
      return await measure(ctx, scoringDb.db, asOf, steps, generationSeconds, tables, counts, databaseGb);
    } finally {
      await scoringDb.close();
    }
  },
};

async function measure(
  ctx: BenchContext,
  db: BenchContext['db'],
  asOf: string,
  steps: [string, number][],
  generationSeconds: number,
  tables: string[],
  counts: Record<string, number>,
  databaseGb: number,
) {
  // (a) Full recompute, beside the bare GROUP BY before and after it.
  ctx.log('bare GROUP BY over usage_daily');
  const fullBare = [await bareGroupBy(ctx, null)];
  ctx.log('recomputeAll (first scoring of every account)');
  let started = performance.now();
  let first: RecomputeResult | undefined;
  let firstError: string | undefined;
  try {
    first = await recomputeAll(db, undefined, raiseAlerts);
  } catch (err) {
    // At 1,000,000 accounts it throws (a spread of every band change into push()); see docs/benchmarks.md.
    firstError = err instanceof Error ? `${err.name}: ${err.message}` : String(err);
  }
  const firstSeconds = seconds(started);
  // Peak resident memory of this process, which ran the first scoring (the bench's own needs are small beside it).
  const firstPeakRssMb = process.resourceUsage().maxRSS / 1024;
  ctx.log(first ? `  ${firstSeconds.toFixed(1)} s, ${fmt(first.accounts)} accounts, ${fmt(first.changed)} written` : `  failed after ${firstSeconds.toFixed(1)} s: ${firstError}`);
  // When recomputeAll could not do the first scoring, score everyone with recompute() in chunks of
  // accounts (each a transaction of its own), so the steady-state run below has scores to compare with.
  let chunked: { seconds: number; chunks: number; changed: number } | undefined;
  if (!first) {
    const { rows } = await sql<{ id: number }>`select id from accounts where archived_at is null order by id`.execute(ctx.db);
    const ids = rows.map((r) => Number(r.id));
    ctx.log(`first scoring with recompute() in chunks of ${fmt(FIRST_SCORING_CHUNK)} accounts`);
    started = performance.now();
    chunked = { seconds: 0, chunks: 0, changed: 0 };
    for (let i = 0; i < ids.length; i += FIRST_SCORING_CHUNK) {
      const result = await recompute(db, { accountIds: ids.slice(i, i + FIRST_SCORING_CHUNK), after: raiseAlerts });
      chunked.chunks++;
      chunked.changed += result.changed;
    }
    chunked.seconds = seconds(started);
    ctx.log(`  ${chunked.seconds.toFixed(1)} s in ${chunked.chunks} chunks, ${fmt(chunked.changed)} written`);
  }
  fullBare.push(await bareGroupBy(ctx, null));
  ctx.log('recomputeAll again (nothing changed)');
  started = performance.now();
  const second = await recomputeAll(db, undefined, raiseAlerts);
  const secondSeconds = seconds(started);
  ctx.log(`  ${secondSeconds.toFixed(1)} s, ${fmt(second.changed)} written`);
  const bareFull = fullBare.reduce((a, b) => a + b, 0) / fullBare.length;

  // (b) Incremental: 10,000 dirty accounts whose usage changed today.
  const random = seededRandom(5);
  const { rows: idRows } = await sql<{ id: number }>`select id from accounts where external_id like ${`${PREFIX}%`} order by id`.execute(ctx.db);
  const allIds = idRows.map((r) => Number(r.id));
  const incremental: { recompute: number; bare: number; claimed: number; changed: number; timings?: Record<string, number> }[] = [];
  for (let round = 0; round < INCREMENTAL_ROUNDS; round++) {
    const chosen = new Set<number>();
    while (chosen.size < DIRTY) chosen.add(allIds[Math.floor(random() * allIds.length)]!);
    const ids = [...chosen];
    await sql`
      insert into usage_daily (account_id, day, metric, events, quantity, active_users)
      select id, ${asOf}::date, 'bench.probe', 1, 1, 1 from unnest(${ids}::int8[]) id
      on conflict (account_id, day, metric) do update set events = usage_daily.events + 1`.execute(ctx.db);
    await sql`insert into rescore_queue (account_id) select id from unnest(${ids}::int8[]) id on conflict do nothing`.execute(ctx.db);
    const bare = await bareGroupBy(ctx, ids);
    started = performance.now();
    const result = await recomputeDirty(db, DIRTY, raiseAlerts);
    const recompute = seconds(started);
    incremental.push({ recompute, bare, claimed: result.claimed, changed: result.changed, timings: result.timings });
    ctx.log(`incremental round ${round + 1}: recomputeDirty ${recompute.toFixed(3)} s (${result.claimed} claimed, ${result.changed} written), bare ${bare.toFixed(3)} s`);
  }
  const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;
  const incRecompute = median(incremental.map((r) => r.recompute));
  const incBare = median(incremental.map((r) => r.bare));

  const row = (label: string, secs: number, accounts: number | null, written: number | null): Cell[] => [label, round(secs, 3), accounts, written];
  const ratio = (a: number, b: number): Cell[] => ['ratio recompute / bare', round(a / b, 1), null, null];
  const columns = ['target', 'seconds', 'accounts', 'rows written'];
  return {
    tables: [
      {
        title: `Full recompute: recomputeAll over ${fmt(counts.accounts!)} accounts (BENCH_SCALE=${SCALE})`,
        columns,
        rows: [
          first
            ? row('recomputeAll, first scoring', firstSeconds, first.accounts, first.changed)
            : [`recomputeAll, first scoring: FAILED (${firstError})`, round(firstSeconds, 3), null, null],
          ...(chunked ? [row(`first scoring instead: recompute() in ${chunked.chunks} chunks of ${fmt(FIRST_SCORING_CHUNK)}`, chunked.seconds, counts.accounts!, chunked.changed)] : []),
          row('recomputeAll, steady state: nothing changed (aim ≤ 15 s)', secondSeconds, second.accounts, second.changed),
          row('bare GROUP BY account_id over usage_daily', bareFull, counts.accounts!, null),
          ['ratio recomputeAll (steady state) / bare', round(secondSeconds / bareFull, 1), null, null],
          ...(first ? [['ratio recomputeAll (first scoring) / bare (aim ≤ 5)', round(firstSeconds / bareFull, 1), null, null] as Cell[]] : []),
          [`peak RSS of the process running the first scoring (aim < 1,024 MB): ${fmt(firstPeakRssMb)} MB`, null, null, null],
        ],
      },
      {
        title: `Incremental recompute: recomputeDirty(db, ${fmt(DIRTY)}), ${fmt(DIRTY)} dirty accounts, median of ${INCREMENTAL_ROUNDS} rounds`,
        columns,
        rows: [
          row('recomputeDirty (aim ≤ 2 × bare)', incRecompute, DIRTY, median(incremental.map((r) => r.changed))),
          row('bare GROUP BY over the same accounts’ usage_daily rows', incBare, DIRTY, null),
          ratio(incRecompute, incBare),
        ],
      },
    ],
    notes: [
      `Dataset, generated in SQL in ${generationSeconds.toFixed(0)} s (${steps.map(([n, s]) => `${n} ${s.toFixed(0)} s`).join(', ')}); database ${databaseGb.toFixed(1)} GB: ${tables.map((t) => `${t} ${fmt(counts[t]!)}`).join(', ')}.`,
      `Usage: ${USAGE_DAYS_PER_ACCOUNT} usage_daily rows per account over the last 60 days (every tenth account shifted 20–119 days back, so inactive), 4 metrics, one usage_daily_users row per usage_daily row (12 user ids per account), written in day order as ingest would. Tickets 0–2 per account over 180 days, survey answers 0–2 per account over 360 days, a current contract for 80 % of accounts and a previous renewed one for a fifth of those. No pulses.`,
      `Recomputes ran on connections with ${SCORING_JIT === 'off' ? 'jit = off (see docs/benchmarks.md: with the server default jit = on the writing statement is stuck in LLVM compilation for minutes)' : 'the server’s jit setting (BENCH_SCORING_JIT=server)'}; the bare GROUP BY on the bench pool with the server’s settings.`,
      `Signal tables were loaded with session_replication_role = replica (no foreign-key checks or triggers; consistent by construction, contract_history filled in SQL), then ANALYZE and CHECKPOINT before timing.`,
      `Full: the bare GROUP BY is \`select account_id, sum(events), count(distinct metric) from usage_daily group by account_id\` wrapped in one count/sum so nothing is sent back; server defaults (parallel workers allowed). Timed before and after the first recomputeAll: ${fullBare.map((s) => s.toFixed(2)).join(' s, ')} s. The first scoring writes every health_scores row and two snapshots per account (band change from none, daily), and hands every band change to the alerts hook; the steady-state run computes everything and writes nothing (a real nightly run on a new day also writes one daily snapshot per account).`,
      `Where the time went (ms per step of recompute(): features = the feature statement into hs_features; distributions = percentile breakpoints and distinct-value counts; scoring = the writing statement per scorecard; after = the alerts hook, band-change events and rule evaluation): first scoring ${describeTimings(first?.timings)}; steady state ${describeTimings(second.timings)}; incremental rounds ${incremental.map((r) => describeTimings(r.timings)).join(' / ')}.`,
      `Incremental, per round: ${fmt(DIRTY)} accounts drawn at random, a usage_daily row for today added or bumped for each (so their scores change), their ids put in rescore_queue, then the bare GROUP BY restricted to them (\`where account_id = any($ids)\`) and recomputeDirty. Rounds: ${incremental.map((r) => `${r.recompute.toFixed(3)} s vs ${r.bare.toFixed(3)} s (${r.changed} written)`).join('; ')}.`,
    ],
  };
}
