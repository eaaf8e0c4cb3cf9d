import { FEATURES, type FeatureRow, observedColumn, workspaceColumn } from './features.js';
import type { Mapping, OrderedMeasure, ScorecardDefinition } from './scorecard.js';
import { connectionOf, measuresOf } from './scorecard.js';

/**
 * The scoring maths as pure functions: the reference the SQL in sql.ts must
 * agree with (tests/scoring/sql-agreement.property.test.ts checks it on random data).
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

/** Index of the last step at or below the value (0 when below them all). */
const stepOf = (steps: number[], value: number) => {
  let k = 0;
  for (let i = 1; i < steps.length; i++) if (value >= steps[i]!) k = i;
  return k;
};

/** Sub-score of a raw value; `pair` is the second feature's raw value of an interaction (grid) line. */
export function mapRaw(raw: number, mapping: Mapping, breakpoints?: Breakpoints, pair?: number | null): number | null {
  switch (mapping.type) {
    case 'grid':
      if (pair === null || pair === undefined) return null;
      return mapping.scores[stepOf(mapping.rows, raw)]![stepOf(mapping.columns, pair)]!;
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

/** Why a measure has or lacks a value, stored per measure with each score. */
export const MEASURE_STATUS = { ok: 0, notConnected: 1, stale: 2, noValue: 3, noInformation: 4 } as const;
export type MeasureStatus = (typeof MEASURE_STATUS)[keyof typeof MEASURE_STATUS];

export interface MeasureResult {
  key: string;
  raw: number | null;
  sub: number | null;
  status: MeasureStatus;
}

export interface ScoreResult {
  /** Before any CSM pulse; null when no measure has data. */
  base: number | null;
  score: number | null;
  coverage: number;
  measures: MeasureResult[];
}

/** The age that decides whether a measure's source is connected and fresh: the account's own, or the workspace's. */
export const sourceAgeColumn = (card: ScorecardDefinition, measure: OrderedMeasure) => {
  const source = FEATURES[measure.feature].source;
  return connectionOf(card, source) === 'workspace' ? workspaceColumn(source) : observedColumn(source);
};

/** Raw value of each measure for an account and its status: not connected, stale and no value all leave it null. */
export function measureInputs(card: ScorecardDefinition, row: FeatureRow): { raw: number | null; pair: number | null; status: MeasureStatus }[] {
  const input = (m: OrderedMeasure): { raw: number | null; status: MeasureStatus } => {
    const age = row[sourceAgeColumn(card, m)];
    if (age === null || age === undefined) return { raw: null, status: MEASURE_STATUS.notConnected };
    if (m.freshnessDays !== undefined && age > m.freshnessDays) return { raw: null, status: MEASURE_STATUS.stale };
    const raw = row[m.feature];
    return raw === null || raw === undefined ? { raw: null, status: MEASURE_STATUS.noValue } : { raw, status: MEASURE_STATUS.ok };
  };
  return measuresOf(card).map((m) => {
    const own = input(m);
    if (m.mapping.type !== 'grid') return { ...own, pair: null };
    // An interaction line needs both values: the first feature's status, else the second's.
    const other = input({ ...m, feature: m.mapping.with });
    if (own.status !== MEASURE_STATUS.ok) return { ...own, pair: null };
    if (other.status !== MEASURE_STATUS.ok) return { raw: null, pair: null, status: other.status };
    return { raw: own.raw, pair: other.raw, status: MEASURE_STATUS.ok };
  });
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

/** A measure's weight in a run: none where its feature had the same value for every account. */
export const effectiveWeights = (card: ScorecardDefinition, uninformative: ReadonlySet<string>) =>
  measuresOf(card).map((m) => (uninformative.has(m.feature) ? 0 : m.weight));

export function scoreAccount(
  card: ScorecardDefinition,
  row: FeatureRow,
  breakpoints: (key: string) => Breakpoints | undefined,
  pulse: number | null = null,
  uninformative: ReadonlySet<string> = new Set(),
): ScoreResult {
  const measures = measuresOf(card);
  const inputs = measureInputs(card, row);
  const subs = measures.map((m, i) => (inputs[i]!.raw === null ? null : mapRaw(inputs[i]!.raw!, m.mapping, breakpoints(m.key), inputs[i]!.pair)));
  const { score: base, coverage } = combine(effectiveWeights(card, uninformative), subs);
  const score = base === null ? null : pulse ? clampScore(base + pulse) : base;
  return {
    base,
    score,
    coverage,
    measures: measures.map((m, i) => ({
      key: m.key,
      raw: inputs[i]!.raw,
      sub: subs[i]!,
      status: inputs[i]!.status === MEASURE_STATUS.ok && uninformative.has(m.feature) ? MEASURE_STATUS.noInformation : inputs[i]!.status,
    })),
  };
}

/** P(churn before renewal) from a fitted scorecard's calibration; null without one. */
export function churnProbability(card: ScorecardDefinition, score: number | null): number | null {
  if (!card.calibration || score === null) return null;
  return 1 / (1 + Math.exp(-(card.calibration.intercept + card.calibration.slope * score)));
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
