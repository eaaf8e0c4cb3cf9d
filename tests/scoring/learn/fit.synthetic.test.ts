import { describe, expect, it } from 'vitest';
import { FitError, type FitResult, fitMeasures } from '../../../src/scoring/learn/fit.js';
import { rocAuc } from '../../../src/scoring/learn/metrics.js';
import { combine, mapRaw } from '../../../src/scoring/model.js';
import { mappingSchema } from '../../../src/scoring/scorecard.js';
import { portfolio } from './portfolio.js';

/** Score observations with a fitted result exactly as the product would: mapRaw per measure, then combine. */
function score(result: FitResult, candidateKeys: string[], raws: (number | null)[]): number | null {
  const subs = result.measures.map((m) => {
    const raw = raws[candidateKeys.indexOf(m.feature)];
    const pair = m.with === null ? undefined : (raws[candidateKeys.indexOf(m.with)] ?? null);
    return raw === null || raw === undefined ? null : mapRaw(raw, m.mapping, undefined, pair);
  });
  return combine(
    result.measures.map((m) => m.weight),
    subs,
  ).score;
}

describe('fitting a scorecard to outcomes on a portfolio with a known propensity', () => {
  const train = portfolio(20_000, 11);
  const test = portfolio(20_000, 12);
  const keys = train.candidates.map((c) => c.key);
  const result = fitMeasures({ candidates: train.candidates, observations: train.observations, options: { seed: 3 } });

  it('learns the true direction of every measure with an effect, and keeps them all', () => {
    for (const t of train.truth.filter((t) => t.sign !== 0)) {
      const m = result.measures.find((x) => x.key === t.key);
      expect(m, t.key).toBeDefined();
      expect(m!.direction, t.key).toBe(t.sign > 0 ? 'lower_is_healthier' : 'higher_is_healthier');
    }
  });

  it('drops pure noise or gives it little weight; drops identical values and rare sources with their reason', () => {
    for (const key of ['noise_continuous', 'noise_counts']) {
      const m = result.measures.find((x) => x.key === key);
      if (m) expect(m.weight, key).toBeLessThan(3);
      else expect(result.dropped.find((d) => d.key === key)?.reason).toMatch(/^(no signal: AUC 0\.5\d|no signal: its shape explains a deviance of|points the other way once the others are known|negligible weight)/);
    }
    expect(result.dropped).toContainEqual({ key: 'auto_renew_off', reason: 'no information: identical values' });
    expect(result.dropped.find((d) => d.key === 'rare_source')?.reason).toMatch(/^too little data: [0-9.]+ % coverage$/);
    expect(result.measures.length + result.dropped.length).toBe(keys.length);
  });

  it('reaches within 0.02 of the best attainable AUC on held-out accounts', () => {
    const churned = test.observations.map((o) => o.churned);
    const best = rocAuc(test.bestLogit, churned);
    const scores = test.observations.map((o) => score(result, keys, o.raws));
    expect(scores.every((s) => s !== null)).toBe(true);
    const fitted = rocAuc(
      scores.map((s) => -s!),
      churned,
    );
    expect(best).toBeGreaterThan(0.7);
    expect(fitted).toBeGreaterThan(best - 0.02);
    // Cross-validation and the time split estimate the same held-out performance.
    expect(Math.abs(result.validation.crossValidatedAuc.mean - fitted)).toBeLessThan(0.02);
    expect(Math.abs(result.validation.temporal.testAuc - fitted)).toBeLessThan(0.03);
  });

  it('returns an ordinary scorecard: valid bands mappings, positive weights in hundredths summing to 100', () => {
    for (const m of result.measures) {
      expect(mappingSchema.safeParse(m.mapping).success, m.key).toBe(true);
      expect(m.weight).toBeGreaterThan(0);
      expect(Math.round(m.weight * 100)).toBeCloseTo(m.weight * 100, 9);
      expect(m.coverage).toBeGreaterThan(0.05);
      expect(m.auc).toBeGreaterThan(0.52);
    }
    expect(result.measures.reduce((s, m) => s + Math.round(m.weight * 100), 0)).toBe(10_000);
    expect(result.observations).toBe(20_000);
    expect(result.churned).toBe(train.observations.filter((o) => o.churned).length);
  });

  it('bands: about a fifth of training accounts fall in red and half are green, and red churns at least twice as often as green', () => {
    const scores = train.observations.map((o) => score(result, keys, o.raws)!);
    const red = scores.filter((s) => s < result.bands.red).length / scores.length;
    const green = scores.filter((s) => s >= result.bands.green).length / scores.length;
    expect(result.bands.red).toBeLessThan(result.bands.green);
    expect(red).toBeGreaterThan(0.17);
    expect(red).toBeLessThan(0.23);
    expect(green).toBeGreaterThan(0.47);
    expect(green).toBeLessThan(0.53);
    const rate = (pick: (s: number) => boolean) => {
      const chosen = train.observations.filter((_, i) => pick(scores[i]!));
      return chosen.filter((o) => o.churned).length / chosen.length;
    };
    expect(rate((s) => s < result.bands.red)).toBeGreaterThan(2 * rate((s) => s >= result.bands.green));
  });

  it('calibration: predicted churn probabilities average to the churn rate on held-out accounts and rise as the score falls', () => {
    const { intercept, slope } = result.calibration;
    expect(slope).toBeLessThan(0);
    const predicted = test.observations.map((o) => 1 / (1 + Math.exp(-(intercept + slope * score(result, keys, o.raws)!))));
    const meanPredicted = predicted.reduce((s, p) => s + p, 0) / predicted.length;
    const rate = test.observations.filter((o) => o.churned).length / test.observations.length;
    expect(Math.abs(meanPredicted - rate)).toBeLessThan(0.015);
  });

  it('validation: five folds, a time split at the 80th percentile of outcome dates', () => {
    const { crossValidatedAuc, temporal } = result.validation;
    expect(crossValidatedAuc.folds).toHaveLength(5);
    expect(crossValidatedAuc.sd).toBeLessThan(0.03);
    const dates = train.observations.map((o) => o.outcomeDate).sort();
    expect(temporal.trainUntil).toBe(dates[Math.ceil(0.8 * dates.length) - 1]);
    expect(temporal.testObservations).toBe(dates.filter((d) => d > temporal.trainUntil).length);
    expect(temporal.trainAuc).toBeGreaterThan(0.6);
  });
});

