import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDemoPeople } from '../../src/people/demo.js';
import { ensureDefaultScorecard, listScorecards } from '../../src/scoring/scorecards.js';
import { Client, emailOf, PASSWORD, startWebServer, type WebServer } from './support.js';

/** #18, the proof pages refuse what they cannot do with a page that says why, never a 500. */

let server: WebServer;
beforeAll(async () => {
  server = await startWebServer();
  await createDemoPeople(server.db, PASSWORD);
  await ensureDefaultScorecard(server.db);
});
afterAll(() => server?.close());

async function signedIn(role: 'analyst' | 'manager' | 'csm') {
  const client = new Client(server.url);
  await client.signIn(emailOf(role));
  await client.get('/proof');
  return client;
}

describe('proof pages: bad requests', () => {
  it('a window that is not one (days out of range, a date that is not a day, from after to) is a 422 page that says so', async () => {
    const client = await signedIn('analyst');
    const [card] = await listScorecards(server.db);
    const forms: Record<string, string>[] = [
      { horizonDays: '0' },
      { horizonDays: '731' },
      { horizonDays: 'ninety' },
      { horizonDays: '90', from: '2026-02-30x' },
      { horizonDays: '90', from: '2026-06-01', to: '2026-01-01' },
    ];
    for (const form of forms) {
      const res = await client.post('/proof/backtests', { scorecardId: String(card!.id), ...form });
      expect(res.status, JSON.stringify(form)).toBe(422);
      expect(res.text).toContain('Days before must be a whole number from 1 to 730');
    }
    expect(await server.db.selectFrom('scorecard_reports').select('id').execute()).toEqual([]);
  });

  it('a fit without enough outcomes is a 422 page naming the shortfall, and no draft is saved', async () => {
    const client = await signedIn('analyst');
    const before = (await listScorecards(server.db)).length;
    const res = await client.post('/proof/fits', { horizonDays: '90' });
    expect(res.status).toBe(422);
    expect(res.text).toMatch(/a fit needs at least \d+ churned and \d+ retained outcomes; there are 0 churned and 0 retained/);
    expect((await listScorecards(server.db)).length).toBe(before);
  });

  it('an unknown scorecard or report is a 404 page', async () => {
    const client = await signedIn('analyst');
    expect((await client.post('/proof/backtests', { scorecardId: '999999', horizonDays: '90' })).status).toBe(404);
    expect((await client.post('/proof/backtests', { scorecardId: 'x', horizonDays: '90' })).status).toBe(404);
    expect((await client.get('/proof/reports/999999')).status).toBe(404);
    expect((await client.get('/proof/reports/abc')).status).toBe(404);
    expect((await client.get('/scorecards/999999/activate')).status).toBe(404);
    expect((await client.get('/scorecards/compare?a=999999')).status).toBe(404);
  });

  it('a manager may run a backtest but not a fit; a CSM neither; without the CSRF token nothing runs', async () => {
    const manager = await signedIn('manager');
    expect((await manager.post('/proof/fits', { horizonDays: '90' })).status).toBe(403);
    expect((await manager.get('/scorecards/1/activate')).status).toBe(403);
    const csm = await signedIn('csm');
    expect((await csm.get('/proof')).status).toBe(403);
    expect((await csm.post('/proof/backtests', { scorecardId: '1', horizonDays: '90' })).status).toBe(403);
    const analyst = await signedIn('analyst');
    expect((await analyst.post('/proof/backtests', { scorecardId: '1', horizonDays: '90' }, { csrf: null })).status).toBe(403);
    expect(await server.db.selectFrom('scorecard_reports').select('id').execute()).toEqual([]);
  });

  it('the field editor names a mapping point it cannot read and saves nothing', async () => {
    const client = await signedIn('analyst');
    const [card] = await listScorecards(server.db);
    const before = (await listScorecards(server.db)).length;
    await client.get(`/scorecards/${card!.id}`);
    const res = await client.post(`/scorecards/${card!.id}/draft`, { editor: 'fields', intent: 'save', 'keep.0': 'on', 'weight.0': '5', 'points.0': '0:0, four:40' });
    expect(res.status).toBe(422);
    expect(res.text).toContain('“four:40” is not raw:score');
    const bad = await client.post(`/scorecards/${card!.id}/draft`, { editor: 'fields', intent: 'save', 'keep.0': 'on', 'weight.0': '-3' });
    expect(bad.status).toBe(422);
    expect((await listScorecards(server.db)).length).toBe(before);
  });
});
