import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { FitError, type FitObservation, fitMeasures } from '../../../src/scoring/learn/fit.js';
import { combine, mapRaw } from '../../../src/scoring/model.js';
import { mappingSchema } from '../../../src/scoring/scorecard.js';

const GROUPS = ['usage', 'support', 'surveys', 'commercial'] as const;

/** Small random data sets: a few candidates of mixed kinds (continuous, counts, constant, mostly missing) and random-ish outcomes. */
const dataSet = fc
  .record({
    kinds: fc.array(fc.constantFrom('continuous', 'counts', 'constant', 'sparse', 'signal'), { minLength: 1, maxLength: 5 }),
    n: fc.integer({ min: 4, max: 300 }),
    seed: fc.integer({ min: 1, max: 1_000_000 }),
  })
  .map(({ kinds, n, seed }) => {
    let state = seed;
    const random = () => ((state = (Math.imul(state, 1103515245) + 12345) >>> 0) / 4294967296);
    const observations: FitObservation[] = Array.from({ length: n }, (_, i) => {
      const churned = random() < 0.3;
      return {
        churned,
        outcomeDate: `2025-${String(1 + (i % 12)).padStart(2, '0')}-${String(1 + Math.floor(random() * 28)).padStart(2, '0')}`,
        raws: kinds.map((kind) => {
          switch (kind) {
            case 'continuous':
              return random() < 0.1 ? null : random() * 100 - 50;
            case 'counts':
              return Math.floor(random() * 4);
            case 'constant':
              return 3;
            case 'sparse':
              return random() < 0.97 ? null : random();
            case 'signal':
              return (churned ? 1 : 0) + random() * 1.5;
          }
        }),
      };
    });
    return { candidates: kinds.map((kind, j) => ({ key: `${kind}_${j}`, feature: kind, label: kind, group: GROUPS[j % 4]! })), observations };
  });

describe('fitMeasures on arbitrary small data', () => {
  it.each(['shapes', 'monotone'] as const)('either refuses with a FitError or returns a consistent scorecard (%s)', (method) => {
    fc.assert(
      fc.property(dataSet, ({ candidates, observations }) => {
        let result;
        try {
          result = fitMeasures({ candidates, observations, options: { folds: 3, method, references: method === 'shapes' } });
        } catch (error) {
          expect(error).toBeInstanceOf(FitError);
          return;
        }
        // Every candidate is either a measure or dropped with a reason.
        // (interaction lines come on top of the measures: each names two kept ones).
        const own = result.measures.filter((m) => m.kind === 'measure');
        expect(own.length + result.dropped.length).toBe(candidates.length);
        expect(new Set([...own.map((m) => m.key), ...result.dropped.map((d) => d.key)]).size).toBe(candidates.length);
        for (const m of result.measures.filter((m) => m.kind === 'interaction')) expect(own.map((o) => o.feature)).toEqual(expect.arrayContaining([m.feature]));
        for (const d of result.dropped) expect(d.reason).toMatch(/^(no information: |no signal: AUC \d\.\d\d$|no signal: its shape explains a deviance of \d+\.\d on the training data$|duplicate of \w+: correlation -?[01]\.\d{3} on the training data$|too little data: [0-9.]+ % coverage$|points the other way once the others are known$|negligible weight once the others are known$)/);
        for (const c of candidates.filter((c) => c.key.startsWith('constant'))) expect(result.dropped).toContainEqual({ key: c.key, reason: 'no information: identical values' });
        // Weights: positive hundredths summing to exactly 100; mappings valid for the scorecard schema.
        expect(result.measures.length).toBeGreaterThan(0);
        expect(result.measures.reduce((s, m) => s + Math.round(m.weight * 100), 0)).toBe(10_000);
        for (const m of result.measures) {
          expect(m.weight).toBeGreaterThan(0);
          expect(mappingSchema.safeParse(m.mapping).success).toBe(true);
          if (method === 'monotone') expect(m.auc).toBeGreaterThanOrEqual(0.52);
        }
        expect(result.bands.red).toBeLessThan(result.bands.green);
        expect(result.bands.red).toBeGreaterThanOrEqual(0);
        expect(result.bands.green).toBeLessThanOrEqual(100);
        expect(Number.isFinite(result.calibration.intercept) && Number.isFinite(result.calibration.slope)).toBe(true);
        const { mean, folds } = result.validation.crossValidatedAuc;
        expect(folds.length).toBeGreaterThanOrEqual(2);
        for (const a of folds) expect(a >= 0 && a <= 1).toBe(true);
        expect(mean).toBeCloseTo(folds.reduce((s, a) => s + a, 0) / folds.length, 12);
        // The product can score every observation with it.
        for (const o of observations) {
          const subs = result.measures.map((m) => {
            const raw = o.raws[candidates.findIndex((c) => c.key === (m.kind === 'interaction' ? m.key.split('_x_')[0] : m.key))];
            const pair = m.with === null ? undefined : (o.raws[candidates.findIndex((c) => c.key === m.with)] ?? null);
            return raw === null || raw === undefined ? null : mapRaw(raw, m.mapping, undefined, pair);
          });
          const { score } = combine(
            result.measures.map((m) => m.weight),
            subs,
          );
          if (score !== null) expect(score >= 0 && score <= 100).toBe(true);
        }
      }),
      { numRuns: 150 },
    );
  });
});
