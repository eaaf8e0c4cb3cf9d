import { FEATURES, type FeatureRow } from './features.js';
import type { Mapping, OrderedMeasure, ScorecardDefinition } from './scorecard.js';
import { measuresOf } from './scorecard.js';

/**
 * The scoring maths as pure functions: the reference the SQL in sql.ts must
 * agree with (tests/scoring/sql-agreement.test.ts checks it on random data).
 */

export type Band = 'green' | 'yellow' | 'red';

/**
 * A feature's distribution in a segment: ascending quantiles of the values
 * (`up`) and of the negated values (`down`, for lower-is-better measures).
 */
export interface Breakpoints {
  up: number[];
  down: number[];
}

export function mapRaw(raw: number, mapping: Mapping, breakpoints?: Breakpoints): number | null {
  switch (mapping.type) {
    case 'linear': {
      const pts = mapping.points;
      if (raw <= pts[0]![0]) return pts[0]![1];
      for (let i = 1; i < pts.length; i++) {
        const [x1, y1] = pts[i]!;
        if (raw <= x1) {
          const [x0, y0] = pts[i - 1]!;
          // Clamped to the segment's ends: rounding must never leave them.
          return Math.min(Math.max(y0 + ((y1 - y0) * (raw - x0)) / (x1 - x0), Math.min(y0, y1)), Math.max(y0, y1));
        }
      }
      return pts.at(-1)![1];
    }
    case 'bands': {
      let score = mapping.bands[0]!.score;
      for (const band of mapping.bands) if (raw >= band.min) score = band.score;
      return score;
    }
    case 'percentile': {
      // Share of breakpoints the value is at least as good as (what SQL's width_bucket counts).
      const [points, value] = mapping.higherIsBetter ? [breakpoints?.up, raw] : [breakpoints?.down, -raw];
      if (!points || points.length === 0) return null;
      return (100 * points.filter((b) => b <= value).length) / points.length;
    }
  }
}

export interface MeasureResult {
  key: string;
  raw: number | null;
  sub: number | null;
}

export interface ScoreResult {
  /** Before any CSM pulse; null when no measure has data. */
  base: number | null;
  score: number | null;
  coverage: number;
  measures: MeasureResult[];
}

const isFresh = (measure: OrderedMeasure, row: FeatureRow) => {
  if (measure.freshnessDays === undefined) return true;
  const age = row[FEATURES[measure.feature].observed];
  return age !== null && age <= measure.freshnessDays;
};

/** Raw value of each measure for an account, with freshness applied. */
export function measureRaws(card: ScorecardDefinition, row: FeatureRow): (number | null)[] {
  return measuresOf(card).map((m) => (isFresh(m, row) ? row[m.feature] : null));
}

/**
 * Weighted mean of the sub-scores that have data, weights renormalised over
 * them, clamped to 0–100 (a mean of 100s can come out 100.00000000000001);
 * coverage is the share of total weight that had data.
 */
export const clampScore = (x: number) => Math.min(100, Math.max(0, x));

export function combine(weights: number[], subs: (number | null)[]): { score: number | null; coverage: number } {
  let num = 0;
  let den = 0;
  let total = 0;
  weights.forEach((w, i) => {
    total += w;
    const s = subs[i];
    if (s !== null && s !== undefined) {
      num += w * s;
      den += w;
    }
  });
  return { score: den > 0 ? clampScore(num / den) : null, coverage: total > 0 ? den / total : 0 };
}

export function scoreAccount(
  card: ScorecardDefinition,
  row: FeatureRow,
  breakpoints: (key: string) => Breakpoints | undefined,
  pulse: number | null = null,
): ScoreResult {
  const measures = measuresOf(card);
  const raws = measureRaws(card, row);
  const subs = measures.map((m, i) => (raws[i] === null ? null : mapRaw(raws[i]!, m.mapping, breakpoints(m.key))));
  const { score: base, coverage } = combine(
    measures.map((m) => m.weight),
    subs,
  );
  const score = base === null ? null : pulse ? clampScore(base + pulse) : base;
  return { base, score, coverage, measures: measures.map((m, i) => ({ key: m.key, raw: raws[i]!, sub: subs[i]! })) };
}

export function plainBand(score: number, bands: ScorecardDefinition['bands']): Band {
  if (score >= bands.green) return 'green';
  if (score < bands.red) return 'red';
  return 'yellow';
}

/**
 * The band with hysteresis: leaving the current band needs the score to pass
 * the threshold by `hysteresis` points, so an account hovering at an edge does
 * not flap.
 */
export function nextBand(previous: Band | null, score: number | null, bands: ScorecardDefinition['bands']): Band | null {
  if (score === null) return previous;
  const h = bands.hysteresis;
  switch (previous) {
    case null:
      return plainBand(score, bands);
    case 'green':
      return score < bands.green - h ? plainBand(score, bands) : 'green';
    case 'red':
      return score >= bands.red + h ? plainBand(score, bands) : 'red';
    case 'yellow':
      if (score >= bands.green + h) return 'green';
      if (score < bands.red - h) return 'red';
      return 'yellow';
  }
}
