import { sql } from 'kysely';
import postgres from 'postgres';
import { createPostgresDb } from '../../src/db/postgres.js';
import { runBacktest } from '../../src/proof/backtest.js';
import { fitScorecard } from '../../src/proof/fit.js';
import { DEFAULT_SCORECARD } from '../../src/scoring/scorecard.js';
import { today } from '../../src/scoring/recompute.js';
import { fmt, round, SCALE, scaled, seconds } from '../lib/scale.js';
import type { Section } from '../lib/types.js';
import { scoringUrl } from './scoring.js';

/**
 * Issue 10: backtest and fit over 100,000 accounts with two years of history
 * (weekly usage rollups, tickets with versions, survey answers, two contracts
 * each: one renewal outcome a year ago, one in the last year), each beside a
 * bare scan of the same rows in the same run.
 */
const ACCOUNTS = scaled(100_000, 10);
const PREFIX = 'pf-';

async function generate(databaseUrl: string, asOf: string, log: (m: string) => void) {
  const client = postgres(databaseUrl, { max: 1, onnotice: () => {} });
  const step = async (name: string, statement: string) => {
    const started = performance.now();
    await client.unsafe(statement, [asOf, ACCOUNTS].slice(0, statement.includes('$2') ? 2 : 1) as never[]);
    log(`  ${name}: ${seconds(started).toFixed(1)} s`);
  };
  try {
    await client.unsafe(`set work_mem = '512MB'`);
    await client.unsafe(`select setseed(0.10)`);
    await step(
      'accounts',
      `insert into accounts (external_id, name, segment, seats, arr, currency, renewal_date)
       select '${PREFIX}' || lpad(n::text, 7, '0'), 'Proof customer ' || n, (array['smb', 'mid-market', 'enterprise'])[1 + n % 3],
              5 + n % 50, 12000, 'USD', $1::date + (n % 365)::int from generate_series(1, $2::int) n`,
    );
    await client.unsafe(`create temp table pf_ids as select id, row_number() over (order by id) as n,
                           random() as risk from accounts where external_id like '${PREFIX}%'`);
    await client.unsafe(`set session_replication_role = replica`);
    // Two years of weekly usage: riskier accounts fade over the last months.
    await step(
      'usage_daily (104 weeks)',
      `insert into usage_daily (account_id, day, metric, events, quantity, active_users)
       select id, $1::date - w * 7 - (n % 7)::int, 'metric-' || (w % 4), greatest(1, (20 * (1 - risk * (1 - least(w, 26) / 26.0)))::int), 1, 1
         from pf_ids cross join generate_series(0, 103) w order by 2, 1`,
    );
    await step(
      'tickets and versions',
      `with t as (
         insert into tickets (account_id, ticket_id, status, priority, kind, opened_at, first_response_at, solved_at, reopen_count, escalated, sla_breached, source_updated_at)
         select id, 'T-' || id || '-' || j, 'solved', 'normal', case when random() < risk * 0.5 then 'complaint' end,
                o, o + interval '3 hours', o + interval '2 days', 0, random() < risk * 0.2, false, o + interval '2 days'
           from (select id, risk, j, $1::date - (random() * 730 * interval '1 day') as o from pf_ids cross join generate_series(1, 1 + (n % 4)::int) j) x
         returning *)
       insert into ticket_history (account_id, ticket_id, source_updated_at, status, priority, kind, first_response_at, solved_at, reopen_count, escalated, sla_breached)
       select account_id, ticket_id, source_updated_at, status, priority, kind, first_response_at, solved_at, reopen_count, escalated, sla_breached from t`,
    );
    await step(
      'survey_responses',
      `insert into survey_responses (account_id, response_id, kind, score, responded_at)
       select id, 'R-' || id || '-' || j, 'nps', least(10, greatest(0, round(9 - risk * 8 + random() * 2)))::int, $1::date - (j * 180 + n % 90)::int
         from pf_ids cross join generate_series(0, 3) j`,
    );
    await step(
      'source_days',
      `insert into source_days (source, day)
       select s, $1::date - d from unnest(array['usage', 'support', 'nps', 'commercial']) s cross join generate_series(0, 800) d
       on conflict do nothing`,
    );
    await client.unsafe(`set session_replication_role = origin`);
    // Contracts through their triggers (history and outcomes): a renewal a year ago, then an outcome in the last year.
    await step(
      'contracts, history and outcomes',
      `insert into contracts (account_id, contract_id, start_date, end_date, arr, seats, auto_renew, status, source_updated_at)
       select id, 'C-' || id || '-1', $1::date - 730 - (n % 300)::int, $1::date - 365 - (n % 300)::int, 12000, 10, true, 'renewed',
              ($1::date - 365 - (n % 300)::int)::timestamptz
         from pf_ids
       union all
       select id, 'C-' || id || '-2', $1::date - 365 - (n % 300)::int, $1::date - (n % 300)::int, 12000, 10, risk < 0.5,
              case when random() < 0.15 + risk * 0.5 then 'churned' else 'renewed' end, ($1::date - (n % 300)::int)::timestamptz
         from pf_ids`,
    );
    await client.unsafe('analyze');
  } finally {
    await client.end({ timeout: 5 });
  }
}

