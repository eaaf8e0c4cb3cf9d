import ical from 'node-ical';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { planFollowUps } from '../../src/follow-ups/planner.js';
import { expectProblem } from '../support/problem.js';
import { startTestServer, type TestServer } from '../support/server.js';
import { accounts, followUp, nps } from './fixtures.js';

let s: TestServer;
let readKey: string;
let writeKey: string;
let acme: number;
let globex: number;

const DAY = 86_400_000;
/** A weekday at 10:00 UTC some days ahead, so due times are in the future whenever the suite runs. */
function futureWeekday(daysAhead: number, hourUtc = 10): Date {
  const d = new Date(Date.now() + daysAhead * DAY);
  d.setUTCHours(hourUtc, 0, 0, 0);
  while (d.getUTCDay() === 0 || d.getUTCDay() === 6) d.setUTCDate(d.getUTCDate() + 1);
  return d;
}

type FollowUpJson = {
  id: number;
  account: { externalId: string; name: string };
  status: string;
  outcome: string | null;
  notes: string | null;
  assignee: string | null;
  dueAt: string;
  timezone: string;
  cause: { type: string; ref: string };
  escalation: unknown;
  cancelReason: string | null;
};
type Page = { items: FollowUpJson[]; nextCursor: string | null; hasMore: boolean };
const json = async <T>(res: Response, status = 200): Promise<T> => {
  expect(res.status, await res.clone().text()).toBe(status);
  return (await res.json()) as T;
};

const ids: number[] = [];

/** The VEVENTs of a feed, read by node-ical (an independent parser). */
const veventsOf = (text: string) =>
  Object.values(ical.sync.parseICS(text)).filter((c): c is ical.VEvent => c !== undefined && c.type === 'VEVENT');

beforeAll(async () => {
  s = await startTestServer();
  readKey = await s.keyWith('read');
  writeKey = await s.keyWith('write');
  ({ acme, globex } = (await accounts(s.db, [
    { externalId: 'acme', name: 'Acme', timezone: 'Europe/Berlin' },
    { externalId: 'globex', name: 'Globex', timezone: 'America/New_York' },
  ])) as { acme: number; globex: number });
  for (let i = 0; i < 5; i++) {
    ids.push(await followUp(s.db, { accountId: acme, anchor: `a${i}`, dueAt: futureWeekday(3 + i).toISOString(), assignee: 'dana@example.com', timezone: 'Europe/Berlin' }));
  }
  ids.push(await followUp(s.db, { accountId: globex, anchor: 'g', dueAt: futureWeekday(4).toISOString(), assignee: 'sam@example.com', timezone: 'America/New_York' }));
});
afterAll(async () => s?.close());

describe('GET /v1/follow-ups', () => {
  it('lists in due order with keyset pagination', async () => {
    const seen: number[] = [];
    let cursor: string | null = null;
    do {
      const page: Page = await json<Page>(await s.call('GET', `/v1/follow-ups?limit=2${cursor ? `&cursor=${cursor}` : ''}`, { key: readKey }));
      expect(page.items.length).toBeLessThanOrEqual(2);
      seen.push(...page.items.map((f) => f.id));
      cursor = page.hasMore ? page.nextCursor : null;
    } while (cursor);
    expect(seen.sort((a, b) => a - b)).toEqual([...ids].sort((a, b) => a - b));
    const all = await json<Page>(await s.call('GET', '/v1/follow-ups', { key: readKey }));
    const dues = all.items.map((f) => f.dueAt);
    expect(dues).toEqual([...dues].sort());
    expect(all.items[0]).toMatchObject({ account: { externalId: expect.any(String), name: expect.any(String) }, status: 'scheduled', escalation: null });
  });

  it('filters by assignee, account, status and due range', async () => {
    const byAssignee = await json<Page>(await s.call('GET', '/v1/follow-ups?assignee=SAM@example.com', { key: readKey }));
    expect(byAssignee.items.map((f) => f.account.externalId)).toEqual(['globex']);
    const byAccount = await json<Page>(await s.call('GET', '/v1/follow-ups?account=acme', { key: readKey }));
    expect(byAccount.items).toHaveLength(5);
    // From the latest due time: the earliest ones (at least two working days earlier) drop out, whatever today is.
    const from = byAccount.items.at(-1)!.dueAt;
    const ranged = await json<Page>(await s.call('GET', `/v1/follow-ups?account=acme&due_from=${encodeURIComponent(from)}`, { key: readKey }));
    expect(ranged.items.map((f) => f.id)).toEqual(byAccount.items.filter((f) => f.dueAt >= from).map((f) => f.id));
    expect(ranged.items.length).toBeLessThan(5);
    const before = await json<Page>(await s.call('GET', `/v1/follow-ups?account=acme&due_to=${encodeURIComponent(from)}`, { key: readKey }));
    expect(before.items.length + ranged.items.length).toBe(5);
    const none = await json<Page>(await s.call('GET', '/v1/follow-ups?status=done,cancelled', { key: readKey }));
    expect(none.items).toEqual([]);
  });
});

