import { combine, mapRaw } from '../model.js';
import type { Mapping } from '../scorecard.js';
import { type LearnedMapping, type Runs, learnMapping, makeBins } from './binning.js';
import { fitLogisticColumns } from './logistic.js';

/**
 * One fit of the whole pipeline on a subset of observations (a training mask):
 * per-measure monotone mappings, logistic weights, calibration and bands.
 * fit.ts runs it on every fold, on the time split and on all observations.
 */

export class FitError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'FitError';
  }
}

/** Observations in column form: each raw value indexed into its candidate's distinct values. */
export interface Prepared {
  n: number;
  churned: Uint8Array;
  /** Per candidate: the distinct non-null values, ascending. */
  distinct: Float64Array[];
  /** Per candidate and observation: index into `distinct`, −1 when missing. */
  valueIndex: Int32Array[];
}

export interface TrainOptions {
  maxBins: number;
  minBinShare: number;
  l2: number;
  minCoverage: number;
  minAuc: number;
  /** Start of the weights' regression (e.g. the model fitted on all observations, for a fold): coefficient by candidate. */
  warmStart?: Regression;
  /** Candidates set aside before training (e.g. near-duplicates), with the reason. */
  exclude?: ReadonlyMap<number, string>;
}

/** The weights' logistic regression of "not churned" on sub-scores ÷ 100. */
export interface Regression {
  intercept: number;
  coefficients: Map<number, number>;
}

export interface TrainedMeasure {
  candidate: number;
  /** The second candidate of an interaction line (grid mapping); null for a measure of its own. */
  pair: number | null;
  mapping: Extract<Mapping, { type: 'bands' } | { type: 'grid' }>;
  coverage: number;
  weight: number;
  /** Null for an interaction line. For a shape that is not monotone: the way it leans overall. */
  direction: LearnedMapping['direction'] | null;
  /** Monotone (the usual) or a shape that rises and falls where the data said so. */
  monotone: boolean;
  /** This measure alone, on the training data (observations with a value), oriented. */
  auc: number;
}

export interface TrainedModel {
  measures: TrainedMeasure[];
  dropped: { candidate: number; reason: string }[];
  calibration: { intercept: number; slope: number };
  bands: { green: number; red: number };
  /** Median training score: stands in for an observation no measure has data for, when ranking. */
  fallbackScore: number;
  regression: Regression;
}

/** Column form of raw values (null or non-finite = missing). */
export function prepare(raws: (number | null)[][], churned: boolean[], candidates: number): Prepared {
  const n = raws.length;
  const columns = Array.from({ length: candidates }, () => new Float64Array(n));
  for (let i = 0; i < n; i++) {
    const row = raws[i]!;
    for (let c = 0; c < candidates; c++) {
      const v = row[c];
      // −0 becomes 0 so that it shares 0's distinct value; NaN marks missing.
      columns[c]![i] = v === null || v === undefined || !Number.isFinite(v) ? NaN : v + 0;
    }
  }
  const distinct: Float64Array[] = [];
  const valueIndex: Int32Array[] = [];
  for (const column of columns) {
    const sorted = column.slice().sort(); // NaN sorts last
    let r = 0;
    for (let i = 0; i < n && !Number.isNaN(sorted[i]); i++) if (r === 0 || sorted[i] !== sorted[r - 1]) sorted[r++] = sorted[i]!;
    const uniq = sorted.slice(0, r);
    const index = new Int32Array(n);
    for (let i = 0; i < n; i++) {
      const v = column[i]!;
      if (Number.isNaN(v)) {
        index[i] = -1;
        continue;
      }
      let lo = 0;
      let hi = r - 1;
      while (lo < hi) {
        const mid = (lo + hi) >> 1;
        if (uniq[mid]! < v) lo = mid + 1;
        else hi = mid;
      }
      index[i] = lo;
    }
    distinct.push(uniq);
    valueIndex.push(index);
  }
  return { n, churned: Uint8Array.from(churned, (b) => (b ? 1 : 0)), distinct, valueIndex };
}

const percent = (share: number) => (share * 100 < 1 ? (share * 100).toFixed(1) : String(Math.floor(share * 100)));
const floor2 = (x: number) => (Math.floor(x * 100) / 100).toFixed(2);

/** Weights proportional to `values`, in hundredths summing to exactly 100 (largest remainder). */
export function hundredths(values: number[]): number[] {
  const total = values.reduce((s, v) => s + v, 0);
  const exact = values.map((v) => (v / total) * 10000);
  const units = exact.map(Math.floor);
  let left = 10000 - units.reduce((s, u) => s + u, 0);
  const order = exact.map((e, i) => [e - Math.floor(e), i] as const).sort((a, b) => b[0] - a[0] || a[1] - b[1]);
  for (const [, i] of order) {
    if (left <= 0) break;
    units[i]!++;
    left--;
  }
  return units.map((u) => u / 100);
}

