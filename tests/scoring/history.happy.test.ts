import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { raiseAlerts } from '../../src/alerts/index.js';
import { scoreAccountsAsOf } from '../../src/scoring/as-of-feed.js';
import { backfillHistory, backfillMarked, historyInstants } from '../../src/scoring/backfill.js';
import { recompute } from '../../src/scoring/recompute.js';
import { generatePortfolio, type GeneratedPortfolio, loadPortfolio } from '../support/churn-portfolio.js';
import { startTestServer, type TestServer } from '../support/server.js';

/**
 * History from the first hour: a portfolio arrives with months of signals;
 * the backfill scores every account as of each past day in set-based SQL and
 * stores it as snapshots. Each stored score equals the as-of score at that
 * instant (single and bulk, stored and computed), the backfill raises no
 * alert and no event, and a backtest at one of those instants bands the
 * accounts exactly as the as-of scores do.
 */
let s: TestServer;
let portfolio: GeneratedPortfolio;
const DAY = 86_400_000;
const HORIZON = 7;
const DAILY = 10;
const WEEKLY_UNTIL = 24;
// Every outcome on one day, three days ago: the backtest judges every account at one instant (HORIZON days before).
const until = new Date(Math.floor(Date.now() / DAY) * DAY - 3 * DAY);
const judgedAt = new Date(until.getTime() - HORIZON * DAY);

interface Snapshot {
  account_id: number;
  taken_at: Date;
  score: number | null;
  band: string | null;
  coverage: number;
  backfilled: boolean;
}

const counts = async () => {
  const { rows } = await sql<{ alerts: number; events: number; scores: number; follow_ups: number }>`
    select (select count(*)::int from alerts) as alerts, (select count(*)::int from webhook_events) as events,
           (select count(*)::int from health_scores) as scores, (select count(*)::int from follow_ups) as follow_ups`.execute(s.db);
  return rows[0]!;
};

beforeAll(async () => {
  s = await startTestServer();
  portfolio = generatePortfolio({ accounts: 40, seed: 18, prefix: 'hist', until, spreadDays: 1 });
  await loadPortfolio(s, portfolio);
});
afterAll(() => s?.close());

