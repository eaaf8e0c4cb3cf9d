import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createSubscription, enqueueTestEvent } from '../../src/webhooks/outbound/repository.js';
import { endLiveStreams } from '../../src/web/live/routes.js';
import { portfolioPage, SORTS } from '../../src/web/portfolio/queries.js';
import { ensureDefaultScorecard, listScorecards } from '../../src/scoring/scorecards.js';
import { may, PAGES, type Page, ROLES } from '../../src/people/roles.js';
import { Client, emailOf, type Fixture, makeAlert, seed, startWebServer, type WebServer } from './support.js';

let server: WebServer;
let fixture: Fixture;

beforeAll(async () => {
  server = await startWebServer();
  fixture = await seed(server.db);
});
afterAll(() => server?.close());

const pathOf = (page: Page) =>
  ({
    portfolio: '/portfolio',
    account: `/accounts/${encodeURIComponent(fixture.account.externalId)}`,
    inbox: '/inbox',
    followups: '/follow-ups',
    dispatch: '/dispatch',
    kpis: '/kpis',
    scorecards: '/scorecards',
    proof: '/proof',
    admin: '/admin',
  })[page];

const MENU_LINKS: Partial<Record<Page, string>> = {
  portfolio: '/portfolio',
  inbox: '/inbox',
  followups: '/follow-ups',
  dispatch: '/dispatch',
  kpis: '/kpis',
  scorecards: '/scorecards',
  proof: '/proof',
  admin: '/admin',
};

describe('signing in and roles', () => {
  it('/ sends a visitor to the sign-in page and a signed-in person to their home page', async () => {
    const client = new Client(server.url);
    const anonymous = await client.get('/');
    expect(anonymous.status).toBe(302);
    expect(anonymous.headers.get('location')).toBe('/sign-in');
    const page = await client.get('/portfolio');
    expect(page.status).toBe(303);
    expect(page.headers.get('location')).toBe('/sign-in?next=%2Fportfolio');
    const signedIn = await client.signIn(emailOf('csm'));
    expect(signedIn.location).toBe('/portfolio');
    expect((await client.get('/')).headers.get('location')).toBe('/portfolio');
  });

  it('signing in returns to the page asked for', async () => {
    const client = new Client(server.url);
    await client.get('/sign-in?next=%2Fkpis');
    const res = await client.post('/sign-in', { email: emailOf('manager'), password: 'correct horse battery', next: '/kpis' });
    expect(res.location).toBe('/kpis');
    const evil = new Client(server.url);
    await evil.get('/sign-in');
    expect((await evil.post('/sign-in', { email: emailOf('manager'), password: 'correct horse battery', next: '//evil.example' })).location).toBe('/portfolio');
  });

  for (const role of ROLES) {
    it(`a ${role} sees exactly their pages in the menu and gets 403 on the others by URL`, async () => {
      const client = new Client(server.url);
      const res = await client.signIn(emailOf(role));
      expect(res.status).toBe(303);
      const home = await client.get(res.location!);
      expect(home.status).toBe(200);
      for (const page of PAGES) {
        const link = MENU_LINKS[page];
        if (link) expect(home.text.includes(`href="${link}"`), `${role} menu ${page}`).toBe(may([role], page));
        const visit = await client.get(pathOf(page));
        expect(visit.status, `${role} ${page}`).toBe(may([role], page) ? 200 : 403);
      }
    });
  }

  it('signing out ends the session', async () => {
    const client = new Client(server.url);
    await client.signIn(emailOf('admin'));
    const out = await client.post('/sign-out', {});
    expect(out.location).toBe('/sign-in');
    expect((await client.get('/admin')).status).toBe(303);
  });
});

