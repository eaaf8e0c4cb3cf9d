import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { completeFollowUp, findFollowUp, SECOND_UNRESOLVED } from '../../src/follow-ups/repository.js';
import { escalateOverdue, markDueFollowUps } from '../../src/follow-ups/sweeps.js';
import { createTestDatabase, type TestDatabase } from '../support/db.js';
import { accounts, events, followUp, member } from './fixtures.js';

let t: TestDatabase;
let acme: number;

beforeAll(async () => {
  t = await createTestDatabase();
  ({ acme } = (await accounts(t.db, [{ externalId: 'acme', name: 'Acme', timezone: 'Europe/Berlin' }])) as { acme: number });
  await member(t.db, 'csm@example.com', { timezone: 'Europe/Berlin', manager_email: 'boss@example.com' });
});
afterAll(async () => t?.close());
beforeEach(async () => {
  await t.db.deleteFrom('follow_ups').execute();
  await t.db.deleteFrom('webhook_events').execute();
});

describe('markDueFollowUps', () => {
  it('emits follow_up.due once per follow-up when its due time arrives', async () => {
    const early = await followUp(t.db, { accountId: acme, anchor: 'a', dueAt: '2026-11-05T10:00:00Z' });
    const later = await followUp(t.db, { accountId: acme, anchor: 'b', dueAt: '2026-11-05T14:00:00Z' });
    await followUp(t.db, { accountId: acme, anchor: 'c', dueAt: '2026-11-05T09:00:00Z', status: 'cancelled' });

    expect(await markDueFollowUps(t.db, { now: new Date('2026-11-05T09:59:59Z') })).toEqual({ notified: 0 });
    expect(await markDueFollowUps(t.db, { now: new Date('2026-11-05T12:00:00Z') })).toEqual({ notified: 1 });
    expect(await markDueFollowUps(t.db, { now: new Date('2026-11-05T13:00:00Z') })).toEqual({ notified: 0 });
    expect((await findFollowUp(t.db, early))!.due_notified_at).toEqual(new Date('2026-11-05T12:00:00Z'));

    // Chunks of one: every due row is still announced exactly once.
    expect(await markDueFollowUps(t.db, { now: new Date('2026-11-06T00:00:00Z'), chunkSize: 1 })).toEqual({ notified: 1 });
    const due = await events(t.db, 'follow_up.due');
    expect(due.map((e) => e.payload.followUpId)).toEqual([early, later]);
    expect(due[0]!.payload).toMatchObject({ account: { externalId: 'acme', name: 'Acme' }, dueAt: '2026-11-05T10:00:00.000Z', title: 'Test call' });
    expect(due[0]!.occurred_at).toEqual(new Date('2026-11-05T10:00:00Z'));
  });

  it('announces a follow-up once even when two sweeps run at the same time', async () => {
    for (let i = 0; i < 20; i++) await followUp(t.db, { accountId: acme, anchor: `x${i}`, dueAt: '2026-11-05T10:00:00Z' });
    const now = new Date('2026-11-05T12:00:00Z');
    const [a, b] = await Promise.all([markDueFollowUps(t.db, { now, chunkSize: 3 }), markDueFollowUps(t.db, { now, chunkSize: 3 })]);
    expect(a.notified + b.notified).toBe(20);
    expect(await events(t.db, 'follow_up.due')).toHaveLength(20);
  });
});