/** Sub-score per distinct value of a candidate under a mapping (exactly mapRaw, computed once per value). */
function subsByValue(distinct: Float64Array, mapping: Mapping): Float64Array {
  return Float64Array.from(distinct, (v) => mapRaw(v, mapping) ?? NaN);
}

/** Score of each listed observation as the product computes it (model.ts combine); null when no measure has data. */
export function scoreObservations(data: Prepared, model: Pick<TrainedModel, 'measures'>, rows: ArrayLike<number>): (number | null)[] {
  const weights = model.measures.map((m) => m.weight);
  const lookups = model.measures.map((m) => (m.pair === null ? subsByValue(data.distinct[m.candidate]!, m.mapping) : null));
  const indexes = model.measures.map((m) => data.valueIndex[m.candidate]!);
  const pairIndexes = model.measures.map((m) => (m.pair === null ? null : data.valueIndex[m.pair]!));
  const subs: (number | null)[] = new Array<number | null>(weights.length);
  const scores: (number | null)[] = [];
  for (let r = 0; r < rows.length; r++) {
    const i = rows[r]!;
    for (let k = 0; k < weights.length; k++) {
      const idx = indexes[k]![i]!;
      const lookup = lookups[k];
      if (lookup) subs[k] = idx < 0 ? null : lookup[idx]!;
      else {
        const m = model.measures[k]!;
        const pidx = pairIndexes[k]![i]!;
        subs[k] = idx < 0 || pidx < 0 ? null : mapRaw(data.distinct[m.candidate]![idx]!, m.mapping, undefined, data.distinct[m.pair!]![pidx]!);
      }
    }
    scores.push(combine(weights, subs).score);
  }
  return scores;
}

/**
 * Threshold t so that the share of scores below t is as near `share` as ties allow: between two adjacent
 * observed scores, to 2 decimals (when both lie within one hundredth, rounding may move the few between).
 */
function thresholdAt(sorted: Float64Array, share: number): number {
  const n = sorted.length;
  let best = -1;
  let bestGap = Infinity;
  for (let i = 1; i < n; i++) {
    if (sorted[i] === sorted[i - 1]) continue;
    const gap = Math.abs(i / n - share);
    if (gap < bestGap) {
      bestGap = gap;
      best = i;
    }
  }
  if (best < 0) return sorted[0] ?? 50;
  const [lo, hi] = [sorted[best - 1]!, sorted[best]!];
  // Prefer a round number: the midpoint to 2 decimals, else the first hundredth above lo.
  const mid = Math.round(((lo + hi) / 2) * 100) / 100;
  if (mid > lo && mid <= hi) return mid;
  const above = Math.floor(lo * 100 + 1) / 100;
  return above > lo && above <= hi ? above : mid;
}

