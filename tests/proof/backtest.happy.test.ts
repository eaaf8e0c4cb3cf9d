import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { scoreAsOf } from '../../src/scoring/point-in-time.js';
import { recomputeAll } from '../../src/scoring/recompute.js';
import { generatePortfolio, type GeneratedPortfolio, HORIZON_DAYS, loadPortfolio } from '../support/churn-portfolio.js';
import { startTestServer, type TestServer } from '../support/server.js';

/**
 * The backtest scores every account with a known outcome as it stood
 * `horizonDays` before it, set-based; its AUC must equal a Mann–Whitney count
 * over the same scores computed one account at a time (the path behind
 * GET /health?as_of=).
 */
let s: TestServer;
let portfolio: GeneratedPortfolio;

interface Report {
  observations: number;
  scored: number;
  rocAuc: number;
  rocAuc95: { low: number; high: number };
  prAuc: number;
  churnRate: number;
  accountsChurned: number;
  bands: { band: string; accounts: number; churned: number; churnRate: number | null }[];
  caught: { red: number; redOrYellow: number };
  liftTopDecile: number;
  measures: { key: string; auc: number | null; direction: string; coverage: number; informative: boolean }[];
}

beforeAll(async () => {
  s = await startTestServer();
  portfolio = generatePortfolio({ accounts: 240, seed: 99, prefix: 'bt' });
  await loadPortfolio(s, portfolio);
  await recomputeAll(s.db);
});
afterAll(() => s?.close());

/** P(score of a churner < score of a renewer), ties ½: every pair counted. */
function mannWhitney(scores: { score: number; churned: boolean }[]) {
  const churners = scores.filter((x) => x.churned);
  const renewers = scores.filter((x) => !x.churned);
  let wins = 0;
  for (const c of churners) for (const r of renewers) wins += c.score < r.score ? 1 : c.score === r.score ? 0.5 : 0;
  return wins / (churners.length * renewers.length);
}

describe('backtest', () => {
  let id: number;
  let report: Report;

  it('reports the AUC with its interval, PR-AUC and the outcomes it judged', async () => {
    const res = await s.call('POST', '/v1/scorecards/backtest', { body: { horizonDays: HORIZON_DAYS } });
    expect(res.status).toBe(201);
    ({ id, report } = (await res.json()) as { id: number; report: Report });
    expect(report.observations).toBe(portfolio.accounts.length);
    expect(report.accountsChurned).toBe(portfolio.accounts.filter((a) => a.churned).length);

    expect(report.rocAuc95.low).toBeLessThan(report.rocAuc);
    expect(report.rocAuc95.high).toBeGreaterThan(report.rocAuc);
    expect(report.prAuc).toBeGreaterThan(report.churnRate);
  });

  it('bands, catches and lift are consistent with the outcomes', () => {
    expect(report.bands.reduce((n, b) => n + b.accounts, 0)).toBe(report.scored);
    expect(report.bands.reduce((n, b) => n + b.churned, 0)).toBe(report.accountsChurned);
    const red = report.bands.find((b) => b.band === 'red')!;
    expect(report.caught.red).toBeCloseTo(red.churned / report.accountsChurned, 3);
    expect(report.caught.redOrYellow).toBeGreaterThanOrEqual(report.caught.red);
    expect(report.liftTopDecile).toBeGreaterThan(1);
    const payment = report.measures.find((m) => m.key === 'payment')!;
    expect(payment).toMatchObject({ informative: false, direction: 'no_information' }); // no one is overdue here
    const complaints = report.measures.find((m) => m.key === 'complaints')!;
    expect(complaints.direction).toBe('higher_goes_with_churn');
    expect(complaints.auc).toBeGreaterThan(0.5);
  });

  it('is stored and can be fetched again', async () => {
    const res = await s.call('GET', `/v1/backtests/${id}`);
    expect(res.status).toBe(200);
    const stored = (await res.json()) as { kind: string; report: Report };
    expect(stored.kind).toBe('backtest');
    expect(stored.report.rocAuc).toBe(report.rocAuc);
    const list = (await (await s.call('GET', '/v1/backtests?kind=backtest')).json()) as { items: { id: number }[] };
    expect(list.items.map((i) => i.id)).toContain(id);
    expect((await s.call('GET', '/v1/backtests/999999')).status).toBe(404);
  });

  it('tests a draft from the body without saving it as a scorecard', async () => {
    const card = (await (await s.call('GET', '/v1/scorecards')).json()) as { items: { definition: { groups: { key: string }[] } }[] };
    const draft = structuredClone(card.items[0]!.definition);
    draft.groups = draft.groups.filter((g) => g.key === 'support');
    const res = await s.call('POST', '/v1/scorecards/backtest', { body: { definition: draft } });
    expect(res.status).toBe(201);
    const body = (await res.json()) as { scorecard: unknown; report: Report };
    expect(body.scorecard).toBeNull();
    expect(body.report.measures.every((m) => ['open_tickets', 'oldest_urgent', 'complaints', 'repeat_contacts', 'escalations', 'late_resolutions', 'ticket_satisfaction'].includes(m.key))).toBe(true);
  });
});