describe('score history backfill', () => {
  let before: Awaited<ReturnType<typeof counts>>;
  let snapshots: Snapshot[];

  it('the instants: the midnights ending each of the last days, then weekly, oldest first', () => {
    const now = new Date('2026-03-10T15:00:00Z');
    const instants = historyInstants({ now, dailyDays: 3, weeklyUntilDays: 17 });
    expect(instants.map((i) => [i.at.toISOString(), i.day])).toEqual([
      ['2026-02-22T00:00:00.000Z', '2026-02-21'],
      ['2026-03-01T00:00:00.000Z', '2026-02-28'],
      ['2026-03-08T00:00:00.000Z', '2026-03-07'],
      ['2026-03-09T00:00:00.000Z', '2026-03-08'],
      ['2026-03-10T00:00:00.000Z', '2026-03-09'],
    ]);
    expect(historyInstants({ now, dailyDays: 3, weeklyUntilDays: 17, since: '2026-03-01' })).toHaveLength(3);
  });

  it('writes one backfilled daily snapshot per account and past day, and nothing else: no score, alert, event or follow-up', async () => {
    before = await counts();
    const result = await backfillHistory(s.db, { dailyDays: DAILY, weeklyUntilDays: WEEKLY_UNTIL });
    const instants = historyInstants({ dailyDays: DAILY, weeklyUntilDays: WEEKLY_UNTIL });
    expect(result.instants).toBe(instants.length);
    expect(result.snapshots).toBe(instants.length * portfolio.accounts.length);
    snapshots = (
      await sql<Snapshot>`select account_id, taken_at, score, band, coverage, backfilled from health_snapshots where reason = 'daily' order by taken_at, account_id`.execute(s.db)
    ).rows;
    expect(snapshots).toHaveLength(result.snapshots);
    expect(snapshots.every((r) => r.backfilled)).toBe(true);
    expect(new Set(snapshots.map((r) => r.taken_at.getTime()))).toEqual(new Set(instants.map((i) => i.at.getTime())));
    // Scores moved over the days (the usage of churners fades), so the history has something to show.
    expect(new Set(snapshots.map((r) => r.score)).size).toBeGreaterThan(portfolio.accounts.length);
    expect(await counts()).toEqual(before);
  });

  it('a second run writes the same rows', async () => {
    await backfillHistory(s.db, { dailyDays: DAILY, weeklyUntilDays: WEEKLY_UNTIL });
    const again = (
      await sql<Snapshot>`select account_id, taken_at, score, band, coverage, backfilled from health_snapshots where reason = 'daily' order by taken_at, account_id`.execute(s.db)
    ).rows;
    expect(again).toEqual(snapshots);
  });

  it('each stored score equals the as-of score at its instant: one account at a time over HTTP, and set-based', async () => {
    const instants = historyInstants({ dailyDays: DAILY, weeklyUntilDays: WEEKLY_UNTIL });
    const ids = (await s.db.selectFrom('accounts').select(['id', 'external_id']).orderBy('id').execute()).map((a) => ({ id: Number(a.id), externalId: a.external_id }));
    for (const instant of [instants[0]!, instants[Math.floor(instants.length / 2)]!, instants.at(-1)!]) {
      const stored = snapshots.filter((r) => r.taken_at.getTime() === instant.at.getTime());
      const computed = await scoreAccountsAsOf(s.db, ids.map((a) => a.id), instant.at);
      expect(stored.map((r) => [Number(r.account_id), r.score, r.band, r.coverage])).toEqual(
        stored.map((r) => {
          const c = computed.get(Number(r.account_id))!;
          return [Number(r.account_id), c.score, c.band, c.coverage];
        }),
      );
      for (const account of ids.slice(0, 3)) {
        const res = await s.call('GET', `/v1/accounts/${account.externalId}/health?as_of=${encodeURIComponent(instant.at.toISOString())}`);
        expect(res.status).toBe(200);
        const body = (await res.json()) as { score: number | null; band: string | null };
        const row = stored.find((r) => Number(r.account_id) === account.id)!;
        expect([body.score, body.band]).toEqual([row.score === null ? null : Math.round(row.score * 100) / 100, row.band]);
      }
    }
  });

  it('without the stored judgement of the instant, the as-of score judges every account as of then, and agrees', async () => {
    const instant = historyInstants({ dailyDays: DAILY, weeklyUntilDays: WEEKLY_UNTIL }).at(-2)!;
    const stored = await s.db.selectFrom('history_instants').select('uninformative').where('as_of', '=', instant.at).executeTakeFirstOrThrow();
    // The generated contracts are never overdue: a measure with one value for everyone, no information.
    expect(stored.uninformative).toContain('payment_overdue');
    await s.db.deleteFrom('history_instants').where('as_of', '=', instant.at).execute();
    const ids = snapshots.filter((r) => r.taken_at.getTime() === instant.at.getTime());
    const computed = await scoreAccountsAsOf(s.db, ids.map((r) => Number(r.account_id)), instant.at);
    expect(ids.map((r) => [r.score, r.band])).toEqual(ids.map((r) => [computed.get(Number(r.account_id))!.score, computed.get(Number(r.account_id))!.band]));
    await backfillHistory(s.db, { dailyDays: DAILY, weeklyUntilDays: WEEKLY_UNTIL, since: instant.day });
  });

  it('a backtest at one of those instants bands every account as the as-of scores do', async () => {
    const res = await s.call('POST', '/v1/scorecards/backtest', { body: { horizonDays: HORIZON } });
    expect(res.status).toBe(201);
    const { report } = (await res.json()) as { report: { observations: number; bands: { band: string; accounts: number }[]; measures: { key: string; direction: string }[] } };
    expect(report.observations).toBe(portfolio.accounts.length);
    expect(report.measures.find((m) => m.key === 'payment')!.direction).toBe('no_information');

    const feed = await s.call('GET', `/v1/health?as_of=${encodeURIComponent(judgedAt.toISOString())}&limit=1000`);
    expect(feed.status).toBe(200);
    const items = ((await feed.json()) as { items: { band: string | null; score: number | null }[] }).items;
    expect(items).toHaveLength(portfolio.accounts.length);
    const asOf = Object.fromEntries(['green', 'yellow', 'red'].map((band) => [band, items.filter((i) => i.band === band).length]));
    expect(Object.fromEntries(report.bands.map((b) => [b.band, b.accounts]))).toEqual(asOf);
    // Not all one band: the comparison says something.
    expect(Object.values(asOf).filter((n) => n > 0).length).toBeGreaterThan(1);
  });

  it('the live run, unlike the backfill, does raise events for band changes (so the count above could have moved)', async () => {
    await recompute(s.db, { accountIds: null, after: raiseAlerts });
    const after = await counts();
    expect(after.scores).toBe(portfolio.accounts.length);
    expect(after.events).toBeGreaterThan(before.events);
  });
});

