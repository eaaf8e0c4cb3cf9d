import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { rocAuc } from '../../src/scoring/learn/metrics.js';
import { generatePortfolio, type GeneratedPortfolio, loadPortfolio } from '../support/churn-portfolio.js';
import { startTestServer, type TestServer } from '../support/server.js';

/**
 * On a generated portfolio whose churn follows a known latent propensity, a
 * scorecard fitted to the earlier outcomes finds the true directions and, on
 * the later (held-out) accounts, ranks churn nearly as well as the latent
 * propensity itself; the shipped default clearly beats chance.
 */
let s: TestServer;
let portfolio: GeneratedPortfolio;
const SPLIT = 0.7;
let splitDay: string;

interface Report {
  rocAuc: number;
  observations: number;
  measures: { key: string; feature: string; direction: string }[];
  bands: { band: string; churnRate: number | null }[];
}

beforeAll(async () => {
  s = await startTestServer();
  portfolio = generatePortfolio({ accounts: 1600, seed: 20261130 });
  await loadPortfolio(s, portfolio);
  const days = portfolio.accounts.map((a) => a.outcomeDate).sort();
  splitDay = days[Math.floor(days.length * SPLIT)]!;
});
afterAll(() => s?.close());

const dayBefore = (day: string) => new Date(Date.parse(day) - 86_400_000).toISOString().slice(0, 10);

describe('fit', () => {
  let fitted: { scorecard: { id: number; definition: { groups: { measures: { feature: string; mapping: { bands: { min: number; score: number }[] } }[] }[] } }; fit: Record<string, unknown> };

  it('learns a scorecard from the earlier outcomes, with the true directions', async () => {
    const res = await s.call('POST', '/v1/scorecards/fit', { body: { to: dayBefore(splitDay), seed: 7 } });
    expect(res.status).toBe(201);
    fitted = (await res.json()) as typeof fitted;
    const measures = fitted.scorecard.definition.groups.flatMap((g) => g.measures);
    // A near-duplicate is dropped for the feature it duplicates: judge that one.
    const dropped = (fitted.fit as { dropped: { key: string; reason: string }[] }).dropped;
    const keeper = (feature: string) => dropped.find((d) => d.key === feature)?.reason.match(/^duplicate of (\w+)/)?.[1] ?? feature;
    const direction = (feature: string) => {
      const m = measures.find((x) => x.feature === keeper(feature) && 'bands' in x.mapping);
      if (!m) return undefined;
      const scores = m.mapping.bands.map((b) => b.score);
      return scores.at(-1)! > scores[0]! ? 'higher_is_healthier' : 'lower_is_healthier';
    };
    // Usage decline: a falling change and fewer active days go with churn.
    expect(direction('usage_change_30_90') ?? direction('active_days_30d')).toBe('higher_is_healthier');
    expect(direction('complaints_90d')).toBe('lower_is_healthier');
    expect(direction('latest_nps')).toBe('higher_is_healthier');
    expect(direction('contract_months') ?? direction('tenure_months')).toBe('higher_is_healthier');
    const cv = (fitted.fit.validation as { crossValidatedAuc: { mean: number } }).crossValidatedAuc.mean;
    expect(cv).toBeGreaterThan(0.6);
  });

  it('ranks the held-out accounts within 0.02 of the best attainable AUC', async () => {
    const res = await s.call('POST', '/v1/scorecards/backtest', { body: { scorecardId: fitted.scorecard.id, from: splitDay } });
    expect(res.status).toBe(201);
    const { report } = (await res.json()) as { report: Report };
    const heldOut = portfolio.accounts.filter((a) => a.outcomeDate >= splitDay);
    expect(report.observations).toBe(heldOut.length);
    const best = rocAuc(heldOut.map((a) => a.logit), heldOut.map((a) => a.churned));
    console.info(`held-out AUC: fitted ${report.rocAuc}, best attainable ${best.toFixed(4)} (${heldOut.length} accounts)`);
    expect(report.rocAuc).toBeGreaterThan(best - 0.02);
  });

  it('the shipped default clearly beats chance with no outcomes to learn from', async () => {
    const res = await s.call('POST', '/v1/scorecards/backtest', { body: {} });
    expect(res.status).toBe(201);
    const { report } = (await res.json()) as { report: Report };
    expect(report.observations).toBe(portfolio.accounts.length);
    console.info(`default scorecard AUC on the generated portfolio: ${report.rocAuc}; bands ${JSON.stringify(report.bands)}`);
    expect(report.rocAuc).toBeGreaterThan(0.65);
  });

  it('activates like any scorecard and gives a calibrated churn probability', async () => {
    expect((await s.call('POST', `/v1/scorecards/${fitted.scorecard.id}/activate`)).status).toBe(200);
    const res = await s.call('GET', `/v1/accounts/${portfolio.accounts[0]!.externalId}/health?as_of=${portfolio.accounts[0]!.outcomeDate}T00:00:00Z`);
    expect(res.status).toBe(200);
    const health = (await res.json()) as { churnProbability: number | null; explanation: { sentence: string }[] };
    expect(health.churnProbability).toBeGreaterThan(0);
    expect(health.churnProbability).toBeLessThan(1);
    expect(health.explanation.length).toBeGreaterThan(0);
  });
});