describe('actions', () => {
  it('completes a follow-up; completing again or cancelling it is 409', async () => {
    const id = ids[0]!;
    const done = await json<FollowUpJson>(await s.call('POST', `/v1/follow-ups/${id}/complete`, { key: writeKey, body: { outcome: 'resolved', notes: 'Happy now' } }));
    expect(done).toMatchObject({ id, status: 'done', outcome: 'resolved', notes: 'Happy now' });
    const again = await expectProblem(await s.call('POST', `/v1/follow-ups/${id}/complete`, { key: writeKey, body: { outcome: 'resolved' } }), 409, 'conflict');
    expect(again).toMatchObject({ status: 409, followUpStatus: 'done' });
    expect(again.detail).toMatch(/is done/);
    await expectProblem(await s.call('POST', `/v1/follow-ups/${id}/cancel`, { key: writeKey, body: {} }), 409, 'conflict');
  });

  it('cancels; a cancelled follow-up cannot be completed, rescheduled or reassigned', async () => {
    const id = ids[1]!;
    const cancelled = await json<FollowUpJson>(await s.call('POST', `/v1/follow-ups/${id}/cancel`, { key: writeKey, body: { reason: 'Customer churned' } }));
    expect(cancelled).toMatchObject({ status: 'cancelled', cancelReason: 'Customer churned' });
    const problem = await expectProblem(await s.call('POST', `/v1/follow-ups/${id}/complete`, { key: writeKey, body: { outcome: 'resolved' } }), 409, 'conflict');
    expect(problem.detail).toMatch(/cancelled/);
    await expectProblem(await s.call('POST', `/v1/follow-ups/${id}/reschedule`, { key: writeKey, body: { dueAt: futureWeekday(10).toISOString() } }), 409, 'conflict');
    await expectProblem(await s.call('POST', `/v1/follow-ups/${id}/assign`, { key: writeKey, body: { assignee: 'x@example.com' } }), 409, 'conflict');
  });

  it('reschedules into working hours of the assignee’s calendar', async () => {
    const id = ids[2]!;
    // A Saturday 12:00 UTC → Monday 09:00 Berlin (the assignee is not in the team table: the account's zone).
    const saturday = futureWeekday(14);
    saturday.setUTCDate(saturday.getUTCDate() + ((6 - saturday.getUTCDay() + 7) % 7));
    saturday.setUTCHours(12);
    const moved = await json<FollowUpJson>(await s.call('POST', `/v1/follow-ups/${id}/reschedule`, { key: writeKey, body: { dueAt: saturday.toISOString() } }));
    const local = new Intl.DateTimeFormat('en-GB', { timeZone: 'Europe/Berlin', weekday: 'short', hour: '2-digit', minute: '2-digit', hourCycle: 'h23' }).format(new Date(moved.dueAt));
    expect(local).toBe('Mon 09:00');
    expect(moved.timezone).toBe('Europe/Berlin');
    // Inside working hours: kept as given.
    const wednesday = futureWeekday(7, 13);
    const kept = await json<FollowUpJson>(await s.call('POST', `/v1/follow-ups/${id}/reschedule`, { key: writeKey, body: { dueAt: wednesday.toISOString() } }));
    expect(kept.dueAt).toBe(wednesday.toISOString());
    await expectProblem(await s.call('POST', `/v1/follow-ups/${id}/reschedule`, { key: writeKey, body: { dueAt: '2020-01-01T10:00:00Z' } }), 422, 'unprocessable');
    await expectProblem(await s.call('POST', `/v1/follow-ups/${id}/reschedule`, { key: writeKey, body: { dueAt: 'tomorrow' } }), 400, 'validation_failed');
  });

  it('reassigns, moving the due time into the new assignee’s working hours', async () => {
    const put = await s.call('PUT', '/v1/admin/team/kenji@example.com', { body: { name: 'Kenji', timezone: 'Asia/Tokyo', workingHours: { start: '09:00', end: '17:00' } } });
    expect(put.status).toBe(201);
    const id = ids[3]!; // due 10:00 UTC = 19:00 Tokyo: after hours there
    const before = await json<FollowUpJson>(await s.call('GET', `/v1/follow-ups/${id}`, { key: readKey }));
    const moved = await json<FollowUpJson>(await s.call('POST', `/v1/follow-ups/${id}/assign`, { key: writeKey, body: { assignee: 'Kenji@Example.com' } }));
    expect(moved).toMatchObject({ assignee: 'kenji@example.com', timezone: 'Asia/Tokyo' });
    expect(new Date(moved.dueAt).getTime()).toBeGreaterThan(new Date(before.dueAt).getTime());
    const local = new Intl.DateTimeFormat('en-GB', { timeZone: 'Asia/Tokyo', hour: '2-digit', minute: '2-digit', hourCycle: 'h23' }).format(new Date(moved.dueAt));
    expect(local).toBe('09:00');
  });

  it('an Idempotency-Key replays the completion instead of answering 409', async () => {
    const id = ids[4]!;
    const headers = { 'idempotency-key': `complete-${id}` };
    const first = await s.call('POST', `/v1/follow-ups/${id}/complete`, { key: writeKey, body: { outcome: 'no_answer' }, headers });
    expect(first.status).toBe(200);
    const replay = await s.call('POST', `/v1/follow-ups/${id}/complete`, { key: writeKey, body: { outcome: 'no_answer' }, headers });
    expect(replay.status).toBe(200);
    expect(replay.headers.get('idempotent-replayed')).toBe('true');
  });
});

