import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { isotonic } from '../../../src/scoring/learn/isotonic.js';

const sse = (fit: number[], values: number[], weights: number[]) => fit.reduce((s, f, i) => s + weights[i]! * (f - values[i]!) ** 2, 0);

/** Slow reference: start with singleton blocks and merge any adjacent violating pair until none is left. */
function slowIncreasing(values: number[], weights: number[]): number[] {
  let blocks = values.map((v, i) => ({ mean: v, weight: weights[i]!, size: 1 }));
  for (let changed = true; changed; ) {
    changed = false;
    for (let i = 0; i + 1 < blocks.length; i++) {
      const [a, b] = [blocks[i]!, blocks[i + 1]!];
      if (a.mean > b.mean + 1e-12) {
        const weight = a.weight + b.weight;
        blocks = [...blocks.slice(0, i), { mean: (a.mean * a.weight + b.mean * b.weight) / weight, weight, size: a.size + b.size }, ...blocks.slice(i + 2)];
        changed = true;
        break;
      }
    }
  }
  return blocks.flatMap((b) => Array<number>(b.size).fill(b.mean));
}

const problem = fc
  .array(fc.tuple(fc.double({ min: -100, max: 100, noNaN: true }), fc.double({ min: 0.01, max: 50, noNaN: true })), { minLength: 1, maxLength: 25 })
  .map((pairs) => ({ values: pairs.map((p) => p[0]), weights: pairs.map((p) => p[1]) }));

describe('weighted isotonic regression (PAVA)', () => {
  it('equals the slow merge-until-monotone reference, in both directions', () => {
    fc.assert(
      fc.property(problem, ({ values, weights }) => {
        const up = isotonic(values, weights, 'increasing');
        const ref = slowIncreasing(values, weights);
        up.forEach((v, i) => expect(v).toBeCloseTo(ref[i]!, 8));
        const down = isotonic(values, weights, 'decreasing');
        const refDown = slowIncreasing(
          values.map((v) => -v),
          weights,
        ).map((v) => -v);
        down.forEach((v, i) => expect(v).toBeCloseTo(refDown[i]!, 8));
      }),
      { numRuns: 400 },
    );
  });

  it('is monotone, preserves the weighted mean and is no worse than any other monotone sequence tried', () => {
    fc.assert(
      fc.property(problem, fc.array(fc.double({ min: -100, max: 100, noNaN: true }), { minLength: 25, maxLength: 25 }), ({ values, weights }, other) => {
        const fit = isotonic(values, weights, 'increasing');
        fit.forEach((v, i) => i === 0 || expect(v).toBeGreaterThanOrEqual(fit[i - 1]!));
        const total = weights.reduce((s, w) => s + w, 0);
        const mean = (xs: number[]) => xs.reduce((s, x, i) => s + x * weights[i]!, 0) / total;
        expect(mean(fit)).toBeCloseTo(mean(values), 8);
        // Any sorted sequence is a feasible competitor; so are the constant mean and the best fit pulled toward it.
        const competitors = [other.slice(0, values.length).sort((a, b) => a - b), values.map(() => mean(values)), fit.map((f) => 0.9 * f + 0.1 * mean(values))];
        for (const c of competitors) expect(sse(fit, values, weights)).toBeLessThanOrEqual(sse(c, values, weights) + 1e-9);
      }),
      { numRuns: 400 },
    );
  });

  it('pools a simple violation by weight', () => {
    expect(isotonic([1, 3, 2, 4], [1, 1, 3, 1], 'increasing')).toEqual([1, 2.25, 2.25, 4]);
    expect(isotonic([4, 2, 3, 1], [1, 1, 1, 1], 'decreasing')).toEqual([4, 2.5, 2.5, 1]);
    expect(isotonic([], [], 'increasing')).toEqual([]);
    expect(() => isotonic([1], [0], 'increasing')).toThrow(RangeError);
  });
});
