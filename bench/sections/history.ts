import { sql } from 'kysely';
import postgres from 'postgres';
import { createApp } from '../../src/app.js';
import { createApiKey } from '../../src/auth/repository.js';
import { createPostgresDb } from '../../src/db/postgres.js';
import { createLogger } from '../../src/logger.js';
import { backfillHistory, historyInstants } from '../../src/scoring/backfill.js';
import { today } from '../../src/scoring/recompute.js';
import { fmt, round, SCALE, scaled, seconds } from '../lib/scale.js';
import type { Section } from '../lib/types.js';
import { scoringUrl } from './scoring.js';

/**
 * Issue 18: the score-history backfill of 100,000 accounts × 90 days (daily
 * instants) beside a bare GROUP BY over the same rows, and the bulk as-of
 * feed (GET /v1/health?as_of=, JSON pages of 10,000) in accounts per second
 * beside a bare scan of the stored rows. HISTORY_DAYS overrides the 90 days.
 */
const ACCOUNTS = scaled(100_000, 10);
const DAYS = Number(process.env.HISTORY_DAYS ?? 90);
const PREFIX = 'hb-';
const PAGE = 10_000;

async function generate(databaseUrl: string, asOf: string, log: (m: string) => void) {
  const client = postgres(databaseUrl, { max: 1, onnotice: () => {} });
  const step = async (name: string, statement: string) => {
    const started = performance.now();
    // The sizes are numbers of this file, inlined; the date is a parameter.
    await client.unsafe(statement.replaceAll('$2::int', String(ACCOUNTS)).replaceAll('$3::int', String(DAYS)), [asOf] as never[]);
    log(`  ${name}: ${seconds(started).toFixed(1)} s`);
  };
  try {
    await client.unsafe(`set work_mem = '512MB'`);
    await client.unsafe(`select setseed(0.18)`);
    await step(
      'accounts',
      `insert into accounts (external_id, name, segment, seats, arr, currency, renewal_date)
       select '${PREFIX}' || lpad(n::text, 7, '0'), 'History customer ' || n, (array['smb', 'mid-market', 'enterprise'])[1 + n % 3],
              5 + n % 50, 12000, 'USD', $1::date + (n % 365)::int from generate_series(1, $2::int) n`,
    );
    await client.unsafe(`create temp table hb_ids as select id, row_number() over (order by id) as n, random() as risk
                           from accounts where external_id like '${PREFIX}%'`);
    await client.unsafe(`set session_replication_role = replica`);
    // Daily usage over the backfilled days and the 180-day windows behind the oldest: riskier accounts fade.
    await step(
      'usage_daily (daily, days + 180)',
      `insert into usage_daily (account_id, day, metric, events, quantity, active_users)
       select id, $1::date - d, 'metric-' || (d % 3), greatest(0, (8 * (1 - risk * least(1, (($3::int + 180) - d) / 150.0)))::int) + 1, 1, 1
         from hb_ids cross join generate_series(1, $3::int + 180) d
        where random() < 0.8 - risk * 0.4
        order by 2, 1`,
    );
    await step(
      'tickets',
      `insert into tickets (account_id, ticket_id, status, priority, kind, opened_at, first_response_at, solved_at, reopen_count, escalated, sla_breached, source_updated_at)
       select id, 'T-' || id || '-' || j, 'solved', 'normal', case when random() < risk * 0.5 then 'complaint' end,
              o, o + interval '3 hours', o + interval '2 days', 0, random() < risk * 0.2, false, o + interval '2 days'
         from (select id, risk, j, $1::date - (random() * ($3::int + 180) * interval '1 day') as o from hb_ids cross join generate_series(1, 1 + (n % 4)::int) j) x`,
    );
    await step(
      'survey_responses',
      `insert into survey_responses (account_id, response_id, kind, score, responded_at)
       select id, 'R-' || id || '-' || j, 'nps', least(10, greatest(0, round(9 - risk * 8 + random() * 2)))::int, $1::date - (j * 90 + n % 90)::int
         from hb_ids cross join generate_series(0, 3) j`,
    );
    await step(
      'source_days',
      `insert into source_days (source, day)
       select s, $1::date - d from unnest(array['usage', 'support', 'nps', 'commercial']) s cross join generate_series(0, 800) d
       on conflict do nothing`,
    );
    await client.unsafe(`set session_replication_role = origin`);
    await step(
      'contracts',
      `insert into contracts (account_id, contract_id, start_date, end_date, arr, seats, auto_renew, status, source_updated_at)
       select id, 'C-' || id, $1::date - 400 - (n % 300)::int, $1::date + 300 - (n % 300)::int, 12000, 10, risk < 0.5, 'active',
              ($1::date - 400 - (n % 300)::int)::timestamptz
         from hb_ids`,
    );
    await client.unsafe('analyze');
  } finally {
    await client.end({ timeout: 5 });
  }
}

/** The bare GROUP BY: every usage row the backfill's windows cover, grouped per account and day, with the other signals per account, server-side. */
async function bareGroupBy(db: ReturnType<typeof createPostgresDb>['db']) {
  const started = performance.now();
  await sql`
    select (select count(*) from (select account_id, day, sum(events), count(distinct metric) from usage_daily group by account_id, day) u),
           (select count(*) from (select account_id, count(*), sum(reopen_count) from tickets group by account_id) t),
           (select count(*) from (select account_id, max(responded_at), avg(score) from survey_responses group by account_id) s),
           (select count(*) from (select account_id, max(end_date), sum(arr) from contracts group by account_id) c)`.execute(db);
  return seconds(started);
}