describe('team members', () => {
  it('creates, replaces, reads, validates and deletes', async () => {
    const created = await s.call('PUT', '/v1/admin/team/Lena@Example.com', {
      body: { name: 'Lena', timezone: 'Europe/Berlin', workingHours: { start: '08:30', end: '16:30' }, workingDays: ['mon', 'tue', 'wed', 'thu'], dailyCapacity: 5, managerEmail: 'Boss@Example.com' },
    });
    expect(await json(created, 201)).toMatchObject({
      email: 'lena@example.com',
      workingHours: { start: '08:30', end: '16:30' },
      workingDays: ['mon', 'tue', 'wed', 'thu'],
      dailyCapacity: 5,
      managerEmail: 'boss@example.com',
      calendarTokenCreatedAt: null,
    });
    const defaults = await json<{ workingHours: unknown; workingDays: string[]; dailyCapacity: number; timezone: null }>(
      await s.call('PUT', '/v1/admin/team/lena@example.com', { body: { name: 'Lena M.' } }),
    );
    expect(defaults).toMatchObject({ workingHours: { start: '09:00', end: '17:00' }, workingDays: ['mon', 'tue', 'wed', 'thu', 'fri'], dailyCapacity: 8, timezone: null });
    expect(await json(await s.call('GET', '/v1/admin/team/lena@example.com'))).toMatchObject({ name: 'Lena M.' });
    const list = await json<{ items: { email: string }[] }>(await s.call('GET', '/v1/admin/team'));
    expect(list.items.map((m) => m.email)).toContain('lena@example.com');

    await expectProblem(await s.call('PUT', '/v1/admin/team/lena@example.com', { body: { name: 'L', timezone: 'Mars/Olympus' } }), 400, 'validation_failed');
    await expectProblem(await s.call('PUT', '/v1/admin/team/lena@example.com', { body: { name: 'L', workingHours: { start: '17:00', end: '09:00' } } }), 400, 'validation_failed');
    await expectProblem(await s.call('PUT', '/v1/admin/team/lena@example.com', { body: { name: 'L', workingDays: [] } }), 400, 'validation_failed');
    await expectProblem(await s.call('PUT', '/v1/admin/team/lena@example.com', { body: { name: 'L', dailyCapacity: 0 } }), 400, 'validation_failed');
    await expectProblem(await s.call('PUT', '/v1/admin/team/not-an-email', { body: { name: 'L' } }), 400, 'validation_failed');

    expect((await s.call('DELETE', '/v1/admin/team/lena@example.com')).status).toBe(204);
    await expectProblem(await s.call('DELETE', '/v1/admin/team/lena@example.com'), 404, 'not_found');
    await expectProblem(await s.call('GET', '/v1/admin/team/lena@example.com'), 404, 'not_found');
  });
});