/** Train the pipeline on the observations whose mask entry is 1. */
export function trainModel(data: Prepared, mask: Uint8Array, options: TrainOptions): TrainedModel {
  let nTrain = 0;
  for (let i = 0; i < data.n; i++) if (mask[i]) nTrain++;
  const rows = new Uint32Array(nTrain);
  let churnedCount = 0;
  for (let i = 0, r = 0; i < data.n; i++)
    if (mask[i]) {
      rows[r++] = i;
      churnedCount += data.churned[i]!;
    }
  if (churnedCount === 0 || churnedCount === nTrain) throw new FitError('fitting needs both churned and retained observations');
  const baseRate = churnedCount / nTrain;

  const dropped: TrainedModel['dropped'] = [];
  const learned: { candidate: number; learned: LearnedMapping; coverage: number }[] = [];
  data.distinct.forEach((distinct, c) => {
    const excluded = options.exclude?.get(c);
    if (excluded) return void dropped.push({ candidate: c, reason: excluded });
    const index = data.valueIndex[c]!;
    const counts = new Float64Array(distinct.length);
    const churns = new Float64Array(distinct.length);
    for (let r = 0; r < nTrain; r++) {
      const i = rows[r]!;
      const idx = index[i]!;
      if (idx >= 0) {
        counts[idx]!++;
        churns[idx] = churns[idx]! + data.churned[i]!;
      }
    }
    const runs: Runs = { values: [], counts: [], churned: [] };
    let covered = 0;
    for (let v = 0; v < distinct.length; v++)
      if (counts[v]! > 0) {
        runs.values.push(distinct[v]!);
        runs.counts.push(counts[v]!);
        runs.churned.push(churns[v]!);
        covered += counts[v]!;
      }
    const coverage = covered / nTrain;
    if (runs.values.length === 1) return void dropped.push({ candidate: c, reason: 'no information: identical values' });
    if (coverage < options.minCoverage) return void dropped.push({ candidate: c, reason: `too little data: ${percent(coverage)} % coverage` });
    const bins = makeBins(runs, options);
    if (bins.length < 2)
      return void dropped.push({ candidate: c, reason: `no information: one value in ${percent(Math.max(...runs.counts) / covered)} % of observations` });
    const mapping = learnMapping(bins, baseRate);
    if (!mapping) return void dropped.push({ candidate: c, reason: 'no signal: AUC 0.50' });
    if (mapping.auc < options.minAuc) return void dropped.push({ candidate: c, reason: `no signal: AUC ${floor2(mapping.auc)}` });
    learned.push({ candidate: c, learned: mapping, coverage });
  });

  // Sub-score columns (÷ 100, missing → the measure's mean) for the regression of "not churned".
  const columns = learned.map(({ candidate, learned: l }) => {
    const lookup = subsByValue(data.distinct[candidate]!, { type: 'bands', bands: l.bands });
    const index = data.valueIndex[candidate]!;
    const column = new Float64Array(nTrain);
    for (let r = 0; r < nTrain; r++) {
      const idx = index[rows[r]!]!;
      column[r] = (idx < 0 ? l.meanSub : lookup[idx]!) / 100;
    }
    return column;
  });
  const retained = new Float64Array(nTrain);
  for (let r = 0; r < nTrain; r++) retained[r] = 1 - data.churned[rows[r]!]!;
  let active = learned.map((_, k) => k);
  const warm = options.warmStart;
  let start: { intercept: number; coefficients: number[] } | undefined = warm
    ? { intercept: warm.intercept, coefficients: learned.map((l) => warm.coefficients.get(l.candidate) ?? 0) }
    : undefined;
  let weights: number[] = [];
  let regression: Regression = { intercept: 0, coefficients: new Map() };
  for (;;) {
    if (active.length === 0) throw new FitError(`no measure carries signal (${dropped.length} dropped)`);
    const fit = fitLogisticColumns(
      active.map((k) => columns[k]!),
      retained,
      // Weights are kept to 1/10,000 of the total: a gradient of 1e-7 per observation is ample.
      { l2: options.l2, tolerance: 1e-7, ...(start ? { start } : {}) },
    );
    let worst = -1;
    fit.coefficients.forEach((b, j) => {
      if (b <= 0 && (worst < 0 || b < fit.coefficients[worst]!)) worst = j;
    });
    if (worst >= 0) {
      dropped.push({ candidate: learned[active[worst]!]!.candidate, reason: 'points the other way once the others are known' });
      active = active.filter((_, j) => j !== worst);
      start = { intercept: fit.intercept, coefficients: fit.coefficients.filter((_, j) => j !== worst) };
      continue;
    }
    regression = { intercept: fit.intercept, coefficients: new Map(active.map((k, j) => [learned[k]!.candidate, fit.coefficients[j]!])) };
    weights = hundredths(fit.coefficients);
    const zero = weights.map((w, j) => (w === 0 ? j : -1)).filter((j) => j >= 0);
    if (zero.length > 0) {
      for (const j of zero) dropped.push({ candidate: learned[active[j]!]!.candidate, reason: 'negligible weight once the others are known' });
      active = active.filter((_, j) => !zero.includes(j));
      start = { intercept: fit.intercept, coefficients: fit.coefficients.filter((_, j) => !zero.includes(j)) };
      continue;
    }
    break;
  }

  const measures: TrainedMeasure[] = active.map((k, j) => {
    const { candidate, learned: l, coverage } = learned[k]!;
    return { candidate, pair: null, mapping: { type: 'bands', bands: l.bands }, coverage, weight: weights[j]!, direction: l.direction, monotone: true, auc: l.auc };
  });
  return { ...finishModel(data, rows, measures), dropped, regression };
}

/** Calibration, bands and the fallback score of trained measures, on the training rows' product scores. */
export function finishModel(data: Prepared, rows: ArrayLike<number>, measures: TrainedMeasure[]): Omit<TrainedModel, 'dropped' | 'regression'> {
  const scores = scoreObservations(data, { measures }, rows);
  const scored: number[] = [];
  const churn: number[] = [];
  scores.forEach((s, r) => {
    if (s !== null) {
      scored.push(s);
      churn.push(data.churned[rows[r]!]!);
    }
  });
  const cal = fitLogisticColumns([scored], churn, { l2: 0 });
  const sorted = Float64Array.from(scored).sort();
  let green = thresholdAt(sorted, 0.5);
  let red = thresholdAt(sorted, 0.2);
  if (!(red < green)) {
    green = Math.min(100, Math.round(Math.max(green, red + 0.01) * 100) / 100);
    red = Math.max(0, Math.round((green - 0.01) * 100) / 100);
  }
  return {
    measures,
    calibration: { intercept: cal.intercept, slope: cal.coefficients[0]! },
    bands: { green, red },
    fallbackScore: sorted.length ? sorted[Math.floor(sorted.length / 2)]! : 50,
  };
}
