import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { aucInterval, caughtShare, groupedAuc, liftAtTop, prAuc, rateAmong, rocAuc } from '../../../src/scoring/learn/metrics.js';

/** Scores with plenty of ties (small integers) and outcomes, same length. */
const labelled = fc
  .array(fc.tuple(fc.integer({ min: 0, max: 6 }), fc.boolean()), { minLength: 0, maxLength: 60 })
  .map((pairs) => ({ risk: pairs.map((p) => p[0]), positive: pairs.map((p) => p[1]) }));

/** P(risk of a positive > risk of a negative) + ½ P(equal), over all pairs: O(n²). */
function bruteAuc(risk: number[], positive: boolean[]): number {
  let pairs = 0;
  let wins = 0;
  risk.forEach((rp, i) => {
    if (!positive[i]) return;
    risk.forEach((rn, j) => {
      if (positive[j]) return;
      pairs++;
      wins += rp > rn ? 1 : rp === rn ? 0.5 : 0;
    });
  });
  return pairs === 0 ? NaN : wins / pairs;
}

/** Average precision straight from its definition: over each distinct threshold t, (recall(t) − recall(previous t)) × precision(t). */
function bruteAveragePrecision(risk: number[], positive: boolean[]): number {
  const total = positive.filter(Boolean).length;
  if (total === 0) return NaN;
  const thresholds = [...new Set(risk)].sort((a, b) => b - a);
  let previousRecall = 0;
  let ap = 0;
  for (const t of thresholds) {
    const flagged = risk.map((r) => r >= t);
    const tp = flagged.filter((f, i) => f && positive[i]).length;
    const recall = tp / total;
    ap += (recall - previousRecall) * (tp / flagged.filter(Boolean).length);
    previousRecall = recall;
  }
  return ap;
}

