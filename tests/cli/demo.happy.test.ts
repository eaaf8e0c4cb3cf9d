import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type CliDatabase, createCliDatabase } from './cli-database.js';

let t: CliDatabase;
beforeAll(async () => {
  t = await createCliDatabase();
});
afterAll(() => t.close());

const TABLES = ['accounts', 'usage_events', 'usage_daily', 'tickets', 'survey_responses', 'contracts', 'contract_history', 'follow_ups', 'team_members'];

const tableCounts = () =>
  t.query(async (db) => {
    const counts: Record<string, number> = {};
    for (const table of TABLES) {
      counts[table] = Number((await sql<{ n: string }>`select count(*) as n from ${sql.table(table)}`.execute(db)).rows[0]!.n);
    }
    return counts;
  });

// Each test runs the CLI in child processes, several times: slow on a busy 2-core machine.
describe('npm run cli -- demo', { timeout: 420_000 }, () => {
  // Pinned, so a run that straddles midnight UTC still generates the same days twice.
  const asOf = new Date().toISOString().slice(0, 10);

  it('fills every signal table, and a re-run adds nothing', async () => {
    const first = await t.cli('demo', '--accounts', '20', '--seed', '7', '--as-of', asOf);
    expect(first.code, first.output).toBe(0);
    expect(first.output).toMatch(/accounts\s+20 created/);
    const counts = await tableCounts();
    for (const table of TABLES) expect(counts[table], table).toBeGreaterThan(0);
    expect(counts.accounts).toBe(20);
    // The demo settled what the jobs would do (src/demo/settle.ts): nothing is left queued for rescoring.
    expect(await t.query(async (db) => Number((await sql<{ n: string }>`select count(*) as n from rescore_queue`.execute(db)).rows[0]!.n))).toBe(0);
    expect(first.output).toMatch(/settled\s+20 accounts scored/);
    // Two years of signals with renewal outcomes among them, and score history as of past days.
    expect(first.output).toMatch(/history\s+\d+ past days scored/);
    const days = await t.query(async (db) => (await sql<{ n: number }>`select count(distinct day)::int as n from health_snapshots where backfilled`.execute(db)).rows[0]!.n);
    expect(days).toBeGreaterThan(100);
    const span = await t.query(async (db) => (await sql<{ days: number }>`select (max(day) - min(day))::int as days from usage_daily`.execute(db)).rows[0]!.days);
    expect(span).toBeGreaterThan(700);
    const outcomes = await t.query(async (db) => (await sql<{ kind: string }>`select distinct kind from outcomes order by kind`.execute(db)).rows.map((r) => r.kind));
    expect(outcomes).toContain('renewed');

    // (the history is idempotent too, and the longest step: left out of the re-run)
    const again = await t.cli('demo', '--accounts', '20', '--seed', '7', '--as-of', asOf, '--no-history');
    expect(again.code, again.output).toBe(0);
    for (const label of ['accounts', 'contracts', 'tickets', 'surveys', 'usage events']) {
      expect(again.output).toMatch(new RegExp(`${label}\\s+0 created, 0 updated, \\d+ unchanged`));
    }
    expect(await tableCounts()).toEqual(counts);
  });

  it('generates a varied portfolio', async () => {
    await t.query(async (db) => {
      const accounts = await db.selectFrom('accounts').select(['external_id', 'segment', 'owner', 'seats', 'arr', 'currency', 'timezone', 'renewal_date']).execute();
      expect(accounts.map((a) => a.external_id).sort().slice(0, 2)).toEqual(['demo-7-0001', 'demo-7-0002']);
      expect(new Set(accounts.map((a) => a.segment)).size).toBeGreaterThan(1);
      for (const a of accounts) {
        expect(a.owner).toMatch(/@example\.com$/);
        expect(a.seats).toBeGreaterThan(0);
        expect(a.arr).toBeGreaterThan(0);
        expect(a.renewal_date).toMatch(/^\d{4}-\d{2}-\d{2}$/);
      }
      const statuses = await db.selectFrom('tickets').select('status').distinct().execute();
      expect(statuses.length).toBeGreaterThan(1);
      const kinds = await db.selectFrom('survey_responses').select('kind').distinct().orderBy('kind').execute();
      expect(kinds.map((k) => k.kind)).toEqual(['ces', 'csat', 'nps']);
    });
  });
});
