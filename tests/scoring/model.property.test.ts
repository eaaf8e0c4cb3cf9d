import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { FeatureRow } from '../../src/scoring/features.js';
import { type Band, combine, mapRaw, nextBand, plainBand, scoreAccount } from '../../src/scoring/model.js';
import { DEFAULT_SCORECARD, measuresOf, scorecardDefinitionSchema } from '../../src/scoring/scorecard.js';
import { breakpoints, featureRow, mapping, scorecard } from './arbitraries.js';

const runs = { numRuns: 500 };

/** Which way is better for a mapping: +1 higher raw is better, -1 lower, 0 flat. */
function direction(m: ReturnType<typeof mapping.generate> extends never ? never : Parameters<typeof mapRaw>[1]): number {
  if (m.type === 'percentile') return m.higherIsBetter ? 1 : -1;
  if (m.type === 'grid') return 0;
  const ys = m.type === 'linear' ? m.points.map((p) => p[1]) : m.bands.map((b) => b.score);
  return Math.sign(ys.at(-1)! - ys[0]!);
}

describe('scoring model properties', () => {
  it('the default scorecard is valid', () => {
    expect(scorecardDefinitionSchema.safeParse(DEFAULT_SCORECARD).success).toBe(true);
  });

  it('every sub-score and score lies within 0–100, and coverage within 0–1', () => {
    fc.assert(
      fc.property(scorecard, featureRow, breakpoints, fc.option(fc.double({ min: -50, max: 50, noNaN: true }), { nil: null }), (card, row, bp, pulse) => {
        const result = scoreAccount(card, row, () => bp, pulse);
        for (const m of result.measures) if (m.sub !== null) expect(m.sub).toBeGreaterThanOrEqual(0), expect(m.sub).toBeLessThanOrEqual(100);
        if (result.score !== null) {
          expect(result.score).toBeGreaterThanOrEqual(0);
          expect(result.score).toBeLessThanOrEqual(100);
        }
        expect(result.coverage).toBeGreaterThanOrEqual(0);
        expect(result.coverage).toBeLessThanOrEqual(1 + 1e-12);
      }),
      runs,
    );
  });

  it('a weighted mean of 100s is 100, not a rounding error above it (found by seed 573860658)', () => {
    expect((18.3 * 100 + 18.5 * 100) / (18.3 + 18.5)).toBeGreaterThan(100);
    expect(combine([18.3, 18.5], [100, 100]).score).toBe(100);
  });

  it('a mapping never lowers the sub-score when the raw value moves the better way', () => {
    fc.assert(
      fc.property(mapping, breakpoints, fc.double({ min: -200, max: 200, noNaN: true }), fc.double({ min: 0, max: 100, noNaN: true }), (m, bp, raw, step) => {
        const dir = direction(m) || 1;
        const before = mapRaw(raw, m, bp)!;
        const after = mapRaw(raw + dir * step, m, bp)!;
        expect(after).toBeGreaterThanOrEqual(before - 1e-9);
      }),
      runs,
    );
  });

  it('a score never falls when one signal improves and the rest are equal', () => {
    fc.assert(
      fc.property(scorecard, featureRow, breakpoints, fc.nat(), fc.double({ min: 0.01, max: 100, noNaN: true }), (card, row, bp, pick, step) => {
        const measures = measuresOf(card);
        const measure = measures[pick % measures.length]!;
        const raw = row[measure.feature];
        fc.pre(raw !== null);
        const improved: FeatureRow = { ...row, [measure.feature]: raw! + (direction(measure.mapping) || 1) * step };
        const before = scoreAccount(card, row, () => bp).score;
        const after = scoreAccount(card, improved, () => bp).score;
        if (before !== null) expect(after!).toBeGreaterThanOrEqual(before - 1e-9);
      }),
      runs,
    );
  });

  it('missing measures are renormalised away and lower coverage', () => {
    fc.assert(
      fc.property(fc.array(fc.double({ min: 0.1, max: 50, noNaN: true }), { minLength: 2, maxLength: 10 }), fc.array(fc.double({ min: 0, max: 100, noNaN: true }), { minLength: 10, maxLength: 10 }), fc.nat(), (weights, subs, drop) => {
        const all = subs.slice(0, weights.length);
        const missing = drop % weights.length;
        const partial = all.map((s, i) => (i === missing ? null : s));
        const full = combine(weights, all);
        const less = combine(weights, partial);
        expect(full.coverage).toBeCloseTo(1, 12);
        expect(less.coverage).toBeLessThan(full.coverage);
        expect(less.coverage).toBeCloseTo(1 - weights[missing]! / weights.reduce((a, b) => a + b, 0), 12);
        // Renormalised: the score is the weighted mean of what is there, not dragged toward 0.
        const rest = weights.map((w, i) => (i === missing ? 0 : w));
        const expected = rest.reduce((sum, w, i) => sum + w * all[i]!, 0) / rest.reduce((a, b) => a + b, 0);
        expect(less.score!).toBeCloseTo(expected, 9);
        expect(less.score!).toBeGreaterThanOrEqual(Math.min(...partial.filter((s): s is number => s !== null)) - 1e-9);
      }),
      runs,
    );
  });

  it('no data at all gives no score and zero coverage', () => {
    expect(combine([1, 2, 3], [null, null, null])).toEqual({ score: null, coverage: 0 });
  });

  it('hysteresis: a score within the margin of its band keeps the band', () => {
    const bandsArb = fc.record({ red: fc.integer({ min: 10, max: 50 }), gap: fc.integer({ min: 10, max: 40 }), hysteresis: fc.integer({ min: 1, max: 5 }) }).map((b) => ({ red: b.red, green: b.red + b.gap, hysteresis: b.hysteresis }));
    fc.assert(
      fc.property(bandsArb, fc.constantFrom<Band>('green', 'yellow', 'red'), fc.double({ min: 0, max: 100, noNaN: true }), (bands, previous, score) => {
        const next = nextBand(previous, score, bands)!;
        const h = bands.hysteresis;
        const within =
          previous === 'green' ? score >= bands.green - h : previous === 'red' ? score < bands.red + h : score >= bands.red - h && score < bands.green + h;
        if (within) expect(next).toBe(previous);
        else expect(next).toBe(plainBand(score, bands));
      }),
      runs,
    );
  });

  it('hysteresis: a score oscillating around a threshold by less than the margin never flaps', () => {
    fc.assert(
      fc.property(fc.array(fc.double({ min: -2.9, max: 2.9, noNaN: true }), { minLength: 2, maxLength: 50 }), (wobble) => {
        const bands = { green: 70, red: 40, hysteresis: 3 };
        let band = nextBand(null, 75, bands);
        const seen = new Set<Band | null>();
        for (const w of wobble) {
          band = nextBand(band, 70 + w, bands);
          seen.add(band);
        }
        expect([...seen]).toEqual(['green']);
      }),
      runs,
    );
  });
});