describe('pages', () => {
  it('the portfolio pages by keyset, filters, sorts, searches and exports CSV', async () => {
    const client = new Client(server.url);
    await client.signIn(emailOf('manager'));
    const all = await client.get('/portfolio?sort=name');
    expect(all.status).toBe(200);
    const rows = (text: string) => [...text.matchAll(/<a href="\/accounts\/([^"]+)">/g)].map((m) => decodeURIComponent(m[1]!));
    const first = rows(all.text);
    expect(first.length).toBe(24);
    const mine = await client.get(`/portfolio?owner=${encodeURIComponent(emailOf('csm'))}`);
    expect(rows(mine.text)).toContain(fixture.account.externalId);
    expect(rows(mine.text).length).toBeLessThan(24);
    const search = await client.get(`/portfolio?q=${encodeURIComponent(fixture.account.name)}`);
    expect(rows(search.text)).toContain(fixture.account.externalId);
    const red = await client.get('/portfolio?band=red');
    expect(red.status).toBe(200);
    // keyset: pages of 50, so build a second page from a cursor of the first row
    const csv = await fetch(`${server.url}/portfolio.csv?sort=arr`, { headers: { cookie: client.cookieHeader() } });
    expect(csv.headers.get('content-type')).toMatch(/^text\/csv/);
    const lines = (await csv.text()).trim().split('\r\n');
    expect(lines[0]).toMatch(/^externalId,name,segment,owner,arr/);
    expect(lines.length).toBe(25);
  });

  it('keyset pages visit every account once, in order, for every sort', async () => {
    for (const sort of SORTS) {
      const whole = await portfolioPage(server.db, { sort }, undefined, 1000);
      const seen: string[] = [];
      let after: [number | string, number] | undefined;
      for (let i = 0; i < 20; i++) {
        const page = await portfolioPage(server.db, { sort }, after, 5);
        seen.push(...page.items.map((r) => r.external_id));
        if (!page.next) break;
        const last = page.items.at(-1)!;
        after = [last.sort_value, last.id];
      }
      expect(seen, sort).toEqual(whole.items.map((r) => r.external_id));
    }
  });

  it('a CSM’s inbox starts on alerts of their own accounts, read-only', async () => {
    const alertId = await makeAlert(server.db, fixture.account.id, 'On a CSM account');
    const client = new Client(server.url);
    await client.signIn(emailOf('csm'));
    const inbox = await client.get('/inbox');
    expect(inbox.text).toContain('aria-current="page">On my accounts</a>');
    expect(inbox.text).toContain(`data-alert-id="${alertId}"`);
    expect(inbox.text).not.toContain(`action="/inbox/${alertId}/resolve"`);
    expect((await client.post(`/inbox/${alertId}/acknowledge`, {})).status).toBe(403);
  });

  it('a CSM sees their own accounts by default', async () => {
    const client = new Client(server.url);
    await client.signIn(emailOf('csm'));
    const page = await client.get('/portfolio');
    const ids = [...page.text.matchAll(/<a href="\/accounts\/([^"]+)">/g)].map((m) => decodeURIComponent(m[1]!));
    expect(ids.length).toBeGreaterThan(0);
    const owners = await server.db.selectFrom('accounts').select('owner').distinct().where('external_id', 'in', ids).execute();
    expect(owners.map((o) => o.owner)).toEqual([emailOf('csm')]);
    expect(page.text).toContain(`<option value="${emailOf('csm')}" selected="">`);
  });

  it('the account page shows score, band, measures, alerts and follow-ups; a CSM adds a pulse', async () => {
    const client = new Client(server.url);
    await client.signIn(emailOf('csm'));
    const path = `/accounts/${encodeURIComponent(fixture.account.externalId)}`;
    const page = await client.get(path);
    expect(page.text).toContain(fixture.account.name);
    expect(page.text).toContain('data-testid="score"');
    expect(page.text).toContain('Score fell below 40');
    expect(page.text).toContain('Check-in call overdue');
    const expires = new Date(Date.now() + 10 * 86400e3).toISOString().slice(0, 10);
    const res = await client.post(`${path}/pulse`, { adjustment: '-12', reason: 'Champion left', expiresOn: expires });
    expect(res.status).toBe(303);
    const after = await client.get(res.location!);
    expect(after.text).toContain('Champion left');
    expect(after.text).toContain('Pulse added');
    const pulses = await server.db.selectFrom('health_pulses').selectAll().where('account_id', '=', fixture.account.id).execute();
    expect(pulses).toHaveLength(1);
    expect(pulses[0]!.author).toBe(emailOf('csm'));
  });

  it('a retention specialist acknowledges, snoozes and resolves an alert with an outcome', async () => {
    const alertId = await makeAlert(server.db, fixture.account.id);
    const client = new Client(server.url);
    await client.signIn(emailOf('retention'));
    const inbox = await client.get('/inbox');
    expect(inbox.text).toContain(`data-alert-id="${alertId}"`);
    expect((await client.post(`/inbox/${alertId}/acknowledge`, { back: '/inbox?view=mine' })).location).toBe('/inbox?view=mine&notice=notice.alertUpdated');
    const tomorrow = new Date(Date.now() + 2 * 86400e3).toISOString().slice(0, 10);
    expect((await client.post(`/inbox/${alertId}/snooze`, { until: tomorrow })).status).toBe(303);
    expect((await client.post(`/inbox/${alertId}/resolve`, { outcome: 'saved', note: 'Called the sponsor' })).status).toBe(303);
    const alert = await server.db.selectFrom('alerts').selectAll().where('id', '=', alertId).executeTakeFirstOrThrow();
    expect(alert).toMatchObject({ status: 'resolved', outcome: 'saved', outcome_note: 'Called the sponsor', resolved_by: emailOf('retention') });
    expect((await client.get('/inbox')).text).not.toContain(`data-alert-id="${alertId}"`);
  });

  it('a CSM completes one follow-up with notes and reschedules another; a dispatcher reassigns', async () => {
    const client = new Client(server.url);
    await client.signIn(emailOf('csm'));
    const agenda = await client.get('/follow-ups');
    expect(agenda.text).toContain(`data-follow-up-id="${fixture.followUps.overdue}"`);
    expect((await client.post(`/follow-ups/${fixture.followUps.overdue}/complete`, { outcome: 'resolved', notes: '回访完成，客户满意' })).status).toBe(303);
    const later = new Date(Date.now() + 3 * 86400e3);
    later.setUTCHours(10, 0, 0, 0);
    expect((await client.post(`/follow-ups/${fixture.followUps.today}/reschedule`, { dueAt: later.toISOString().slice(0, 16) })).status).toBe(303);
    const rows = await server.db.selectFrom('follow_ups').select(['id', 'status', 'notes', 'due_at']).where('id', 'in', [fixture.followUps.overdue, fixture.followUps.today]).orderBy('id').execute();
    expect(rows[0]).toMatchObject({ status: 'done', notes: '回访完成，客户满意' });
    expect(rows[1]!.status).toBe('scheduled');
    expect(rows[1]!.due_at.getTime()).toBeGreaterThan(Date.now() + 2 * 86400e3);
    const calendar = await client.post('/follow-ups/calendar', {});
    expect(calendar.text).toMatch(/\/v1\/calendar\/[A-Za-z0-9_-]{43}\.ics/);

    const dispatcher = new Client(server.url);
    await dispatcher.signIn(emailOf('dispatcher'));
    expect((await dispatcher.get('/dispatch')).text).toContain(`data-follow-up-id="${fixture.followUps.today}"`);
    expect((await dispatcher.post(`/follow-ups/${fixture.followUps.today}/assign`, { assignee: emailOf('retention'), back: '/dispatch' })).location).toContain('/dispatch');
    const moved = await server.db.selectFrom('follow_ups').select('assignee').where('id', '=', fixture.followUps.today).executeTakeFirstOrThrow();
    expect(moved.assignee).toBe(emailOf('retention'));
    // a CSM may not reassign
    expect((await client.post(`/follow-ups/${fixture.followUps.today}/assign`, { assignee: emailOf('csm') })).status).toBe(403);
  });

  it('an analyst previews a scorecard draft, saves it and activates it', async () => {
    await ensureDefaultScorecard(server.db);
    const [card] = await listScorecards(server.db);
    const client = new Client(server.url);
    await client.signIn(emailOf('analyst'));
    const page = await client.get(`/scorecards/${card!.id}`);
    expect(page.status).toBe(200);
    const definition = JSON.stringify({ ...card!.definition, name: 'Stricter' });
    const preview = await client.post(`/scorecards/${card!.id}/draft`, { intent: 'preview', segment: '', definition });
    expect(preview.status).toBe(200);
    expect(preview.text).toContain('data-testid="preview"');
    expect(preview.text).toMatch(/24 accounts scored/);
    const bad = await client.post(`/scorecards/${card!.id}/draft`, { intent: 'preview', segment: '', definition: '{' });
    expect(bad.status).toBe(422);
    const saved = await client.post(`/scorecards/${card!.id}/draft`, { intent: 'save', segment: '', definition });
    expect(saved.status).toBe(303);
    const id = Number(/\/scorecards\/(\d+)/.exec(saved.location!)![1]);
    expect(id).not.toBe(card!.id);
    expect((await client.post(`/scorecards/${id}/activate`, {})).status).toBe(303);
    expect((await listScorecards(server.db)).find((s) => s.id === id)!.active).toBe(true);
  });

  it('an admin adds a person, resets a password and creates an API key; secrets show once', async () => {
    const client = new Client(server.url);
    await client.signIn(emailOf('admin'));
    const added = await client.post('/admin/people', { name: 'Zhang Wei', email: 'zhang.wei@example.com', role: 'csm' });
    expect(added.status).toBe(201);
    const password = /zhang\.wei@example\.com: ([A-Za-z0-9]+)/.exec(added.text)![1]!;
    const newcomer = new Client(server.url);
    expect((await newcomer.signIn('zhang.wei@example.com', password)).location).toBe('/portfolio');
    const person = await server.db.selectFrom('people').select('id').where('email', '=', 'zhang.wei@example.com').executeTakeFirstOrThrow();
    const reset = await client.post(`/admin/people/${person.id}/reset-password`, {});
    const fresh = /zhang\.wei@example\.com: ([A-Za-z0-9]+)/.exec(reset.text)![1]!;
    expect(fresh).not.toBe(password);
    // the reset signed them out
    expect((await newcomer.get('/portfolio')).status).toBe(303);
    expect((await new Client(server.url).signIn('zhang.wei@example.com', fresh)).status).toBe(303);
    const key = await client.post('/admin/keys', { name: 'crm', scope_read: '1' });
    expect(key.text).toMatch(/data-testid="secret">hs_/);
    expect((await client.get('/admin')).text).not.toMatch(/hs_[A-Za-z0-9_-]{20,}/);
  });

  it('an admin sees a subscription’s delivery log and replays a failed delivery', async () => {
    const { subscription } = await createSubscription(server.db, { url: 'https://hooks.example.com/healthscore', eventTypes: ['webhook.test' as never] });
    const sent = await enqueueTestEvent(server.db, subscription.id);
    if (typeof sent === 'string') throw new Error(sent);
    await server.db.updateTable('webhook_deliveries').set({ status: 'failed', last_status_code: 500, next_attempt_at: null }).where('id', '=', sent.deliveryId).execute();
    const client = new Client(server.url);
    await client.signIn(emailOf('admin'));
    expect((await client.get('/admin')).text).toContain(`href="/admin/webhooks/${subscription.id}"`);
    const log = await client.get(`/admin/webhooks/${subscription.id}`);
    expect(log.text).toContain('webhook.test');
    expect(log.text).toContain('Failed');
    const replay = await client.post(`/admin/webhooks/${subscription.id}/deliveries/${sent.deliveryId}/replay`, {});
    expect(replay.status).toBe(303);
    const deliveries = await server.db.selectFrom('webhook_deliveries').select(['id', 'status']).where('subscription_id', '=', subscription.id).orderBy('id').execute();
    expect(deliveries).toHaveLength(2);
    expect(deliveries[1]!.status).toBe('pending');
    // a manager may not
    const manager = new Client(server.url);
    await manager.signIn(emailOf('manager'));
    expect((await manager.get(`/admin/webhooks/${subscription.id}`)).status).toBe(403);
  });

  it('pages speak 简体中文 when the browser asks for it, and switch back', async () => {
    const client = new Client(server.url);
    const signIn = await client.get('/sign-in', { 'accept-language': 'zh-CN,zh;q=0.9' });
    expect(signIn.text).toContain('<html lang="zh-CN">');
    expect(signIn.text).toContain('登录');
    await client.signIn(emailOf('manager'));
    const switched = await client.get('/lang/zh-CN?next=/kpis');
    expect(switched.headers.get('location')).toBe('/kpis');
    expect((await client.get('/kpis')).text).toContain('服务指标');
    await client.get('/lang/en?next=/kpis');
    expect((await client.get('/kpis')).text).toContain('Service KPIs');
  });

  it('the inbox stream says ready, sends change when an alert changes, and ends on endLiveStreams()', async () => {
    const client = new Client(server.url);
    await client.signIn(emailOf('retention'));
    const res = await fetch(`${server.url}/live/inbox`, { headers: { cookie: client.cookieHeader() } });
    expect(res.headers.get('content-type')).toMatch(/^text\/event-stream/);
    const reader = res.body!.getReader();
    const decoder = new TextDecoder();
    let text = '';
    const readUntil = async (pattern: RegExp) => {
      while (!pattern.test(text)) {
        const { value, done } = await reader.read();
        if (done) return false;
        text += decoder.decode(value);
      }
      return true;
    };
    expect(await readUntil(/event: ready/)).toBe(true);
    await makeAlert(server.db, fixture.account.id, 'Stream check');
    expect(await readUntil(/event: change/)).toBe(true);
    endLiveStreams();
    expect(await reader.read().then(async function drain(r): Promise<boolean> {
      return r.done ? true : drain(await reader.read());
    })).toBe(true);
    // a person without the inbox gets 403, not a stream
    const analyst = new Client(server.url);
    await analyst.signIn(emailOf('analyst'));
    expect((await analyst.get('/live/inbox')).status).toBe(403);
  });

  it('serves its own assets (no CDN) and the API keeps its JSON errors', async () => {
    for (const asset of ['/assets/app.js', '/assets/app.css', '/assets/uPlot.iife.min.js', '/assets/uPlot.min.css']) {
      expect((await fetch(server.url + asset)).status, asset).toBe(200);
    }
    const api = await fetch(`${server.url}/v1/accounts`);
    expect(api.status).toBe(401);
    expect(api.headers.get('content-type')).toMatch(/problem\+json/);
    expect(api.headers.get('set-cookie')).toBeNull();
  });
});