describe('the bulk as-of feed', () => {
  const instant = () => historyInstants({ dailyDays: DAILY, weeklyUntilDays: WEEKLY_UNTIL }).at(-1)!.at;

  it('pages through every account in account order, stored history and computed alike', async () => {
    const seen: string[] = [];
    let cursor: string | null = null;
    let pages = 0;
    do {
      const res = await s.call('GET', `/v1/health?as_of=${encodeURIComponent(instant().toISOString())}&limit=15${cursor ? `&cursor=${cursor}` : ''}`);
      expect(res.status).toBe(200);
      const page = (await res.json()) as { items: { externalId: string; asOf: string }[]; nextCursor: string | null; hasMore: boolean };
      seen.push(...page.items.map((i) => i.externalId));
      expect(page.items.every((i) => i.asOf === instant().toISOString())).toBe(true);
      cursor = page.hasMore ? page.nextCursor : null;
      pages++;
    } while (cursor);
    expect(pages).toBe(3);
    expect(seen).toEqual(portfolio.accounts.map((a) => a.externalId));

    // An instant the history does not hold (mid-afternoon): computed, the same shape.
    const odd = new Date(instant().getTime() - DAY / 3).toISOString();
    const res = await s.call('GET', `/v1/health?as_of=${encodeURIComponent(odd)}&limit=5`);
    expect(res.status).toBe(200);
    const page = (await res.json()) as { items: { score: number | null }[]; hasMore: boolean };
    expect(page.items).toHaveLength(5);
    expect(page.hasMore).toBe(true);
    expect(page.items.every((i) => i.score !== null)).toBe(true);
  });

  it('CSV: a UTF-8 byte order mark, a header, rounded scores and the next cursor in a header', async () => {
    const res = await s.call('GET', `/v1/health?as_of=${encodeURIComponent(instant().toISOString())}&format=csv&limit=10`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toContain('text/csv');
    const bytes = new Uint8Array(await res.arrayBuffer());
    expect([...bytes.slice(0, 3)]).toEqual([0xef, 0xbb, 0xbf]);
    const lines = new TextDecoder().decode(bytes.slice(3)).trim().split('\n');
    expect(lines[0]).toBe('externalId,name,owner,segment,score,band,coverage,churnProbability,scorecardVersion,scorecardSegment,asOf');
    expect(lines).toHaveLength(11);
    for (const line of lines.slice(1)) expect(line.split(',')[4]).toMatch(/^\d+(\.\d{1,2})?$/);
    expect(res.headers.get('x-has-more')).toBe('true');
    expect(res.headers.get('x-next-cursor')).toMatch(/^[A-Za-z0-9_-]+$/);
  });

  it('refuses an instant in the future and updated_since beside as_of', async () => {
    const future = await s.call('GET', `/v1/health?as_of=${encodeURIComponent(new Date(Date.now() + 2 * DAY).toISOString())}`);
    expect(future.status).toBe(400);
    const both = await s.call('GET', `/v1/health?as_of=${encodeURIComponent(instant().toISOString())}&updated_since=${encodeURIComponent(instant().toISOString())}`);
    expect(both.status).toBe(400);
  });
});

describe('back-dated signals queue the backfill', () => {
  it('settled marks are taken by the job, which writes the history from the earliest marked day', async () => {
    // The portfolio's own load marked every account: taken first.
    expect(await backfillMarked(s.db, { settleMs: 0, dailyDays: DAILY, weeklyUntilDays: WEEKLY_UNTIL })).toMatchObject({ accounts: portfolio.accounts.length });
    const account = portfolio.accounts[0]!.externalId;
    const day = new Date(Math.floor(Date.now() / DAY) * DAY - 4 * DAY + 3600_000).toISOString();
    const res = await s.call('POST', '/v1/usage/batch', { body: { items: [{ eventId: 'late-1', account, occurredAt: day, metric: 'late' }] } });
    expect(res.status).toBe(200);
    const marks = await s.db.selectFrom('history_backfill_marks').selectAll().execute();
    expect(marks.map((m) => String(m.since))).toEqual([day.slice(0, 10)]);
    // Not settled yet: nothing taken.
    expect(await backfillMarked(s.db, { settleMs: 3_600_000, dailyDays: DAILY, weeklyUntilDays: WEEKLY_UNTIL })).toMatchObject({ accounts: 0, waiting: 1 });
    const done = await backfillMarked(s.db, { settleMs: 0, dailyDays: DAILY, weeklyUntilDays: WEEKLY_UNTIL });
    expect(done).toMatchObject({ accounts: 1, instants: 4, snapshots: 4 });
    expect(await s.db.selectFrom('history_backfill_marks').selectAll().execute()).toEqual([]);
  });
});
