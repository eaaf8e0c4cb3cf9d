import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { rescoreUntil } from '../../src/scoring/jobs.js';
import { compactUntil } from '../../src/signals/usage-compaction.js';
import { recomputeDirty } from '../../src/scoring/recompute.js';
import { DEFAULT_SCORECARD } from '../../src/scoring/scorecard.js';
import { activateScorecard, createScorecardVersion } from '../../src/scoring/scorecards.js';
import { startTestServer, type TestServer } from '../support/server.js';
import { foldRescoreMarks, rescoreBacklog } from '../../src/scoring/rescore-marks.js';
import { waitFor } from '../support/process.js';

let s: TestServer;
beforeAll(async () => {
  s = await startTestServer();
  await s.call('POST', '/v1/accounts/batch', { body: { items: [{ externalId: 'job-a', name: 'Job A', seats: 5 }] } });
});
afterAll(() => s.close());

const post = (eventId: string) =>
  s.call('POST', '/v1/usage/batch', {
    body: { items: [{ eventId, account: 'job-a', occurredAt: new Date().toISOString(), metric: 'login', userId: eventId }] },
  });
const queued = () => rescoreBacklog(s.db);

describe('the rescore-dirty job body', () => {
  it('keeps draining until its deadline: a signal that arrives mid-run is scored in the same run', async () => {
    expect((await post('first')).status).toBe(200);
    expect(await queued()).toBe(1);
    // A deadline far enough off that a busy machine still finds the run idling between passes.
    // Usage compaction beside the passes, as the registry hands it to the job (src/compose/jobs.ts).
    const run = rescoreUntil(s.db, new Date(Date.now() + 20_000), { idleMs: 100, beside: (deadline, options) => compactUntil(s.db, deadline, options) });
    await waitFor(async () => (await queued()) === 0, 15_000, 'the first pass');
    expect((await post('second')).status).toBe(200);
    const counts = await run;
    expect(counts.accounts).toBe(2);
    expect(counts.passes).toBeGreaterThan(2);
    expect(await queued()).toBe(0);
    // Beside the scoring passes, the run folded both events' usage deltas into the rollups.
    expect(counts.deltasCompacted).toBe(2);
    const { rows: left } = await sql<{ n: number }>`select count(*)::int as n from usage_daily_deltas`.execute(s.db);
    expect(left[0]!.n).toBe(0);
    const rollup = await s.db.selectFrom('usage_daily').select((eb) => eb.fn.sum<string>('events').as('events')).executeTakeFirstOrThrow();
    expect(Number(rollup.events)).toBe(2);
    const health = (await (await s.call('GET', '/v1/accounts/job-a/health')).json()) as { score: number | null };
    expect(health.score).not.toBeNull();
  });

  it('a run that starts after its deadline (catch-up) still makes one pass', async () => {
    expect((await post('late')).status).toBe(200);
    const counts = await rescoreUntil(s.db, new Date(Date.now() - 60_000));
    expect(counts).toMatchObject({ passes: 1, accounts: 1 });
    expect(await queued()).toBe(0);
  });
});

describe('percentile features nobody has yet', () => {
  it('are recorded as computed, empty, so incremental runs do not refresh them again', async () => {
    // A scorecard ranking ticket volume by percentile, while no account has tickets.
    const card = structuredClone(DEFAULT_SCORECARD);
    card.groups[1]!.measures.push({ key: 'ticket_volume', label: 'Tickets per seat', feature: 'tickets_per_seat_90d', weight: 4, mapping: { type: 'percentile', higherIsBetter: false } });
    const created = await createScorecardVersion(s.db, null, card);
    await s.db.transaction().execute((trx) => activateScorecard(trx, created.id));
    const distribution = () =>
      s.db.selectFrom('feature_distributions').select(['breakpoints', 'computed_at']).where('feature', '=', 'tickets_per_seat_90d').where('segment_key', '=', '*').executeTakeFirst();
    await rescoreUntil(s.db, new Date(Date.now() - 1)); // whatever is queued
    expect((await post('pct-1')).status).toBe(200);
    await rescoreUntil(s.db, new Date(Date.now() - 1));
    const first = await distribution();
    expect(first?.breakpoints).toEqual([]);
    expect((await post('pct-2')).status).toBe(200);
    expect(await rescoreUntil(s.db, new Date(Date.now() - 1))).toMatchObject({ accounts: 1 });
    expect((await distribution())?.computed_at).toEqual(first!.computed_at);
    // Nor is the count of distinct values behind "no information" taken again.
    const information = () =>
      s.db.selectFrom('feature_information').select('computed_at').where('feature', '=', 'tickets_per_seat_90d').orderBy('computed_at', 'desc').executeTakeFirstOrThrow();
    const counted = await information();
    expect((await post('pct-3')).status).toBe(200);
    expect(await rescoreUntil(s.db, new Date(Date.now() - 1))).toMatchObject({ accounts: 1 });
    expect((await information()).computed_at).toEqual(counted.computed_at);
  });
});

describe('the rescore queue lease', () => {
  it('accounts another run holds are skipped until its lease runs out, then taken and cleared', async () => {
    await rescoreUntil(s.db, new Date(Date.now() - 1));
    expect((await post('lease-1')).status).toBe(200);
    await foldRescoreMarks(s.db);
    await s.db.updateTable('rescore_queue').set({ claimed_until: new Date(Date.now() + 60_000) }).execute();
    expect(await recomputeDirty(s.db)).toMatchObject({ claimed: 0 });
    expect(await queued()).toBe(1);
    await s.db.updateTable('rescore_queue').set({ claimed_until: new Date(Date.now() - 1_000) }).execute();
    expect(await recomputeDirty(s.db)).toMatchObject({ claimed: 1 });
    expect(await queued()).toBe(0);
  });
});