/** The bare scan: every row the observations' windows read, aggregated per account, server-side. */
async function bareScan(db: ReturnType<typeof createPostgresDb>['db']) {
  const started = performance.now();
  await sql`
    select (select count(*) from (select account_id, sum(events), count(distinct metric) from usage_daily group by account_id) u),
           (select count(*) from (select account_id, count(*), sum(reopen_count) from tickets group by account_id) t),
           (select count(*) from (select account_id, max(responded_at), avg(score) from survey_responses group by account_id) s),
           (select count(*) from (select account_id, max(end_date), sum(arr) from contracts group by account_id) c)`.execute(db);
  return seconds(started);
}

export const proof: Section = {
  name: 'proof',
  async run(ctx) {
    const asOf = today();
    ctx.log(`generating ${fmt(ACCOUNTS)} accounts with two years of history (BENCH_SCALE=${SCALE})`);
    await generate(ctx.databaseUrl, asOf, ctx.log);
    const counts = (
      await sql<{ usage: string; tickets: string; outcomes: string }>`
        select (select count(*) from usage_daily) as usage, (select count(*) from tickets) as tickets, (select count(*) from outcomes) as outcomes`.execute(ctx.db)
    ).rows[0]!;
    ctx.log(`usage_daily ${fmt(Number(counts.usage))}, tickets ${fmt(Number(counts.tickets))}, outcomes ${fmt(Number(counts.outcomes))}`);
    const database = createPostgresDb({ url: scoringUrl(ctx.databaseUrl), max: 2 });
    try {
      const bareBefore = await bareScan(database.db);
      ctx.log('backtest of the default scorecard over every outcome');
      let started = performance.now();
      const backtest = await runBacktest(database.db, DEFAULT_SCORECARD, { horizonDays: 90 });
      const backtestSeconds = seconds(started);
      ctx.log(`  ${backtestSeconds.toFixed(1)} s, ${fmt(backtest.observations)} observations, AUC ${backtest.rocAuc}`);
      ctx.log('fit over every outcome');
      started = performance.now();
      const fitted = await fitScorecard(database.db, { horizonDays: 90, seed: 1 });
      const fitSeconds = seconds(started);
      ctx.log(`  ${fitSeconds.toFixed(1)} s, cross-validated AUC ${fitted.result.validation.crossValidatedAuc.mean.toFixed(3)}`);
      const bareAfter = await bareScan(database.db);
      const bare = Math.min(bareBefore, bareAfter);
      return {
        tables: [
          {
            title: `Backtest and fit, ${fmt(ACCOUNTS)} accounts, ${fmt(backtest.observations)} outcomes, two years of history`,
            columns: ['figure', 'seconds', 'bare scan (s)', 'ratio', 'aim'],
            rows: [
              ['backtest (default scorecard)', round(backtestSeconds, 1), round(bare, 2), round(backtestSeconds / bare, 1), '< 60 s'],
              ['fit (all features, 5-fold CV + time split, then its backtest)', round(fitSeconds, 1), round(bare, 2), round(fitSeconds / bare, 1), '< 60 s'],
            ],
          },
        ],
        notes: [
          `usage_daily ${fmt(Number(counts.usage))} rows, tickets ${fmt(Number(counts.tickets))}, outcomes ${fmt(Number(counts.outcomes))}`,
          `default scorecard AUC ${backtest.rocAuc}; fitted cross-validated AUC ${fitted.result.validation.crossValidatedAuc.mean.toFixed(3)} (generated data: riskier accounts fade, complain and answer lower)`,
          'bare scan: a GROUP BY per account over usage_daily, tickets, survey_responses and contracts, all rows, server-side (the better of before and after)',
        ],
      };
    } finally {
      await database.close();
    }
  },
};
