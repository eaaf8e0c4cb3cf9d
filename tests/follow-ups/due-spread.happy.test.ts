import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { planFollowUps } from '../../src/follow-ups/planner.js';
import { planFollowUpsNow } from '../../src/compose/plan-now.js';
import { createLogger } from '../../src/logger.js';
import { createTestDatabase, type TestDatabase } from '../support/db.js';
import { accounts, member, nps } from './fixtures.js';

/**
 * #12: follow-ups already due when planned are spread over the assignee's
 * working time (src/follow-ups/pacing.ts), longest overdue first, instead of
 * all starting at the planning instant; and a planning run can be started at
 * once (start-up, after an import) as a recorded manual run of the job.
 */

let t: TestDatabase;
const NOW = new Date('2026-11-06T16:00:00Z'); // a Friday, 16:00 UTC
const OWNER = 'pace@example.com';

beforeAll(async () => {
  t = await createTestDatabase();
  // 09:00–17:00 UTC, four a day: one every two working hours.
  await member(t.db, OWNER, { timezone: 'UTC', daily_capacity: 4 });
  const ids = await accounts(t.db, [...Array.from({ length: 6 }, (_, i) => ({ externalId: `late-${i}`, owner: OWNER })), { externalId: 'fresh', owner: OWNER }]);
  // Detractors of Monday: their 48 h callbacks were due by Wednesday, the most overdue is late-0.
  for (let i = 0; i < 6; i++) await nps(t.db, ids[`late-${i}`]!, `r-late-${i}`, 2, new Date(Date.parse('2026-11-02T10:00:00Z') + i * 3_600_000).toISOString());
  // A detractor of an hour ago: due within 48 h, so planned at its deadline as before.
  await nps(t.db, ids.fresh!, 'r-fresh', 2, '2026-11-06T15:00:00Z');
});
afterAll(async () => t?.close());

const dues = async () =>
  Object.fromEntries(
    (await t.db.selectFrom('follow_ups as f').innerJoin('accounts as a', 'a.id', 'f.account_id').select(['a.external_id', 'f.due_at']).execute()).map((r) => [
      r.external_id,
      r.due_at.toISOString(),
    ]),
  );

describe('planning follow-ups that are already due', () => {
  it('spreads them over the owner’s working time at their daily capacity, longest overdue first', async () => {
    const counts = await planFollowUps(t.db, { now: NOW });
    expect(counts).toMatchObject({ created: 7, spread: 5 });
    expect(await dues()).toEqual({
      'late-0': '2026-11-06T16:00:00.000Z', // the planning instant
      'late-1': '2026-11-09T10:00:00.000Z', // two working hours later: Friday 16–17 and Monday 09–10
      'late-2': '2026-11-09T12:00:00.000Z',
      'late-3': '2026-11-09T14:00:00.000Z',
      'late-4': '2026-11-09T16:00:00.000Z',
      'late-5': '2026-11-10T10:00:00.000Z', // Monday is full (four): Tuesday
      fresh: '2026-11-06T17:00:00.000Z', // 48 h from Friday 15:00 is Sunday: the last working moment before, Friday 17:00
    });
  });

  it('planned again, creates nothing and moves nothing', async () => {
    const before = await dues();
    expect(await planFollowUps(t.db, { now: new Date(NOW.getTime() + 3_600_000) })).toMatchObject({ created: 0, spread: 0 });
    expect(await dues()).toEqual(before);
  });
});

describe('planFollowUpsNow', () => {
  it('runs the plan-follow-ups job at once as a recorded manual run; nothing is planned twice', async () => {
    const logger = createLogger('silent');
    const account = await accounts(t.db, [{ externalId: 'now-1', owner: OWNER }]);
    await nps(t.db, account['now-1']!, 'r-now-1', 1, new Date(Date.now() - 3_600_000).toISOString());
    expect(await planFollowUpsNow(t.db, logger)).toEqual({ created: 1 });
    expect(await planFollowUpsNow(t.db, logger)).toEqual({ created: 0 });
    const runs = await t.db.selectFrom('job_runs').selectAll().where('job_name', '=', 'plan-follow-ups').orderBy('id').execute();
    expect(runs.map((r) => [r.triggered_by, r.outcome])).toEqual([
      ['manual', 'succeeded'],
      ['manual', 'succeeded'],
    ]);
    expect(await t.db.selectFrom('follow_ups').select('id').where('anchor', '=', 'survey:r-now-1').execute()).toHaveLength(1);
  });
});
