import { describe, expect, it } from 'vitest';
import { binCandidates } from '../../../src/scoring/learn/binned.js';
import { type FitResult, fitMeasures } from '../../../src/scoring/learn/fit.js';
import { fitBoostedTrees, predictTrees } from '../../../src/scoring/learn/gbt.js';
import { rocAuc } from '../../../src/scoring/learn/metrics.js';
import { prepare } from '../../../src/scoring/learn/train.js';
import { combine, mapRaw } from '../../../src/scoring/model.js';
import { mappingSchema } from '../../../src/scoring/scorecard.js';
import { shapedPortfolio } from './portfolio.js';

/** The product's score of an observation under a fitted result (interaction lines read their second value). */
function score(result: FitResult, keys: string[], raws: (number | null)[]): number | null {
  const subs = result.measures.map((m) => {
    const raw = raws[keys.indexOf(m.feature)];
    const pair = m.with === null ? undefined : (raws[keys.indexOf(m.with)] ?? null);
    return raw === null || raw === undefined ? null : mapRaw(raw, m.mapping, undefined, pair);
  });
  return combine(
    result.measures.map((m) => m.weight),
    subs,
  ).score;
}

describe('the explainable fit on a portfolio with a rise-then-fall effect and an interaction', () => {
  const train = shapedPortfolio(8000, 21);
  const test = shapedPortfolio(8000, 22);
  const keys = train.candidates.map((c) => c.key);
  const result = fitMeasures({ candidates: train.candidates, observations: train.observations, options: { seed: 4 } });
  const churnedTest = test.observations.map((o) => o.churned);
  const heldOut = rocAuc(
    test.observations.map((o) => -(score(result, keys, o.raws) ?? 50)),
    churnedTest,
  );

  it('gets within 0.02 AUC of the boosted-tree reference, on the same folds and on held-out accounts', () => {
    const refs = result.validation.references!;
    expect(refs.boostedTrees.folds).toHaveLength(result.validation.crossValidatedAuc.folds.length);
    expect(refs.logisticRegression.folds).toHaveLength(5);
    expect(result.validation.crossValidatedAuc.mean).toBeGreaterThan(refs.boostedTrees.mean - 0.02);
    // Boosted trees trained on all the training accounts, scored on the held-out ones (bins from the values alone).
    const both = [...train.observations, ...test.observations];
    const data = prepare(
      both.map((o) => o.raws),
      both.map((o) => o.churned),
      keys.length,
    );
    const binned = binCandidates(data, { maxBins: 16, minBinShare: 0.02, minCoverage: 0.05 });
    const trees = fitBoostedTrees(binned, data.churned, Array.from({ length: train.observations.length }, (_, i) => i));
    const treeAuc = rocAuc(
      test.observations.map((_, i) => predictTrees(trees, binned, train.observations.length + i)),
      churnedTest,
    );
    expect(heldOut).toBeGreaterThan(treeAuc - 0.02);
    // The linear reference cannot bend: it stays clearly below.
    expect(refs.logisticRegression.mean).toBeLessThan(refs.boostedTrees.mean - 0.03);
  });

  it('an additive monotone scorecard falls short of it on the same data', () => {
    const monotone = fitMeasures({ candidates: train.candidates, observations: train.observations, options: { seed: 4, method: 'monotone', references: false } });
    const auc = rocAuc(
      test.observations.map((o) => -(score(monotone, keys, o.raws) ?? 50)),
      churnedTest,
    );
    expect(auc).toBeLessThan(heldOut - 0.02);
  });

  it('shows tenure as a shape that rises then falls, and the tickets × NPS interaction as its own line', () => {
    const tenure = result.measures.find((m) => m.key === 'tenure_months')!;
    expect(tenure.monotone).toBe(false);
    const bands = tenure.mapping.type === 'bands' ? tenure.mapping.bands : [];
    const at = (x: number) => mapRaw(x, tenure.mapping)!;
    // Healthy at the start and after the cliff, worst around month 13.
    expect(at(13)).toBeLessThan(at(1) - 30);
    expect(at(13)).toBeLessThan(at(40) - 30);
    expect(bands.length).toBeGreaterThan(2);
    const line = result.measures.find((m) => m.kind === 'interaction');
    expect(line).toBeDefined();
    expect([line!.feature, line!.with].sort()).toEqual(['latest_nps', 'tickets_90d']);
    expect(line!.mapping.type).toBe('grid');
    // Beyond the two measures' own shapes: many tickets hurt a detractor more than a promoter, and more than few tickets do.
    const cell = (tickets: number, nps: number) =>
      line!.feature === 'tickets_90d' ? mapRaw(tickets, line!.mapping, undefined, nps)! : mapRaw(nps, line!.mapping, undefined, tickets)!;
    expect(cell(4, 3)).toBeLessThan(cell(4, 9) - 20);
    expect(cell(4, 3)).toBeLessThan(cell(0, 3) - 20);
    for (const m of result.measures) expect(mappingSchema.safeParse(m.mapping).success, m.key).toBe(true);
    expect(result.measures.reduce((s, m) => s + m.weight, 0)).toBeCloseTo(100, 6);
  });

  it('drops the near-duplicate with its reason, and noise', () => {
    expect(result.dropped.find((d) => d.key === 'tickets_per_seat')?.reason).toMatch(/^duplicate of tickets_90d: correlation 1\.000/);
    expect(result.measures.find((m) => m.key === 'noise')?.weight ?? 0).toBeLessThan(3);
  });
});

describe('an empty time split says why', () => {
  it('all outcomes on one date', () => {
    const { candidates, observations } = shapedPortfolio(1200, 5);
    const oneDay = observations.map((o) => ({ ...o, outcomeDate: '2025-03-01' }));
    const result = fitMeasures({ candidates, observations: oneDay, options: { references: false } });
    expect(result.validation.temporal.testObservations).toBe(0);
    expect(Number.isNaN(result.validation.temporal.testAuc)).toBe(true);
    expect(result.validation.temporal.reason).toBe('all 1200 outcomes fall on one date (2025-03-01): a time split needs outcomes on at least two dates');
  });

  it('later outcomes of one kind only', () => {
    const { candidates, observations } = shapedPortfolio(1200, 6);
    const late = observations.map((o, i) => (i % 5 === 0 ? { ...o, outcomeDate: '2026-06-01', churned: false } : { ...o, outcomeDate: '2025-01-01' }));
    const result = fitMeasures({ candidates, observations: late, options: { references: false } });
    expect(result.validation.temporal.reason).toBe('the 240 outcomes after 2025-01-01 are all retained: an AUC needs both');
  });
});