describe('escalateOverdue', () => {
  it('escalates to the manager after 2 business days in the assignee’s calendar, once', async () => {
    // Due Thursday 17:00 Berlin; 2 business days later is Monday 17:00 Berlin (16:00Z).
    const id = await followUp(t.db, { accountId: acme, anchor: 'thu', dueAt: '2026-11-05T16:00:00Z', timezone: 'Europe/Berlin' });
    expect(await escalateOverdue(t.db, { now: new Date('2026-11-09T15:59:59Z') })).toEqual({ escalated: 0, missed: 0 });
    expect(await escalateOverdue(t.db, { now: new Date('2026-11-09T16:00:00Z') })).toEqual({ escalated: 1, missed: 0 });
    expect(await escalateOverdue(t.db, { now: new Date('2026-11-10T16:00:00Z') })).toEqual({ escalated: 0, missed: 0 });

    const row = (await findFollowUp(t.db, id))!;
    expect(row).toMatchObject({ status: 'scheduled', escalated_to: 'boss@example.com', escalation_reason: 'overdue by 2 business days' });
    expect(row.escalated_at).toEqual(new Date('2026-11-09T16:00:00Z'));
    const overdue = await events(t.db, 'follow_up.overdue');
    expect(overdue).toHaveLength(1);
    expect(overdue[0]!.payload).toMatchObject({
      followUpId: id,
      escalatedTo: 'boss@example.com',
      reason: 'overdue by 2 business days',
      followUpReason: 'Because of thu',
      account: { externalId: 'acme' },
    });
  });

  it('honours overdueBusinessDays, and escalates to no one when there is no manager on record', async () => {
    const id = await followUp(t.db, { accountId: acme, anchor: 'nomgr', dueAt: '2026-11-05T16:00:00Z', assignee: 'stranger@example.com' });
    // UTC defaults: Thursday 16:00 + 1 business day = Friday 16:00.
    expect(await escalateOverdue(t.db, { now: new Date('2026-11-06T15:59:00Z'), overdueBusinessDays: 1 })).toMatchObject({ escalated: 0 });
    expect(await escalateOverdue(t.db, { now: new Date('2026-11-06T16:00:00Z'), overdueBusinessDays: 1 })).toMatchObject({ escalated: 1 });
    expect(await findFollowUp(t.db, id)).toMatchObject({ escalated_to: null, escalation_reason: 'overdue by 1 business day' });
  });

  it('marks follow-ups more than 14 days overdue missed (after escalating them)', async () => {
    const old = await followUp(t.db, { accountId: acme, anchor: 'old', dueAt: '2026-10-20T10:00:00Z' });
    const recent = await followUp(t.db, { accountId: acme, anchor: 'recent', dueAt: '2026-10-25T10:00:00Z' });
    const done = await followUp(t.db, { accountId: acme, anchor: 'done', dueAt: '2026-10-01T10:00:00Z', status: 'cancelled' });
    const now = new Date('2026-11-05T12:00:00Z');
    expect(await escalateOverdue(t.db, { now })).toEqual({ escalated: 2, missed: 1 });
    expect(await findFollowUp(t.db, old)).toMatchObject({ status: 'missed', missed_at: now });
    expect(await findFollowUp(t.db, recent)).toMatchObject({ status: 'scheduled', missed_at: null });
    expect(await findFollowUp(t.db, done)).toMatchObject({ status: 'cancelled' });
    expect(await escalateOverdue(t.db, { now, missedAfterDays: 7 })).toEqual({ escalated: 0, missed: 1 });
  });
});

describe('second unresolved follow-up', () => {
  it('escalates and emits follow_up.overdue when an earlier follow-up on the same problem also ended unresolved', async () => {
    const cause = { causeType: 'contract' as const, causeRef: 'c-1' };
    const first = await followUp(t.db, { accountId: acme, anchor: 'contract:c-1:90', dueAt: '2026-11-05T10:00:00Z', ...cause });
    const second = await followUp(t.db, { accountId: acme, anchor: 'contract:c-1:60', dueAt: '2026-12-05T10:00:00Z', ...cause });
    const other = await followUp(t.db, { accountId: acme, anchor: 'contract:c-2:90', dueAt: '2026-12-05T10:00:00Z', causeType: 'contract', causeRef: 'c-2' });

    const r1 = await completeFollowUp(t.db, first, { outcome: 'unresolved', notes: 'price objection' });
    expect(r1).toMatchObject({ ok: true, escalated: false });
    const r3 = await completeFollowUp(t.db, other, { outcome: 'unresolved', notes: null });
    expect(r3).toMatchObject({ ok: true, escalated: false });
    expect(await events(t.db, 'follow_up.overdue')).toHaveLength(0);

    const r2 = await completeFollowUp(t.db, second, { outcome: 'unresolved', notes: 'still unhappy' }, new Date('2026-12-05T11:00:00Z'));
    expect(r2).toMatchObject({ ok: true, escalated: true });
    expect(await findFollowUp(t.db, second)).toMatchObject({
      status: 'done',
      outcome: 'unresolved',
      escalated_to: 'boss@example.com',
      escalation_reason: SECOND_UNRESOLVED,
    });
    const overdue = await events(t.db, 'follow_up.overdue');
    expect(overdue).toHaveLength(1);
    expect(overdue[0]!.payload).toMatchObject({ followUpId: second, reason: 'second unresolved follow-up', escalatedTo: 'boss@example.com', outcome: 'unresolved' });
  });

  it('a resolved outcome, or an earlier one that was resolved, escalates nothing', async () => {
    const cause = { causeType: 'survey' as const, causeRef: 'r-1' };
    const a = await followUp(t.db, { accountId: acme, anchor: 'survey:r-1', dueAt: '2026-11-05T10:00:00Z', ...cause });
    const b = await followUp(t.db, { accountId: acme, anchor: 'survey:r-1:again', dueAt: '2026-11-06T10:00:00Z', ...cause });
    const c = await followUp(t.db, { accountId: acme, anchor: 'survey:r-1:third', dueAt: '2026-11-07T10:00:00Z', ...cause });
    await completeFollowUp(t.db, a, { outcome: 'resolved', notes: null });
    expect(await completeFollowUp(t.db, b, { outcome: 'unresolved', notes: null })).toMatchObject({ escalated: false });
    expect(await completeFollowUp(t.db, c, { outcome: 'resolved', notes: null })).toMatchObject({ escalated: false });
    expect(await events(t.db, 'follow_up.overdue')).toHaveLength(0);
  });
});