describe('fitMeasures edge cases', () => {
  const small = portfolio(1500, 5);

  it('is deterministic for a seed', () => {
    const a = fitMeasures({ candidates: small.candidates, observations: small.observations, options: { seed: 9 } });
    const b = fitMeasures({ candidates: small.candidates, observations: small.observations, options: { seed: 9 } });
    expect(JSON.stringify(a)).toBe(JSON.stringify(b));
  });

  it('refuses data without both outcomes, and a row of the wrong width', () => {
    const allRetained = small.observations.map((o) => ({ ...o, churned: false }));
    expect(() => fitMeasures({ candidates: small.candidates, observations: allRetained })).toThrow(FitError);
    expect(() => fitMeasures({ candidates: small.candidates, observations: [{ raws: [1], churned: true, outcomeDate: '2025-01-01' }] })).toThrow(FitError);
  });

  it('refuses with a FitError when no measure carries signal', () => {
    // Churn exactly as common at either value: nothing to learn.
    const noise = small.observations.map((o, i) => ({ ...o, churned: i % 4 < 2, raws: [i % 2, 7] }));
    const candidates = [small.candidates[5]!, small.candidates[7]!];
    expect(() => fitMeasures({ candidates, observations: noise })).toThrow(/no measure carries signal/);
  });

  it('a rare but telling flag falls under the default AUC floor ("no signal") and is kept when the floor is lowered', () => {
    // 2 % of accounts flagged, churning at 40 % against 20 %: churners flagged 3.9 %, others 1.5 % → AUC ≈ 0.512.
    let state = 17;
    const random = () => ((state = (Math.imul(state, 1103515245) + 12345) >>> 0) / 4294967296);
    const observations = Array.from({ length: 20_000 }, (_, i) => {
      const flag = random() < 0.02 ? 1 : 0;
      const trend = random();
      return { raws: [flag, trend], churned: random() < (flag ? 0.4 : 0.2) + (0.5 - trend) * 0.2, outcomeDate: `2025-01-${String(1 + (i % 28)).padStart(2, '0')}` };
    });
    const candidates = [
      { key: 'overdue', feature: 'payment_overdue', label: 'Overdue', group: 'commercial' as const },
      { key: 'trend', feature: 'usage_trend', label: 'Trend', group: 'usage' as const },
    ];
    const strict = fitMeasures({ candidates, observations, options: { method: 'monotone', references: false } });
    expect(strict.dropped.find((d) => d.key === 'overdue')?.reason).toMatch(/^no signal: AUC 0\.5[01]$/);
    const lenient = fitMeasures({ candidates, observations, options: { minAuc: 0.5, method: 'monotone', references: false } });
    expect(lenient.measures.find((m) => m.key === 'overdue')?.direction).toBe('lower_is_healthier');
    // The shapes method judges a measure by the deviance it explains, not its AUC: it keeps the flag.
    const shapes = fitMeasures({ candidates, observations, options: { references: false } });
    expect(shapes.measures.find((m) => m.key === 'overdue')?.direction).toBe('lower_is_healthier');
  });

  it('a measure that only echoes another one is dropped once the others are known, or shares the weight', () => {
    // The same feature twice, the copy reversed and with noise: it must not take weight pointing the other way.
    const candidates = [...small.candidates.slice(0, 5), { ...small.candidates[0]!, key: 'usage_trend_copy' }];
    const observations = small.observations.map((o) => ({ ...o, raws: [...o.raws.slice(0, 5), o.raws[0] === null ? null : o.raws[0]!] }));
    const result = fitMeasures({ candidates, observations });
    const copy = result.measures.find((m) => m.key === 'usage_trend_copy');
    const original = result.measures.find((m) => m.key === 'usage_trend');
    expect(result.measures.every((m) => m.weight > 0)).toBe(true);
    if (copy && original) expect(copy.direction).toBe(original.direction);
  });
});
