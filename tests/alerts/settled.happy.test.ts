import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { raiseAlerts } from '../../src/alerts/after-scoring.js';
import { sweepAlerts } from '../../src/alerts/evaluate.js';
import { recomputeAll, recomputeDirty } from '../../src/scoring/recompute.js';
import { settleImports } from '../../src/signals/imports.js';
import { ingestBatch, SIGNALS } from '../../src/signals/ingest.js';
import { createTestDatabase, type TestDatabase } from '../support/db.js';
import { useRuleSet } from './fixtures.js';

const DAY = 86_400_000;
let t: TestDatabase;

beforeAll(async () => {
  t = await createTestDatabase();
  // The shipped rules and budget, with a settle window no test waits out: imports end by settleImports here.
  await useRuleSet(t.db, { budget: { maxShareOfAccounts: 0.2, perSpecialist: 30, minAlerts: 25 }, settleMinutes: 600 });
});
afterAll(() => t?.close());

/**
 * A year of history: every account was active most days until `stopDaysAgo`
 * (0: still is); healthy ones gave NPS 9, the others 3. Returned by month, oldest first.
 */
function yearOfHistory(accounts: { id: string; stopDaysAgo: number; nps: number }[]) {
  const months: { usage: unknown[]; surveys: unknown[] }[] = Array.from({ length: 12 }, () => ({ usage: [], surveys: [] }));
  for (const a of accounts) {
    for (let d = 364; d >= 1; d--) {
      if (d < a.stopDaysAgo || d % 7 === 3) continue;
      const month = Math.min(11, Math.floor((364 - d) / 30.5));
      months[month]!.usage.push({
        eventId: `${a.id}-${d}`,
        account: a.id,
        occurredAt: new Date(Date.now() - d * DAY).toISOString(),
        metric: `m${d % 4}`,
        userId: `u${d % 3}`,
      });
    }
    for (const d of [300, 200, 100, 10]) {
      months[Math.min(11, Math.floor((364 - d) / 30.5))]!.surveys.push({
        responseId: `${a.id}-nps-${d}`,
        account: a.id,
        kind: 'nps',
        score: d === 10 ? a.nps : 8,
        respondedAt: new Date(Date.now() - d * DAY).toISOString(),
      });
    }
  }
  return months;
}

const unresolved = async (db = t.db) =>
  (
    await sql<{ key: string }>`
      select acc.external_id || ' ' || al.rule_key as key from alerts al join accounts acc on acc.id = al.account_id
       where al.status <> 'resolved' order by 1`.execute(db)
  ).rows.map((r) => r.key);

class Rollback extends Error {}

describe('settled before alerting', () => {
  it('a backfill of a year of history opens no alert until settled, then only those a quiet recompute opens', async () => {
    const accounts = [
      ...Array.from({ length: 6 }, (_, i) => ({ id: `hist-ok-${i}`, stopDaysAgo: 0, nps: 9 })),
      ...Array.from({ length: 3 }, (_, i) => ({ id: `hist-gone-${i}`, stopDaysAgo: 75, nps: 3 })),
    ];
    const months = yearOfHistory(accounts);
    let scoredWhileLoading = 0;
    for (const month of months) {
      await ingestBatch(t.db, SIGNALS.usage, month.usage, { createMissingAccounts: true });
      if (month.surveys.length) await ingestBatch(t.db, SIGNALS.surveys, month.surveys, { createMissingAccounts: true });
      // The rescoring job runs between batches, alerts hook and all: every partial state is scored.
      for (let r = await recomputeDirty(t.db, undefined, raiseAlerts); r.claimed > 0; r = await recomputeDirty(t.db, undefined, raiseAlerts)) {
        scoredWhileLoading += r.claimed;
      }
      expect(await unresolved()).toEqual([]);
      expect((await sweepAlerts(t.db)).opened).toBe(0);
    }
    expect(scoredWhileLoading).toBeGreaterThanOrEqual(accounts.length * 6);
    // Partial states were red: early in the load every account looked inactive for months.
    const { rows: redWhileLoading } = await sql<{ n: number }>`
      select count(distinct account_id)::int as n from health_snapshots where band = 'red'`.execute(t.db);
    expect(redWhileLoading[0]!.n).toBeGreaterThan(3);

    expect(await settleImports(t.db)).toBe(accounts.length);
    await sweepAlerts(t.db);
    const settled = await unresolved();
    expect(settled.length).toBeGreaterThan(0);
    expect(settled.every((k) => k.startsWith('hist-gone-'))).toBe(true);

    // A quiet recompute of the same data, from nothing, opens the same alerts (rolled back afterwards).
    let quiet: string[] = [];
    await t.db
      .transaction()
      .execute(async (trx) => {
        await sql`delete from alert_events`.execute(trx);
        await sql`delete from alerts`.execute(trx);
        await sql`delete from alert_openings`.execute(trx);
        await sql`delete from health_snapshots`.execute(trx);
        await sql`delete from health_scores`.execute(trx);
        await recomputeAll(trx, undefined, raiseAlerts);
        quiet = await unresolved(trx);
        throw new Rollback();
      })
      .catch((e: unknown) => {
        if (!(e instanceof Rollback)) throw e;
      });
    expect(settled).toEqual(quiet);
  });

  it('an import settles by itself settleMinutes after its last back-dated batch; live signals never hold alerts back', async () => {
    await useRuleSet(t.db, { settleMinutes: 0 });
    await ingestBatch(
      t.db,
      SIGNALS.surveys,
      [{ responseId: 'late-1', account: 'hist-late', kind: 'nps', score: 1, respondedAt: new Date(Date.now() - 30 * DAY).toISOString() }],
      { createMissingAccounts: true },
    );
    await recomputeDirty(t.db, undefined, raiseAlerts);
    const imports = await t.db.selectFrom('account_imports').innerJoin('accounts', 'accounts.id', 'account_imports.account_id').select(['settled_at']).where('external_id', '=', 'hist-late').execute();
    // With a window of 0 the evaluation after the batch already finds it settled.
    expect(imports).toHaveLength(1);
    expect(imports[0]!.settled_at).not.toBeNull();
    // A live answer (today) starts no import.
    await ingestBatch(t.db, SIGNALS.surveys, [{ responseId: 'live-1', account: 'hist-live', kind: 'nps', score: 9, respondedAt: new Date().toISOString() }], {
      createMissingAccounts: true,
    });
    await recomputeDirty(t.db, undefined, raiseAlerts);
    const live = await t.db.selectFrom('account_imports').innerJoin('accounts', 'accounts.id', 'account_imports.account_id').select('account_id').where('external_id', '=', 'hist-live').execute();
    expect(live).toEqual([]);
  });
});
