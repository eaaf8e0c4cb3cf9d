import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { renderMessage } from '../../src/notifications/templates.js';
import { DEFAULT_SCORECARD, type ScorecardDefinition } from '../../src/scoring/scorecard.js';
import { startTestServer, type TestServer } from '../support/server.js';
import { useRuleSet } from './fixtures.js';

let s: TestServer;
beforeAll(async () => {
  s = await startTestServer();
  // Rules as shipped, no budget in the way; the 24-hour cap is on.
  await useRuleSet(s.db, { cooldownHours: 24 });
});
afterAll(() => s?.close());

/** A scorecard of one measure, the latest NPS answer: `promoters` decides who scores high. */
const npsCard = (name: string, promoters: 'high' | 'low'): ScorecardDefinition => ({
  ...DEFAULT_SCORECARD,
  name,
  groups: [
    {
      key: 'surveys',
      label: 'Surveys',
      measures: [
        {
          key: 'nps',
          label: 'Latest NPS answer',
          feature: 'latest_nps',
          weight: 1,
          mapping: { type: 'bands', bands: promoters === 'high' ? [{ min: 0, score: 10 }, { min: 7, score: 100 }] : [{ min: 0, score: 100 }, { min: 7, score: 10 }] },
        },
      ],
    },
  ],
});

const json = async <T>(res: Response) => {
  expect(res.status, await res.clone().text()).toBeLessThan(300);
  return (await res.json()) as T;
};

const unresolved = async () =>
  (
    await sql<{ key: string }>`
      select acc.external_id || ' ' || al.rule_key as key from alerts al join accounts acc on acc.id = al.account_id
       where al.status <> 'resolved' order by 1`.execute(s.db)
  ).rows.map((r) => r.key);

describe('activating a scorecard re-checks every open alert', () => {
  it('resolves stale alerts as scorecard_changed and opens the new ones despite the cap; the preview says how many', async () => {
    const now = new Date().toISOString();
    const accounts = ['act-p1', 'act-p2', 'act-p3', 'act-d1', 'act-d2'];
    await json(await s.call('POST', '/v1/accounts/batch', { body: { items: accounts.map((a) => ({ externalId: a, name: a })) } }));
    await json(
      await s.call('POST', '/v1/surveys/batch', {
        body: { items: accounts.map((a) => ({ responseId: `${a}-n`, account: a, kind: 'nps', score: a.startsWith('act-p') ? 9 : 2, respondedAt: now })) },
      }),
    );
    // Version A: detractors score low, so they are red and get alerts.
    const a = await json<{ id: number }>(await s.call('POST', '/v1/scorecards', { body: { segment: null, definition: npsCard('A', 'high') } }));
    await json(await s.call('POST', `/v1/scorecards/${a.id}/activate`));
    expect(await unresolved()).toEqual(['act-d1 entered_red', 'act-d2 entered_red']);
    // Every pair opened an alert within the last hour: the 24-hour cap would hold back any new opening.
    await sql`insert into alert_openings (account_id, rule_key, last_opened_at)
              select id, 'entered_red', now() - interval '1 hour' from accounts where external_id like 'act-%'
              on conflict (account_id, rule_key) do update set last_opened_at = excluded.last_opened_at`.execute(s.db);

    // Version B turns it round. The preview says what activating it will do to alerts, and changes nothing.
    const definition = npsCard('B', 'low');
    const preview = await json<{ alerts: { opening: number; closing: number } }>(await s.call('POST', '/v1/scorecards/preview', { body: { segment: null, definition } }));
    expect(preview.alerts).toMatchObject({ opening: 3, closing: 2 });
    expect(await unresolved()).toEqual(['act-d1 entered_red', 'act-d2 entered_red']);

    const b = await json<{ id: number }>(await s.call('POST', '/v1/scorecards', { body: { segment: null, definition } }));
    await json(await s.call('POST', `/v1/scorecards/${b.id}/activate`));
    expect(await unresolved()).toEqual(['act-p1 entered_red', 'act-p2 entered_red', 'act-p3 entered_red']);
    const closed = await s.db
      .selectFrom('alerts')
      .innerJoin('accounts', 'accounts.id', 'alerts.account_id')
      .select(['external_id', 'resolution'])
      .where('status', '=', 'resolved')
      .where('external_id', 'like', 'act-d%')
      .orderBy('external_id')
      .execute();
    expect(closed).toEqual([
      { external_id: 'act-d1', resolution: 'scorecard_changed' },
      { external_id: 'act-d2', resolution: 'scorecard_changed' },
    ]);

    // Notified as a scorecard change, not as a save.
    const { rows } = await sql<{ payload: { alert: { resolution: string }; change: { details: { reason: string } } } }>`
      select payload from webhook_events where type = 'churn_risk.resolved' order by created_at, id`.execute(s.db);
    expect(rows.map((r) => r.payload.alert.resolution)).toEqual(['scorecard_changed', 'scorecard_changed']);
    expect(rows[0]!.payload.change.details.reason).toMatch(/^scorecard changed: /);
    const message = renderMessage(
      {
        kind: 'alert_resolved',
        language: 'en',
        timezone: 'UTC',
        recipient: null,
        account: { externalId: 'act-d1', name: 'act-d1', score: 100, band: 'green' },
        alert: { id: 1, severity: 'high', ruleKey: 'entered_red', status: 'resolved', assignee: null, reasons: [], resolution: 'scorecard_changed' },
      },
      'http://localhost',
    );
    expect(message.title).toBe('Churn risk withdrawn, the scorecard changed: act-d1');
  });

  it('activating a rule set re-checks too: alerts it makes untrue resolve as rules_changed', async () => {
    const open = await unresolved();
    expect(open.length).toBe(3);
    // The key entered_red now means a drop of 50 points: the open alerts of that key no longer hold.
    const created = await json<{ id: number }>(
      await s.call('POST', '/v1/alert-rules', {
        body: {
          definition: {
            name: 'steep drops only',
            budget: null,
            rules: [
              { key: 'entered_red', type: 'score_drop', severity: 'high', params: { points: 50, days: 7 } },
            ],
          },
        },
      }),
    );
    await json(await s.call('POST', `/v1/alert-rules/${created.id}/activate`));
    expect(await unresolved()).toEqual([]);
    const { rows } = await sql<{ resolution: string }>`
      select distinct resolution from alerts a join accounts acc on acc.id = a.account_id where acc.external_id like 'act-p%'`.execute(s.db);
    expect(rows.map((r) => r.resolution)).toEqual(['rules_changed']);
  });
});
