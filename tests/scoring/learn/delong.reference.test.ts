import { describe, expect, it } from 'vitest';
import { pairedAucs, placements } from '../../../src/scoring/learn/delong.js';
import { mulberry32 } from '../../../src/scoring/learn/folds.js';
import { rocAuc } from '../../../src/scoring/learn/metrics.js';

/** Slow reference: placement values by the Mann–Whitney kernel over every pair, and the paired variance from them. */
function slow(riskA: number[], riskB: number[], positive: boolean[]) {
  const kernel = (x: number, y: number) => (x > y ? 1 : x === y ? 0.5 : 0);
  const idxPos = positive.flatMap((p, i) => (p ? [i] : []));
  const idxNeg = positive.flatMap((p, i) => (p ? [] : [i]));
  const place = (risk: number[]) => ({
    v10: idxPos.map((i) => idxNeg.reduce((s, j) => s + kernel(risk[i]!, risk[j]!), 0) / idxNeg.length),
    v01: idxNeg.map((j) => idxPos.reduce((s, i) => s + kernel(risk[i]!, risk[j]!), 0) / idxPos.length),
  });
  const cov = (x: number[], y: number[]) => {
    const mx = x.reduce((s, v) => s + v, 0) / x.length;
    const my = y.reduce((s, v) => s + v, 0) / y.length;
    return x.reduce((s, v, k) => s + (v - mx) * (y[k]! - my), 0) / (x.length - 1);
  };
  const a = place(riskA);
  const b = place(riskB);
  const m = idxPos.length;
  const n = idxNeg.length;
  const variance = cov(a.v10, a.v10) / m + cov(a.v01, a.v01) / n + cov(b.v10, b.v10) / m + cov(b.v01, b.v01) / n - 2 * (cov(a.v10, b.v10) / m + cov(a.v01, b.v01) / n);
  return { a, b, se: Math.sqrt(variance) };
}

describe('DeLong paired AUC comparison against a slow reference', () => {
  it('placement values, AUCs and the standard error of the difference agree, ties included', () => {
    for (const seed of [1, 2, 3, 4, 5]) {
      const random = mulberry32(seed);
      const n = 60 + seed * 17;
      const positive = Array.from({ length: n }, () => random() < 0.35);
      const riskA = positive.map((p) => Math.round((p ? 0.6 : 0) + random() * 3)); // heavy ties
      const riskB = positive.map((p, i) => riskA[i]! * 0.5 + (p ? 0.8 : 0) + random());
      const ref = slow(riskA, riskB, positive);
      const fast = placements(riskA, positive);
      fast.v10.forEach((v, k) => expect(v).toBeCloseTo(ref.a.v10[k]!, 12));
      fast.v01.forEach((v, k) => expect(v).toBeCloseTo(ref.a.v01[k]!, 12));
      const paired = pairedAucs(riskA, riskB, positive);
      expect(paired.aucA).toBeCloseTo(rocAuc(riskA, positive), 12);
      expect(paired.aucB).toBeCloseTo(rocAuc(riskB, positive), 12);
      expect(paired.se).toBeCloseTo(ref.se, 12);
      expect(paired.interval[0]).toBeLessThan(paired.difference);
    }
  });

  it('a clearly better score has an interval above zero; the same score compared with itself has none', () => {
    const random = mulberry32(9);
    const positive = Array.from({ length: 2000 }, () => random() < 0.3);
    const weak = positive.map((p) => (p ? 0.2 : 0) + random());
    const strong = positive.map((p, i) => (p ? 1.5 : 0) + random() + 0.1 * weak[i]!);
    const better = pairedAucs(weak, strong, positive);
    expect(better.interval[0]).toBeGreaterThan(0.1);
    const same = pairedAucs(weak, weak, positive);
    expect(same.difference).toBe(0);
    expect(same.se).toBe(0);
  });
});
