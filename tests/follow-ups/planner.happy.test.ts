import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { planFollowUps } from '../../src/follow-ups/planner.js';
import { createTestDatabase, type TestDatabase } from '../support/db.js';
import { accounts, alert, bandChange, contract, events, member, nps, ticket } from './fixtures.js';

let t: TestDatabase;
const NOW = new Date('2026-11-06T16:00:00Z'); // a Friday
const day = 86_400_000;
const isoDay = (offsetDays: number) => new Date(NOW.getTime() + offsetDays * day).toISOString().slice(0, 10);

type Row = { playbook_key: string; anchor: string; external_id: string; assignee: string | null; timezone: string; due_at: Date; kind: string; cause_type: string; cause_ref: string; reason: string; status: string };
async function followUps(): Promise<Row[]> {
  const { rows } = await sql<Row>`
    select f.playbook_key, f.anchor, a.external_id, f.assignee, f.timezone, f.due_at, f.kind, f.cause_type, f.cause_ref, f.reason, f.status
      from follow_ups f join accounts a on a.id = f.account_id
     order by a.external_id, f.playbook_key, f.anchor`.execute(t.db);
  return rows;
}
const of = (rows: Row[], externalId: string) => rows.filter((r) => r.external_id === externalId);

let ids: Record<string, number>;
let alertId: number;

beforeAll(async () => {
  t = await createTestDatabase();
  ids = await accounts(t.db, [
    { externalId: 'nps-ny', timezone: 'America/New_York', owner: ' Dana@Example.com ', tier: 'smb' },
    { externalId: 'ticket-berlin', timezone: 'Europe/Berlin', owner: 'csm.berlin@example.com' },
    { externalId: 'red-tokyo', timezone: 'Europe/London', owner: 'kenji@example.com', retentionOwner: 'ret@example.com' },
    { externalId: 'yellow', owner: 'csm@example.com' },
    { externalId: 'was-red', owner: 'csm@example.com' },
    { externalId: 'renew-90', owner: 'renewals@example.com' },
    { externalId: 'renew-50', owner: 'renewals@example.com' },
    { externalId: 'renew-qbr', owner: 'renewals@example.com' },
    { externalId: 'renew-churned', owner: 'renewals@example.com' },
    { externalId: 'ent', tier: 'Enterprise', owner: 'ent@example.com' },
    { externalId: 'ent-no-owner', tier: 'enterprise' },
    { externalId: 'mm', segment: 'mid-market', tier: 'gold', owner: 'mm@example.com' },
    { externalId: 'archived', tier: 'enterprise', owner: 'csm@example.com' },
    { externalId: 'churn-sydney', timezone: 'Australia/Sydney', owner: 'csm@example.com', retentionOwner: 'ret@example.com' },
    { externalId: 'churn-unassigned', owner: 'csm@example.com', retentionOwner: 'Ret@Example.com' },
    { externalId: 'churn-resolved', owner: 'csm@example.com' },
  ]);
  await t.db.updateTable('accounts').set({ archived_at: new Date('2026-11-01T00:00:00Z') }).where('external_id', '=', 'archived').execute();
  await member(t.db, 'kenji@example.com', { timezone: 'Asia/Tokyo' });

  await nps(t.db, ids['nps-ny']!, 'r-detractor', 3, '2026-11-06T15:00:00Z', 'Too slow');
  await nps(t.db, ids['nps-ny']!, 'r-promoter', 9, '2026-11-06T15:00:00Z');
  await nps(t.db, ids['nps-ny']!, 'r-old', 2, '2026-09-01T12:00:00Z');
  await nps(t.db, ids['archived']!, 'r-archived', 1, '2026-11-06T12:00:00Z');

  await ticket(t.db, ids['ticket-berlin']!, 'T-1', { escalated: true, status: 'solved', solvedAt: '2026-11-05T12:00:00Z', subject: 'Export broken' });
  await ticket(t.db, ids['ticket-berlin']!, 'T-2', { escalated: false, status: 'solved', solvedAt: '2026-11-05T12:00:00Z' });
  await ticket(t.db, ids['ticket-berlin']!, 'T-3', { escalated: true, status: 'open', solvedAt: null });

  await bandChange(t.db, ids['red-tokyo']!, '2026-11-06T08:00:00Z', 'red', 'yellow'); // Friday 17:00 in Tokyo
  await bandChange(t.db, ids['yellow']!, '2026-11-06T08:00:00Z', 'yellow', 'green');
  await bandChange(t.db, ids['was-red']!, '2026-11-02T08:00:00Z', 'red', 'yellow');
  await bandChange(t.db, ids['was-red']!, '2026-11-04T08:00:00Z', 'green', 'red');

  // Opened Friday 10:00 in Sydney (AEDT +11): 1 business day later is Monday 10:00 there.
  alertId = await alert(t.db, ids['churn-sydney']!, { assignee: 'Jordan@Example.com', openedAt: '2026-11-05T23:00:00Z', reason: 'Usage fell 45%' });
  await alert(t.db, ids['churn-unassigned']!, { assignee: null, openedAt: '2026-11-06T09:00:00Z' });
  await alert(t.db, ids['churn-resolved']!, { assignee: 'jordan@example.com', openedAt: '2026-11-06T09:00:00Z', resolved: true });

  await contract(t.db, ids['renew-90']!, 'c-90', isoDay(90));
  await contract(t.db, ids['renew-50']!, 'c-50', isoDay(50));
  await contract(t.db, ids['renew-qbr']!, 'c-qbr', isoDay(120));
  await contract(t.db, ids['renew-churned']!, 'c-x', isoDay(90), 'churned');
});
afterAll(async () => t?.close());