export const history: Section = {
  name: 'history',
  async run(ctx) {
    const asOf = today();
    ctx.log(`generating ${fmt(ACCOUNTS)} accounts with ${DAYS + 180} days of daily usage (BENCH_SCALE=${SCALE}, HISTORY_DAYS=${DAYS})`);
    await generate(ctx.databaseUrl, asOf, ctx.log);
    const usageRows = Number((await sql<{ n: string }>`select count(*) as n from usage_daily`.execute(ctx.db)).rows[0]!.n);
    const database = createPostgresDb({ url: scoringUrl(ctx.databaseUrl), max: 2 });
    try {
      const bareBefore = await bareGroupBy(database.db);
      ctx.log(`backfill: ${DAYS} daily instants`);
      let started = performance.now();
      const backfill = await backfillHistory(database.db, { dailyDays: DAYS, weeklyUntilDays: DAYS });
      const backfillSeconds = seconds(started);
      ctx.log(`  ${backfillSeconds.toFixed(1)} s, ${fmt(backfill.snapshots)} snapshots (${(backfillSeconds / backfill.instants).toFixed(2)} s per instant)`);
      const bareAfter = await bareGroupBy(database.db);
      const bare = Math.min(bareBefore, bareAfter);

      // The feed at the newest backfilled instant, page by page over HTTP in-process (auth, query, JSON).
      const instant = historyInstants({ dailyDays: DAYS, weeklyUntilDays: DAYS }).at(-1)!.at.toISOString();
      const { key } = await createApiKey(database.db, 'bench history', ['read']);
      const app = createApp({ database: () => database.db, logger: createLogger('silent') });
      const readFeed = async (at: string, maxPages = Number.POSITIVE_INFINITY) => {
        let cursor: string | null = null;
        let items = 0;
        let pages = 0;
        const begun = performance.now();
        do {
          const res = await app.request(`/v1/health?as_of=${encodeURIComponent(at)}&limit=${PAGE}${cursor ? `&cursor=${cursor}` : ''}`, {
            headers: { authorization: `Bearer ${key}` },
          });
          if (res.status !== 200) throw new Error(`feed: ${res.status} ${await res.text()}`);
          const page = (await res.json()) as { items: unknown[]; nextCursor: string | null; hasMore: boolean };
          items += page.items.length;
          cursor = page.hasMore ? page.nextCursor : null;
          pages++;
        } while (cursor && pages < maxPages);
        return { items, seconds: seconds(begun) };
      };
      const feed = await readFeed(instant);
      ctx.log(`  feed: ${fmt(feed.items)} accounts in ${feed.seconds.toFixed(2)} s`);
      // An instant the history does not hold (noon): computed set-based, one page.
      const computed = await readFeed(new Date(Date.parse(instant) - 12 * 3600_000).toISOString(), 1);
      ctx.log(`  computed feed page: ${fmt(computed.items)} accounts in ${computed.seconds.toFixed(2)} s`);
      started = performance.now();
      const scanned = await sql`select s.account_id, a.external_id, s.score, s.band, s.coverage from health_snapshots s join accounts a on a.id = s.account_id
                                 where s.reason = 'daily' and s.taken_at = ${instant}::timestamptz`.execute(database.db);
      const scanSeconds = seconds(started);
      const perSecond = (n: number, s: number) => Math.round(n / s);
      return {
        tables: [
          {
            title: `Score-history backfill, ${fmt(ACCOUNTS)} accounts × ${DAYS} days (${fmt(usageRows)} usage rows)`,
            columns: ['figure', 'seconds', 'bare GROUP BY (s)', 'ratio', 'aim'],
            rows: [['backfill (set-based, one statement per instant and scorecard)', round(backfillSeconds, 1), round(bare, 2), round(backfillSeconds / bare, 1), '≤ 10× the bare GROUP BY']],
          },
          {
            title: `Bulk as-of feed (GET /v1/health?as_of=, pages of ${fmt(PAGE)})`,
            columns: ['figure', 'accounts', 'seconds', 'accounts/s', 'bare scan accounts/s', 'aim'],
            rows: [
              ['stored history (a backfilled day)', feed.items, round(feed.seconds, 2), perSecond(feed.items, feed.seconds), perSecond(scanned.rows.length, scanSeconds), '≥ 20,000 accounts/s'],
              ['computed (an instant not stored), first page', computed.items, round(computed.seconds, 2), perSecond(computed.items, computed.seconds), perSecond(scanned.rows.length, scanSeconds), '—'],
            ],
          },
        ],
        notes: [
          `backfill: ${backfill.instants} instants, ${fmt(backfill.snapshots)} snapshots, ${fmt(backfill.bandChanges)} band changes`,
          'bare GROUP BY: usage_daily grouped per account and day (every row the windows cover), tickets, survey answers and contracts per account, server-side (the better of before and after)',
          'bare scan: the stored snapshot rows of that instant joined to their accounts, fetched by the client in one query',
          'computed feed page: features of every account as of the instant (to judge no-information on the population), then the page scored',
        ],
      };
    } finally {
      await database.close();
    }
  },
};
