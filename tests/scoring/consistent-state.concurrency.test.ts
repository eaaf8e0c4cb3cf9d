import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ingestBatch, SIGNALS } from '../../src/signals/ingest.js';
import { compactUsage } from '../../src/signals/usage-compaction.js';
import { RECOMPUTE_STEPS, type RecomputeStep, recompute, recomputeAll, recomputeDirty } from '../../src/scoring/recompute.js';
import { createTestDatabase, onServer, type TestDatabase } from '../support/db.js';

/**
 * A full recompute interleaved, at each of its step boundaries, with ingest,
 * compaction of usage deltas and an incremental rescoring on other sessions.
 * Afterwards (queue drained, nothing running) every stored score must equal a
 * recompute from a quiet snapshot: no score may come from a state older than
 * what another writer had already scored, and no mark may be lost.
 */

const DAY = 86_400_000;
let t: TestDatabase;

class Rollback extends Error {}

/** Every account's score as a recompute of everyone, alone, would write it now (rolled back). */
async function quietScores(): Promise<Map<number, number | null>> {
  let scores = new Map<number, number | null>();
  await t.db
    .transaction()
    .execute(async (trx) => {
      await recompute(trx, { accountIds: null });
      const rows = await trx.selectFrom('health_scores').select(['account_id', 'score']).execute();
      scores = new Map(rows.map((r) => [Number(r.account_id), r.score === null ? null : Number(r.score)]));
      throw new Rollback();
    })
    .catch((e: unknown) => {
      if (!(e instanceof Rollback)) throw e;
    });
  return scores;
}

async function storedScores(): Promise<Map<number, number | null>> {
  const rows = await t.db.selectFrom('health_scores').select(['account_id', 'score']).execute();
  return new Map(rows.map((r) => [Number(r.account_id), r.score === null ? null : Number(r.score)]));
}

/** Usage that lifts an account's score: events on `days` distinct recent days by several users, several metrics. */
function busyUsage(account: string, tag: string, days: number) {
  return Array.from({ length: days * 3 }, (_, i) => ({
    eventId: `${tag}-${i}`,
    account,
    occurredAt: new Date(Date.now() - (Math.floor(i / 3) + 1) * DAY).toISOString(),
    metric: `m${i % 5}`,
    userId: `u${i % 4}`,
  }));
}

/** Another session is waiting for a lock (the incremental run queued behind the full run's scoring lock). */
async function someoneWaitsOnALock(): Promise<boolean> {
  const { rows } = await sql<{ n: number }>`
    select count(*)::int as n from pg_stat_activity where datname = current_database() and wait_event_type = 'Lock'`.execute(t.db);
  return rows[0]!.n > 0;
}

async function settle<T>(run: Promise<T>): Promise<void> {
  let done = false;
  void run.then(
    () => (done = true),
    () => (done = true),
  );
  const deadline = Date.now() + 30_000;
  while (!done && !(await someoneWaitsOnALock())) {
    if (Date.now() > deadline) throw new Error('the incremental run neither finished nor waited on a lock');
    await new Promise((r) => setTimeout(r, 10));
  }
}

const ACCOUNTS = RECOMPUTE_STEPS.length * 2 + 2;
const name = (i: number) => `cs-${i}`;

beforeAll(async () => {
  if (!onServer()) return;
  t = await createTestDatabase();
  // Every account starts thin: a couple of events long ago.
  const items = Array.from({ length: ACCOUNTS }, (_, i) => [
    { eventId: `seed-${i}-a`, account: name(i), occurredAt: new Date(Date.now() - 40 * DAY).toISOString(), metric: 'login', userId: 'u0' },
    { eventId: `seed-${i}-b`, account: name(i), occurredAt: new Date(Date.now() - 25 * DAY).toISOString(), metric: 'login', userId: 'u0' },
  ]).flat();
  await ingestBatch(t.db, SIGNALS.usage, items, { createMissingAccounts: true });
  await t.db.updateTable('accounts').set({ seats: 4 }).execute();
  await recomputeAll(t.db);
  while ((await recomputeDirty(t.db)).claimed > 0);
});
afterAll(() => t?.close());

// True concurrency (other sessions while the full run holds its transaction): the server only.
describe.runIf(onServer())('a full recompute interleaved with ingest, compaction and rescoring', () => {
  it.each(RECOMPUTE_STEPS.map((step, i) => [step, i] as const))(
    'at the boundary after %s, every written score equals a recompute from a quiet snapshot',
    async (boundary: RecomputeStep, index: number) => {
      const changed = [name(index * 2), name(index * 2 + 1)];
      // One batch's transaction begins before the full run (its marks carry that earlier time) and commits at the boundary.
      let commitHeld!: () => void;
      let begun!: () => void;
      const started = new Promise<void>((r) => (begun = r));
      const held = t.db.transaction().execute(async (trx) => {
        await ingestBatch(trx, SIGNALS.usage, busyUsage(changed[0]!, `${boundary}-held`, 20));
        begun();
        await new Promise<void>((r) => (commitHeld = r));
      });
      await started;
      let incremental: Promise<unknown> | undefined;
      const onStep = async (step: RecomputeStep) => {
        if (step !== boundary) return;
        commitHeld();
        await held;
        // New signals arrive for another account, are folded into the rollups, and a rescoring run picks both up.
        await ingestBatch(t.db, SIGNALS.usage, busyUsage(changed[1]!, `${boundary}-new`, 20));
        await compactUsage(t.db);
        incremental = recomputeDirty(t.db);
        await settle(incremental);
      };
      await recomputeAll(t.db, undefined, undefined, { onStep });
      await incremental;
      await compactUsage(t.db);
      while ((await recomputeDirty(t.db)).claimed > 0);

      const stored = await storedScores();
      const quiet = await quietScores();
      const ids = await t.db.selectFrom('accounts').select(['id', 'external_id']).where('external_id', 'in', changed).execute();
      // The accounts did change: the quiet score is not the thin one they started with.
      for (const { id } of ids) expect(quiet.get(Number(id))).toBeGreaterThan(40);
      expect(Object.fromEntries(stored)).toEqual(Object.fromEntries(quiet));
    },
  );
});

describe.skipIf(onServer())('consistent-state interleaving', () => {
  it('needs concurrent sessions: runs on the server (DATABASE_URL)', () => {
    console.log('skipped on the embedded database: one session cannot interleave writers inside a transaction');
  });
});