describe('planFollowUps', () => {
  let firstRun: Awaited<ReturnType<typeof planFollowUps>>;
  let rows: Row[];

  beforeAll(async () => {
    firstRun = await planFollowUps(t.db, { now: NOW });
    rows = await followUps();
  });

  it('NPS detractor: callback within 48 h, in the account’s zone for an assignee not in the team table', () => {
    expect(of(rows, 'nps-ny')).toEqual([
      expect.objectContaining({
        playbook_key: 'nps-detractor-callback',
        anchor: 'survey:r-detractor',
        cause_type: 'survey',
        cause_ref: 'r-detractor',
        kind: 'call',
        assignee: 'dana@example.com',
        timezone: 'America/New_York',
        // responded Friday 10:00 New York; +48 h is Sunday, so Friday 17:00
        due_at: new Date('2026-11-06T22:00:00Z'),
        reason: 'NPS 3 on 2026-11-06: "Too slow"',
      }),
    ]);
  });

  it('escalated ticket solved: satisfaction call 3 business days after solved_at', () => {
    expect(of(rows, 'ticket-berlin')).toEqual([
      expect.objectContaining({
        playbook_key: 'escalated-ticket-satisfaction-call',
        anchor: 'ticket:T-1',
        cause_type: 'ticket',
        assignee: 'csm.berlin@example.com',
        timezone: 'Europe/Berlin',
        // Thursday 13:00 Berlin + 3 business days = Tuesday 13:00
        due_at: new Date('2026-11-10T12:00:00Z'),
        reason: 'Escalated ticket T-1 solved on 2026-11-05: Export broken',
      }),
    ]);
  });

  it('account turned red: CSM call within 2 business days in the owner’s own zone', () => {
    const [row] = of(rows, 'red-tokyo');
    expect(row).toMatchObject({
      playbook_key: 'red-account-csm-call',
      anchor: 'band_change:2026-11-06T08:00:00.000000Z',
      cause_type: 'band_change',
      assignee: 'kenji@example.com',
      timezone: 'Asia/Tokyo',
      // Friday 17:00 Tokyo + 2 business days = Tuesday 17:00 Tokyo
      due_at: new Date('2026-11-10T08:00:00Z'),
    });
    expect(of(rows, 'red-tokyo')).toHaveLength(1);
    expect(of(rows, 'yellow')).toEqual([]);
    expect(of(rows, 'was-red')).toEqual([]);
  });

  it('renewal milestones: QBR at 120 days, check-ins at 90/60/30, only the latest milestone passed', () => {
    expect(of(rows, 'renew-90').map((r) => [r.playbook_key, r.anchor, r.kind, r.due_at.toISOString()])).toEqual([
      // milestone day Friday: 09:00 + 3 business days = Tuesday 17:00 (UTC: no calendar of their own, no account zone)
      ['renewal-check-in', 'contract:c-90:90', 'call', '2026-11-10T17:00:00.000Z'],
    ]);
    expect(of(rows, 'renew-50').map((r) => [r.anchor, r.due_at.toISOString()])).toEqual([
      // the 60-day milestone was 10 days ago: its deadline passed, so due now
      ['contract:c-50:60', NOW.toISOString()],
    ]);
    expect(of(rows, 'renew-qbr').map((r) => [r.playbook_key, r.anchor, r.kind])).toEqual([['renewal-qbr', 'contract:c-qbr:120', 'qbr']]);
    expect(of(rows, 'renew-churned')).toEqual([]);
  });

  it('periodic: a monthly visit per enterprise account and a quarterly call per mid-market account', () => {
    expect(of(rows, 'ent').map((r) => [r.playbook_key, r.anchor, r.kind, r.due_at.toISOString()])).toEqual([
      // from Sunday 1 November: 10 business days end Friday 13 November 17:00
      ['enterprise-monthly-visit', 'periodic:2026-11', 'visit', '2026-11-13T17:00:00.000Z'],
    ]);
    expect(of(rows, 'ent-no-owner')).toEqual([expect.objectContaining({ anchor: 'periodic:2026-11', assignee: null })]);
    expect(of(rows, 'mm').map((r) => [r.playbook_key, r.anchor, r.due_at.toISOString()])).toEqual([
      ['mid-market-quarterly-call', 'periodic:2026-Q4', NOW.toISOString()],
    ]);
    expect(of(rows, 'archived')).toEqual([]);
  });

  it('churn alert opened: retention call within 1 business day, for the alert’s assignee', () => {
    expect(of(rows, 'churn-sydney')).toEqual([
      expect.objectContaining({
        playbook_key: 'churn-alert-retention-call',
        anchor: `alert:${alertId}`,
        cause_type: 'alert',
        cause_ref: String(alertId),
        kind: 'call',
        assignee: 'jordan@example.com',
        timezone: 'Australia/Sydney',
        due_at: new Date('2026-11-08T23:00:00Z'),
        reason: `Churn alert ${alertId} (usage-drop, high) opened on 2026-11-05: Usage fell 45%`,
      }),
    ]);
    // No assignee on the alert: the retention owner, then the owner.
    expect(of(rows, 'churn-unassigned').map((r) => r.assignee)).toEqual(['ret@example.com']);
    expect(of(rows, 'churn-resolved')).toEqual([]);
  });

  it('every due time is at or after the run and counts add up', () => {
    expect(rows.every((r) => r.due_at.getTime() >= NOW.getTime())).toBe(true);
    expect(firstRun).toMatchObject({ created: rows.length, candidates: rows.length, movedForCapacity: 0 });
    expect(firstRun.playbooks).toBeGreaterThanOrEqual(7);
  });

  it('emits follow_up.created once per follow-up, in the same transaction', async () => {
    const created = await events(t.db, 'follow_up.created');
    expect(created).toHaveLength(rows.length);
    const npsEvent = created.find((e) => (e.payload.playbook as { key: string }).key === 'nps-detractor-callback')!;
    expect(npsEvent.subject_account_id).toBe(ids['nps-ny']);
    expect(npsEvent.payload).toMatchObject({
      account: { externalId: 'nps-ny', name: 'NPS-NY' },
      kind: 'call',
      title: 'NPS detractor callback',
      assignee: 'dana@example.com',
      dueAt: '2026-11-06T22:00:00.000Z',
      cause: { type: 'survey', ref: 'r-detractor' },
      status: 'scheduled',
    });
    expect(typeof npsEvent.payload.followUpId).toBe('number');
  });

  it('a second run creates nothing and emits nothing', async () => {
    const again = await planFollowUps(t.db, { now: NOW });
    expect(again).toMatchObject({ created: 0, candidates: 0 });
    expect(await followUps()).toHaveLength(rows.length);
    expect(await events(t.db, 'follow_up.created')).toHaveLength(rows.length);
    // An hour later, still nothing new; a new detractor is the only addition.
    await nps(t.db, ids['nps-ny']!, 'r-new', 0, '2026-11-06T16:30:00Z');
    const later = await planFollowUps(t.db, { now: new Date(NOW.getTime() + 3_600_000) });
    expect(later).toMatchObject({ created: 1, candidates: 1 });
    expect(of(await followUps(), 'nps-ny').map((r) => r.anchor)).toEqual(['survey:r-detractor', 'survey:r-new']);
  });

  it('the UNIQUE (account, playbook, anchor) key holds even for concurrent runs', async () => {
    await nps(t.db, ids['nps-ny']!, 'r-race', 1, '2026-11-06T16:40:00Z');
    const now = new Date(NOW.getTime() + 2 * 3_600_000);
    const results = await Promise.all([planFollowUps(t.db, { now }), planFollowUps(t.db, { now })]);
    expect(results[0]!.created + results[1]!.created).toBe(1);
    const { rows: dupes } = await sql<{ n: number }>`
      select count(*)::int as n from (select 1 from follow_ups group by account_id, playbook_key, anchor having count(*) > 1) d`.execute(t.db);
    expect(dupes[0]!.n).toBe(0);
  });
});

describe('capacity', () => {
  it('moves follow-ups past an assignee’s daily capacity to the next working days, same local time', async () => {
    await member(t.db, 'busy@example.com', { timezone: 'UTC', daily_capacity: 2 });
    const busy = await accounts(
      t.db,
      [1, 2, 3, 4, 5].map((i) => ({ externalId: `busy-${i}`, owner: 'busy@example.com' })),
    );
    for (const [externalId, id] of Object.entries(busy)) await nps(t.db, id, `r-${externalId}`, 2, '2026-11-06T10:00:00Z');
    // Pages of two: the counts of earlier pages come from the database.
    const run = await planFollowUps(t.db, { now: NOW, chunkSize: 2 });
    expect(run).toMatchObject({ created: 5, movedForCapacity: 3 });
    const dues = (await followUps()).filter((r) => r.assignee === 'busy@example.com').map((r) => r.due_at.toISOString()).sort();
    expect(dues).toEqual([
      '2026-11-06T17:00:00.000Z',
      '2026-11-06T17:00:00.000Z',
      '2026-11-09T17:00:00.000Z',
      '2026-11-09T17:00:00.000Z',
      '2026-11-10T17:00:00.000Z',
    ]);
  });
});
