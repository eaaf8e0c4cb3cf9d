import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { registry } from '../../src/compose/jobs.js';
import { createPerson } from '../../src/people/repository.js';
import type { FitProposal } from '../../src/proof/proposals/model.js';
import { proposeFit } from '../../src/proof/proposals/propose.js';
import { generatePortfolio, loadPortfolio } from '../support/churn-portfolio.js';
import { startTestServer, type TestServer } from '../support/server.js';

/**
 * The fit-proposal job on a generated portfolio: with enough outcomes it fits
 * a draft, compares it with the active (default) scorecard on the same
 * outcomes, stores a proposal and tells the analysts; it never activates the
 * draft, and without new outcomes it does nothing.
 */
let s: TestServer;
let first: FitProposal;

beforeAll(async () => {
  s = await startTestServer();
  await loadPortfolio(s, generatePortfolio({ accounts: 1200, seed: 20261208 }));
  await createPerson(s.db, { email: 'analyst@example.com', name: 'Liu Yang', roles: ['analyst'], password: 'correct horse battery staple' });
  await createPerson(s.db, { email: 'csm@example.com', name: 'Casey', roles: ['csm'], password: 'correct horse battery staple' });
});
afterAll(() => s?.close());

describe('fit proposals', () => {
  it('the job fits a draft, finds it better than the default by a trustworthy margin and tells the analyst only', async () => {
    const job = registry.find((j) => j.name === 'propose-fit')!;
    const counts = await job.handler({ db: s.db } as Parameters<typeof job.handler>[0]);
    expect(counts).toEqual({ proposals: 1, better: 1, notified: 1 });

    // The fit ran in this process for seconds: a pooled keep-alive socket the server timed out meanwhile may reset once.
    await s.call('GET', '/v1/health/ready').catch(() => undefined);
    const list = await s.call('GET', '/v1/fit-proposals');
    expect(list.status).toBe(200);
    const { items } = (await list.json()) as { items: FitProposal[] };
    expect(items).toHaveLength(1);
    first = items[0]!;
    expect(first).toMatchObject({ trigger: 'schedule', status: 'proposed', better: true, notified: true, segment: null, horizonDays: 90 });
    expect(first.outcomes.total).toBe(1200);
    expect(first.outcomes.churned! + first.outcomes.retained!).toBe(1200);
    const { active, draft, comparison, references } = first;
    expect(draft!.auc!).toBeGreaterThan(active!.auc! + comparison!.margin);
    expect(comparison!.interval![0]).toBeGreaterThan(comparison!.margin);
    expect(comparison!.aucDifference).toBeCloseTo(draft!.auc! - active!.auc!, 3);
    expect(draft!.aucInterval![0]).toBeLessThan(draft!.auc!);
    expect(references!.boostedTrees.auc).toBeGreaterThan(0.6);
    expect(references!.logisticRegression.auc).toBeGreaterThan(0.6);

    // The draft is stored, inactive, with its fit report; the default stays active.
    const card = (await (await s.call('GET', `/v1/scorecards/${draft!.scorecardId}`)).json()) as { active: boolean };
    expect(card.active).toBe(false);
    const report = await s.call('GET', `/v1/backtests/${draft!.fitReportId}`);
    expect(report.status).toBe(200);
    expect(((await report.json()) as { kind: string }).kind).toBe('fit');

    const one = await s.call('GET', `/v1/fit-proposals/${first.id}`);
    expect(await one.json()).toEqual(first);

    // One notification, to the analyst (email), none to the CSM.
    const sent = await s.db
      .selectFrom('webhook_events as e')
      .innerJoin('webhook_deliveries as d', 'd.event_id', 'e.id')
      .innerJoin('webhook_subscriptions as w', 'w.id', 'd.subscription_id')
      .select(['w.url', 'e.payload'])
      .where('e.type', '=', 'notification.fit_proposal')
      .execute();
    expect(sent.map((r) => r.url)).toEqual(['mailto:analyst@example.com']);
    const payload = (sent[0]!.payload as { notification: { fitProposal: { id: number; draftAuc: number } } }).notification;
    expect(payload.fitProposal).toMatchObject({ id: first.id, draftAuc: draft!.auc });
  });

  it('without new outcomes it stores nothing, and the default scorecard is still the active one', async () => {
    const again = await proposeFit(s.db);
    expect(again).toEqual({ proposal: null, skipped: 'no new outcomes since the last proposal' });
    const { items } = (await (await s.call('GET', '/v1/fit-proposals')).json()) as { items: FitProposal[] };
    expect(items.map((p) => p.id)).toEqual([first.id]);
    const active = (await (await s.call('GET', `/v1/scorecards/${first.active!.scorecardId}`)).json()) as { active: boolean };
    expect(active.active).toBe(true);
  });

  it('an unknown proposal is a 404 problem', async () => {
    const res = await s.call('GET', '/v1/fit-proposals/987654');
    expect(res.status).toBe(404);
    expect(res.headers.get('content-type')).toMatch(/application\/problem\+json/);
  });
});
