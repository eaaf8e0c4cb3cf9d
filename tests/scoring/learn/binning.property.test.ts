import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { type Runs, learnMapping, makeBins } from '../../../src/scoring/learn/binning.js';
import { mapRaw } from '../../../src/scoring/model.js';
import { mappingSchema } from '../../../src/scoring/scorecard.js';

/** Runs from raw values and churn flags. */
function runsOf(values: number[], churned: boolean[]): Runs {
  const byValue = new Map<number, { count: number; churned: number }>();
  values.forEach((v, i) => {
    const r = byValue.get(v) ?? { count: 0, churned: 0 };
    r.count++;
    if (churned[i]) r.churned++;
    byValue.set(v, r);
  });
  const sorted = [...byValue.entries()].sort((a, b) => a[0] - b[0]);
  return { values: sorted.map((e) => e[0]), counts: sorted.map((e) => e[1].count), churned: sorted.map((e) => e[1].churned) };
}

const sample = fc.array(fc.tuple(fc.integer({ min: -50, max: 50 }), fc.boolean()), { minLength: 1, maxLength: 400 });

describe('quantile bins and learned monotone mappings', () => {
  it('bins partition the observations in value order, at most maxBins of them, each at least minBinShare when values are many', () => {
    fc.assert(
      fc.property(sample, fc.integer({ min: 2, max: 20 }), fc.double({ min: 0, max: 0.3, noNaN: true }), (pairs, maxBins, minBinShare) => {
        const runs = runsOf(
          pairs.map((p) => p[0]),
          pairs.map((p) => p[1]),
        );
        const bins = makeBins(runs, { maxBins, minBinShare });
        expect(bins.length).toBeGreaterThanOrEqual(1);
        expect(bins.length).toBeLessThanOrEqual(maxBins);
        expect(bins.reduce((s, b) => s + b.count, 0)).toBe(pairs.length);
        expect(bins.reduce((s, b) => s + b.churned, 0)).toBe(pairs.filter((p) => p[1]).length);
        expect(bins[0]!.min).toBe(runs.values[0]);
        bins.forEach((b, i) => {
          expect(runs.values).toContain(b.min);
          if (i > 0) expect(b.min).toBeGreaterThan(bins[i - 1]!.min);
          if (bins.length > 1 && runs.values.length > maxBins) expect(b.count).toBeGreaterThanOrEqual(minBinShare * pairs.length);
        });
      }),
      { numRuns: 300 },
    );
  });

  it('a low-cardinality feature gets one bin per value, a rare value (≥ 1 % and 10 observations) included', () => {
    const values = [...Array<number>(960).fill(0), ...Array<number>(30).fill(1), ...Array<number>(10).fill(2)];
    const churned = values.map((v, i) => (v === 0 ? i % 10 === 0 : i % 2 === 0));
    const bins = makeBins(runsOf(values, churned), { maxBins: 8, minBinShare: 0.05 });
    expect(bins.map((b) => [b.min, b.count])).toEqual([
      [0, 960],
      [1, 30],
      [2, 10],
    ]);
    // Fewer than 10 observations: merged into its neighbour.
    const tiny = makeBins(runsOf([...Array<number>(995).fill(0), ...Array<number>(5).fill(1)], Array<boolean>(1000).fill(false)), { maxBins: 8, minBinShare: 0.05 });
    expect(tiny).toHaveLength(1);
  });

  it('a mapping learned from churn rising with the value scores low values healthy, monotonely, as valid bands', () => {
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 50, max: 500 }), { minLength: 2, maxLength: 10 }), fc.integer({ min: 1, max: 1000 }), (counts, salt) => {
        // Churn rate rising with the bin, with some jitter that isotonic must smooth over.
        const bins = counts.map((count, i) => ({ min: i * 10, count, churned: Math.round(count * Math.min(0.95, 0.05 + 0.08 * i + ((salt * (i + 1)) % 7) / 200)) }));
        const base = bins.reduce((s, b) => s + b.churned, 0) / bins.reduce((s, b) => s + b.count, 0);
        const learned = learnMapping(bins, base);
        if (!learned) return;
        expect(learned.direction).toBe('lower_is_healthier');
        expect(learned.subs[0]).toBe(100);
        expect(learned.subs.at(-1)).toBe(0);
        learned.subs.forEach((s, i) => i === 0 || expect(s).toBeLessThanOrEqual(learned.subs[i - 1]!));
        const mapping = { type: 'bands' as const, bands: learned.bands };
        expect(mappingSchema.safeParse(mapping).success).toBe(true);
        // mapRaw on each bin's lowest value gives that bin's sub-score; below the first band, the first band's.
        bins.forEach((b, i) => expect(mapRaw(b.min, mapping)).toBe(learned.subs[i]));
        expect(mapRaw(-1e9, mapping)).toBe(learned.subs[0]);
        expect(learned.auc).toBeGreaterThanOrEqual(0.5);
      }),
      { numRuns: 200 },
    );
  });

  it('churn falling with the value: higher is healthier; equal rates everywhere: no mapping', () => {
    const falling = [
      { min: 0, count: 100, churned: 40 },
      { min: 5, count: 100, churned: 20 },
      { min: 9, count: 100, churned: 5 },
    ];
    const learned = learnMapping(falling, 65 / 300)!;
    expect(learned.direction).toBe('higher_is_healthier');
    expect(learned.bands).toEqual([
      { min: 0, score: 0 },
      { min: 5, score: expect.any(Number) },
      { min: 9, score: 100 },
    ]);
    const flat = falling.map((b) => ({ ...b, churned: 20 }));
    expect(learnMapping(flat, 0.2)).toBeNull();
  });
});