describe('playbooks', () => {
  type PlaybookJson = { id: number; key: string; version: number; active: boolean; definition: { enabled: boolean; trigger: { maxScore?: number } } };

  it('ships the defaults, versions them and activates a version', async () => {
    const list = await json<{ items: PlaybookJson[] }>(await s.call('GET', '/v1/admin/playbooks'));
    expect(list.items.map((p) => p.key).sort()).toEqual([
      'churn-alert-retention-call',
      'enterprise-monthly-visit',
      'escalated-ticket-satisfaction-call',
      'mid-market-quarterly-call',
      'nps-detractor-callback',
      'red-account-csm-call',
      'renewal-check-in',
      'renewal-qbr',
    ]);
    expect(list.items.every((p) => p.version === 1 && p.active)).toBe(true);

    const nps1 = list.items.find((p) => p.key === 'nps-detractor-callback')!;
    const v2 = await json<PlaybookJson>(
      await s.call('POST', '/v1/admin/playbooks', {
        body: {
          key: 'nps-detractor-callback',
          definition: { name: 'Strong detractors only', trigger: { type: 'nps_detractor', maxScore: 4 }, kind: 'call', title: 'Callback', assignee: ['owner'], due: { hours: 24 } },
        },
      }),
      201,
    );
    expect(v2).toMatchObject({ key: 'nps-detractor-callback', version: 2, active: false, definition: { enabled: true, trigger: { maxScore: 4 } } });
    expect(await json(await s.call('POST', `/v1/admin/playbooks/${v2.id}/activate`))).toMatchObject({ version: 2, active: true });
    expect(await json(await s.call('GET', `/v1/admin/playbooks/${nps1.id}`))).toMatchObject({ version: 1, active: false });
    const versions = await json<{ items: PlaybookJson[] }>(await s.call('GET', '/v1/admin/playbooks?key=nps-detractor-callback'));
    expect(versions.items.map((p) => [p.version, p.active])).toEqual([[1, false], [2, true]]);

    // The active version is what the planner uses: a 5 is no longer a detractor.
    const { plan } = (await accounts(s.db, [{ externalId: 'plan', owner: 'dana@example.com' }])) as { plan: number };
    await nps(s.db, plan, 'five', 5, new Date().toISOString());
    await nps(s.db, plan, 'three', 3, new Date().toISOString());
    const run = await planFollowUps(s.db);
    expect(run.created).toBeGreaterThanOrEqual(1);
    const mine = await json<Page>(await s.call('GET', '/v1/follow-ups?account=plan'));
    expect(mine.items.map((f) => f.cause)).toEqual([{ type: 'survey', ref: 'three' }]);

    // Switching a playbook off: a version with enabled false.
    const off = await json<PlaybookJson>(
      await s.call('POST', '/v1/admin/playbooks', {
        body: {
          key: 'nps-detractor-callback',
          definition: { name: 'Off', enabled: false, trigger: { type: 'nps_detractor' }, kind: 'call', title: 'Callback', assignee: ['owner'], due: { hours: 24 } },
        },
      }),
      201,
    );
    await json(await s.call('POST', `/v1/admin/playbooks/${off.id}/activate`));
    await nps(s.db, plan, 'one', 1, new Date().toISOString());
    await planFollowUps(s.db);
    expect((await json<Page>(await s.call('GET', '/v1/follow-ups?account=plan'))).items).toHaveLength(1);
  });
});