describe('backtest AUC', () => {
  it('equals an independent pairwise count over each account’s past score computed on its own', async () => {
    const res = await s.call('POST', '/v1/scorecards/backtest', { body: { horizonDays: HORIZON_DAYS } });
    const { report } = (await res.json()) as { report: Report };
    // Judged with the same "no information" measures as the backtest's population.
    const card = (await (await s.call('GET', '/v1/scorecards')).json()) as { items: { definition: { groups: { measures: { key: string; feature: string }[] }[] } }[] };
    const featureOf = new Map(card.items[0]!.definition.groups.flatMap((g) => g.measures).map((m) => [m.key, m.feature]));
    const uninformative = new Set(report.measures.filter((m) => !m.informative).map((m) => featureOf.get(m.key)!));
    const scores = [];
    for (const a of portfolio.accounts) {
      const asOf = new Date(Date.parse(a.outcomeDate) - HORIZON_DAYS * 86_400_000);
      const { id } = await s.db.selectFrom('accounts').select('id').where('external_id', '=', a.externalId).executeTakeFirstOrThrow();
      const past = await scoreAsOf(s.db, id, asOf, uninformative);
      scores.push({ score: past!.base_score!, churned: a.churned });
      // The embedded database runs in this process: let the HTTP side keep its connections tidy meanwhile.
      await new Promise((r) => setImmediate(r));
    }
    expect(report.rocAuc).toBeCloseTo(mannWhitney(scores), 4);
  });
});

describe('no information, then and now', () => {
  it('a past score is weighed with what was known then, not with today’s population', async () => {
    // Every generated account stopped using the product before today: now, everyone has 0 active days.
    const a = portfolio.accounts[0]!;
    const now = (await (await s.call('GET', `/v1/accounts/${a.externalId}/health`)).json()) as { explanation: { key: string; status: string }[] };
    expect(now.explanation.find((e) => e.key === 'active_days')!.status).toBe('no_information');
    const asOf = new Date(Date.parse(a.outcomeDate) - HORIZON_DAYS * 86_400_000).toISOString();
    const past = (await (await s.call('GET', `/v1/accounts/${a.externalId}/health?as_of=${asOf}`)).json()) as { explanation: { key: string; status: string }[] };
    expect(past.explanation.find((e) => e.key === 'active_days')!.status).toBe('ok');
  });
});

describe('outcomes', () => {
  it('lists the renewal outcomes the contracts recorded, dated by their renewal', async () => {
    const first = (await (await s.call('GET', '/v1/outcomes?limit=100')).json()) as { items: { account: string; kind: string; churned: boolean; occurredOn: string; source: string }[]; nextCursor: string };
    expect(first.items).toHaveLength(100);
    const rest = (await (await s.call('GET', `/v1/outcomes?limit=500&cursor=${first.nextCursor}`)).json()) as { items: typeof first.items };
    const all = [...first.items, ...rest.items];
    expect(all).toHaveLength(portfolio.accounts.length);
    for (const o of all) {
      const a = portfolio.accounts.find((x) => x.externalId === o.account)!;
      expect(o).toMatchObject({ kind: a.churned ? 'churned' : 'renewed', churned: a.churned, occurredOn: a.outcomeDate, source: 'contract' });
    }
  });

  it('imports outcomes in batches (and by CSV through the same intake), and records a lifecycle churn', async () => {
    const res = await s.call('POST', '/v1/outcomes/batch', {
      body: { items: [{ outcomeId: 'o-1', account: 'bt-00000', kind: 'downgraded', occurredOn: '2026-01-15' }, { outcomeId: 'o-2', account: 'bt-00000', kind: 'exploded', occurredOn: '2026-01-15' }] },
    });
    const body = (await res.json()) as { summary: Record<string, number> };
    expect(body.summary).toMatchObject({ created: 1, error: 1 });
    const again = (await (await s.call('POST', '/v1/outcomes/batch', { body: { items: [{ outcomeId: 'o-1', account: 'bt-00000', kind: 'downgraded', occurredOn: '2026-01-15' }] } })).json()) as { summary: Record<string, number> };
    expect(again.summary).toMatchObject({ unchanged: 1 });
    await s.call('PUT', '/v1/accounts/bt-00001', { body: { name: 'Gone', lifecycleStage: 'churned' } });
    const listed = (await (await s.call('GET', '/v1/outcomes?kind=downgraded')).json()) as { items: { account: string; source: string }[] };
    expect(listed.items).toEqual([expect.objectContaining({ account: 'bt-00000', source: 'import' })]);
    const churned = (await (await s.call('GET', '/v1/outcomes?kind=churned&limit=1000')).json()) as { items: { account: string; source: string }[] };
    expect(churned.items.some((o) => o.account === 'bt-00001' && o.source === 'lifecycle')).toBe(true);
  });
});

describe('fit', () => {
  it('refuses with 422 naming the shortfall when there are too few outcomes', async () => {
    const res = await s.call('POST', '/v1/scorecards/fit', { body: { from: portfolio.accounts.map((a) => a.outcomeDate).sort().at(-20) } });
    expect(res.status).toBe(422);
    const problem = (await res.json()) as { detail: string; churned: number };
    expect(problem.detail).toMatch(/at least 50 churned and 50 retained outcomes; there are \d+ churned and \d+ retained/);
  });
});