describe('ranking metrics agree with their definitions', () => {
  it('ROC-AUC equals the O(n²) pair count, ties counting ½', () => {
    fc.assert(
      fc.property(labelled, ({ risk, positive }) => {
        const expected = bruteAuc(risk, positive);
        const actual = rocAuc(risk, positive);
        if (Number.isNaN(expected)) expect(actual).toBeNaN();
        else expect(actual).toBeCloseTo(expected, 12);
      }),
      { numRuns: 400 },
    );
  });

  it('ROC-AUC on continuous scores matches too, and grouped counts give the same number', () => {
    fc.assert(
      fc.property(fc.array(fc.tuple(fc.double({ min: -1e6, max: 1e6, noNaN: true }), fc.boolean()), { minLength: 2, maxLength: 80 }), (pairs) => {
        const risk = pairs.map((p) => p[0]);
        const positive = pairs.map((p) => p[1]);
        const expected = bruteAuc(risk, positive);
        if (Number.isNaN(expected)) return;
        expect(rocAuc(risk, positive)).toBeCloseTo(expected, 12);
        const groups = new Map<number, { risk: number; positives: number; negatives: number }>();
        risk.forEach((r, i) => {
          const g = groups.get(r + 0) ?? { risk: r + 0, positives: 0, negatives: 0 };
          if (positive[i]) g.positives++;
          else g.negatives++;
          groups.set(r + 0, g);
        });
        expect(groupedAuc([...groups.values()])).toBeCloseTo(expected, 12);
      }),
      { numRuns: 300 },
    );
  });

  it('ROC-AUC is NaN when a class is empty, 1 for a perfect ranking, 0.5 for a constant score', () => {
    expect(rocAuc([1, 2, 3], [true, true, true])).toBeNaN();
    expect(rocAuc([], [])).toBeNaN();
    expect(rocAuc([1, 2, 3, 4], [false, false, true, true])).toBe(1);
    expect(rocAuc([5, 5, 5, 5], [false, true, true, false])).toBe(0.5);
    expect(() => rocAuc([NaN, 1], [true, false])).toThrow(RangeError);
  });

  it('PR-AUC equals a hand-computed example', () => {
    // Riskiest first: 0.9 (+), 0.8 (−), 0.7 (+), then a tie at 0.5 of one + and one −, then 0.1 (−).
    // Thresholds: 0.9 → P 1, R ⅓; 0.7 → P ⅔, R ⅔; 0.5 (the tie as one step) → P 3/5, R 1.
    const risk = [0.9, 0.8, 0.7, 0.5, 0.5, 0.1];
    const positive = [true, false, true, true, false, false];
    expect(prAuc(risk, positive)).toBeCloseTo((1 / 3) * 1 + (1 / 3) * (2 / 3) + (1 / 3) * (3 / 5), 12);
  });

  it('PR-AUC equals the definition on random data with ties', () => {
    fc.assert(
      fc.property(labelled, ({ risk, positive }) => {
        const expected = bruteAveragePrecision(risk, positive);
        const actual = prAuc(risk, positive);
        if (Number.isNaN(expected)) expect(actual).toBeNaN();
        else expect(actual).toBeCloseTo(expected, 12);
      }),
      { numRuns: 400 },
    );
  });

  it('the Hanley–McNeil interval matches the published standard error and stays within [0, 1]', () => {
    // Hanley & McNeil (1982) by hand for A = 0.8, 50 positives, 50 negatives: Q1 = 0.8/1.2 = 2/3,
    // Q2 = 2·0.64/1.8 = 32/45; SE² = (0.16 + 49·(2/3 − 0.64) + 49·(32/45 − 0.64)) / 2500 = 4.95111/2500 → SE 0.044502.
    const { low, high } = aucInterval(0.8, 50, 50);
    expect((high - low) / 2 / 1.959963984540054).toBeCloseTo(Math.sqrt((0.16 + 49 * (2 / 3 - 0.64) + 49 * (32 / 45 - 0.64)) / 2500), 12);
    expect((high - low) / 2 / 1.959963984540054).toBeCloseTo(0.044502, 5);
    expect(low).toBeLessThan(0.8);
    expect(high).toBeGreaterThan(0.8);
    expect(aucInterval(0.99, 5, 5).high).toBe(1);
    expect(aucInterval(0.01, 5, 5).low).toBe(0);
    const narrow = aucInterval(0.7, 5000, 5000);
    const wide = aucInterval(0.7, 50, 50);
    expect(narrow.high - narrow.low).toBeLessThan(wide.high - wide.low);
    expect(aucInterval(0.7, 0, 10).low).toBeNaN();
  });

  it('lift at the top decile: the churn rate among the riskiest ÷ the overall rate, a cut tie counted pro rata', () => {
    // 20 accounts, 4 churned; the 2 riskiest are a churner and a non-churner → rate ½ vs 0.2 overall.
    const risk = Array.from({ length: 20 }, (_, i) => 20 - i);
    const positive = risk.map((_, i) => i === 0 || i === 5 || i === 10 || i === 15);
    expect(liftAtTop(risk, positive, 0.1)).toBeCloseTo(0.5 / 0.2, 12);
    // A tie of 4 (2 churned) straddling a cut of 2: expected 1 churner among the 2 taken.
    const tied = [9, 9, 9, 9, 1, 1, 1, 1, 1, 1];
    const churn = [true, true, false, false, false, false, false, false, false, true];
    expect(liftAtTop(tied, churn, 0.2)).toBeCloseTo(0.5 / 0.3, 12);
    expect(liftAtTop([1, 2], [false, false])).toBeNaN();
  });

  it('caught share and rate among the flagged', () => {
    const flagged = [true, true, false, false, true];
    const positive = [true, false, true, false, true];
    expect(caughtShare(flagged, positive)).toBeCloseTo(2 / 3, 12);
    expect(rateAmong(flagged, positive)).toBeCloseTo(2 / 3, 12);
    expect(caughtShare([false], [false])).toBeNaN();
    expect(rateAmong([false], [true])).toBeNaN();
  });
});