describe('calendar feed', () => {
  it('serves an assignee’s follow-ups at a secret URL, parsed back by node-ical', async () => {
    await json(await s.call('PUT', '/v1/admin/team/cal@example.com', { body: { name: 'Cal' } }), 201);
    const upcoming = futureWeekday(2);
    const soon = await followUp(s.db, { accountId: acme, anchor: 'cal-1', dueAt: upcoming.toISOString(), assignee: 'cal@example.com' });
    const visit = await followUp(s.db, { accountId: globex, anchor: 'cal-2', dueAt: futureWeekday(6).toISOString(), assignee: 'cal@example.com', kind: 'visit' });
    const cancelled = await followUp(s.db, { accountId: globex, anchor: 'cal-3', dueAt: futureWeekday(8).toISOString(), assignee: 'cal@example.com', status: 'cancelled' });
    const tooFar = await followUp(s.db, { accountId: acme, anchor: 'cal-4', dueAt: futureWeekday(120).toISOString(), assignee: 'cal@example.com' });
    const tooOld = await followUp(s.db, { accountId: acme, anchor: 'cal-5', dueAt: new Date(Date.now() - 40 * DAY).toISOString(), assignee: 'cal@example.com' });

    const issued = await s.call('POST', '/v1/admin/team/cal@example.com/calendar-token');
    expect(issued.headers.get('cache-control')).toBe('no-store');
    const { url } = await json<{ url: string; createdAt: string }>(issued, 201);
    const token = /\/v1\/calendar\/([A-Za-z0-9_-]{43})\.ics$/.exec(url)?.[1];
    expect(token).toBeDefined();
    expect(url.startsWith(s.url)).toBe(true);

    const res = await fetch(url);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^text\/calendar/);
    const text = await res.text();
    expect(text).toMatch(/^BEGIN:VCALENDAR/);
    const parsed = veventsOf(text);
    const byUid = new Map(parsed.map((e) => [e.uid, e]));
    expect([...byUid.keys()].sort()).toEqual([soon, visit, cancelled].map((id) => `follow-up-${id}@healthscore`).sort());
    expect(byUid.has(`follow-up-${tooFar}@healthscore`)).toBe(false);
    expect(byUid.has(`follow-up-${tooOld}@healthscore`)).toBe(false);

    const first = byUid.get(`follow-up-${soon}@healthscore`)!;
    expect(first.summary).toBe('Call: Acme');
    expect(first.start.toISOString()).toBe(upcoming.toISOString());
    expect(first.end!.getTime() - upcoming.getTime()).toBe(30 * 60_000);
    expect(String(first.description)).toContain('Because of cal-1');
    expect(first.status).toBe('CONFIRMED');
    expect(byUid.get(`follow-up-${visit}@healthscore`)!.summary).toBe('Visit: Globex');
    expect(byUid.get(`follow-up-${cancelled}@healthscore`)!.status).toBe('CANCELLED');

    // The UID is stable: rescheduling changes the time, not the identity.
    const later = futureWeekday(9, 11);
    await json(await s.call('POST', `/v1/follow-ups/${soon}/reschedule`, { body: { dueAt: later.toISOString() } }));
    const again = veventsOf(await (await fetch(url)).text());
    const moved = again.find((e) => e.uid === `follow-up-${soon}@healthscore`)!;
    expect(moved.start.toISOString()).toBe(later.toISOString());
  });

  it('stores only a hash of the token; rotating invalidates the old URL; wrong tokens are 404 without a key', async () => {
    const { url: oldUrl } = await json<{ url: string }>(await s.call('POST', '/v1/admin/team/cal@example.com/calendar-token'), 201);
    const oldToken = /calendar\/(.+)\.ics$/.exec(oldUrl)![1]!;
    const row = await s.db.selectFrom('team_members').selectAll().where('email', '=', 'cal@example.com').executeTakeFirstOrThrow();
    expect(JSON.stringify(row)).not.toContain(oldToken);
    expect(row.calendar_token_hash).toMatch(/^[0-9a-f]{64}$/);

    expect((await fetch(oldUrl)).status).toBe(200);
    const { url: newUrl } = await json<{ url: string }>(await s.call('POST', '/v1/admin/team/cal@example.com/calendar-token'), 201);
    expect(newUrl).not.toBe(oldUrl);
    await expectProblem(await fetch(oldUrl), 404, 'not_found');
    expect((await fetch(newUrl)).status).toBe(200);

    const wrong = oldToken.replace(/^./, (c) => (c === 'A' ? 'B' : 'A'));
    await expectProblem(await s.call('GET', `/v1/calendar/${wrong}.ics`, { key: null }), 404, 'not_found');
    await expectProblem(await s.call('GET', '/v1/calendar/short.ics', { key: null }), 404, 'not_found');
    await expectProblem(await s.call('GET', `/v1/calendar/${oldToken}`, { key: null }), 404, 'not_found');
    // An API key is no substitute for the token.
    await expectProblem(await s.call('GET', '/v1/calendar/x.ics'), 404, 'not_found');
    await expectProblem(await s.call('POST', '/v1/admin/team/nobody@example.com/calendar-token'), 404, 'not_found');

    // Removing the member stops the feed.
    expect((await s.call('DELETE', '/v1/admin/team/cal@example.com')).status).toBe(204);
    await expectProblem(await fetch(newUrl), 404, 'not_found');
  });
});
