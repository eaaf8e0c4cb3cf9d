import type { FeatureName } from '../features.js';
import type { Binned } from './binned.js';
import { groupedAuc } from './metrics.js';
import { type MainTerm, type PairTerm, type ShapeOptions, fitShapes } from './shapes.js';
import { FitError, type Prepared, type TrainedMeasure, type TrainedModel, finishModel, hundredths } from './train.js';

/**
 * One fit of the explainable boosting pipeline on a subset of observations:
 * shapes and interaction grids (shapes.ts), turned into scorecard lines. A
 * term's sub-score is its log-odds rescaled to 0–100 (100 = its healthiest
 * cell) and its weight is proportional to its range in log-odds, so the
 * scorecard's weighted mean ranks accounts exactly as the boosted log-odds do
 * when every measure has a value. Terms that explain too little are dropped.
 */

export interface ShapeTrainOptions extends ShapeOptions {
  /** A term explaining less deviance than this (plus one per cell beyond the second) is dropped as "no signal" (default 4). */
  minDeviance?: number;
}

const round2 = (x: number) => Math.round(x * 100) / 100;

/** Train on the observations whose mask entry is 1, over the usable candidates. */
export function trainShapeModel(
  data: Prepared,
  binned: Binned,
  mask: Uint8Array,
  usable: number[],
  features: string[],
  options: ShapeTrainOptions = {},
): TrainedModel {
  const rows: number[] = [];
  let churned = 0;
  for (let i = 0; i < data.n; i++)
    if (mask[i]) {
      rows.push(i);
      churned += data.churned[i]!;
    }
  if (churned === 0 || churned === rows.length) throw new FitError('fitting needs both churned and retained observations');
  if (usable.length === 0) throw new FitError('no measure carries signal (no usable candidate)');
  const model = fitShapes(binned, data.churned, rows, usable, options);
  const minDeviance = options.minDeviance ?? 4;
  const dropped: TrainedModel['dropped'] = [];

  // Observations per cell of each term (training rows), and positives, for the term's own AUC.
  const lines: { measure: Omit<TrainedMeasure, 'weight'>; range: number }[] = [];
  model.terms.forEach((term, t) => {
    const size = term.values.length;
    const count = new Float64Array(size);
    const positives = new Float64Array(size);
    let covered = 0;
    for (const i of rows) {
      const cell =
        term.kind === 'main'
          ? binned.columns[term.feature]![i]!
          : binned.columns[term.a]![i]! < 0 || binned.columns[term.b]![i]! < 0
            ? -1
            : term.groupA[binned.columns[term.a]![i]!]! * term.nB + term.groupB[binned.columns[term.b]![i]!]!;
      if (cell < 0) continue;
      covered++;
      count[cell] = count[cell]! + 1;
      positives[cell] = positives[cell]! + data.churned[i]!;
    }
    const used = (k: number) => count[k]! > 0;
    const cells = Array.from(count).filter((c) => c > 0).length;
    const candidate = term.kind === 'main' ? term.feature : term.a;
    if (model.importance[t]! < minDeviance + Math.max(0, cells - 2)) {
      if (term.kind === 'main') dropped.push({ candidate, reason: `no signal: its shape explains a deviance of ${model.importance[t]!.toFixed(1)} on the training data` });
      return;
    }
    const { subs, range } = subScoresOf(term.values, used);
    if (range === 0) {
      if (term.kind === 'main') dropped.push({ candidate, reason: 'no signal: flat shape' });
      return;
    }
    const auc = groupedAuc(subs.map((s, k) => ({ risk: -s, positives: positives[k]!, negatives: count[k]! - positives[k]! })).filter((_, k) => used(k)));
    const coverage = covered / rows.length;
    if (term.kind === 'main') lines.push({ measure: mainMeasure(term, binned.mins[term.feature]!, subs, coverage, auc, count), range });
    else lines.push({ measure: pairMeasure(term, binned, subs, features, coverage, auc), range });
  });
  if (!lines.some((l) => l.measure.pair === null)) throw new FitError(`no measure carries signal (${dropped.length} dropped)`);

  // Weights ∝ log-odds range; a line whose weight rounds to nothing is dropped.
  let kept = lines;
  let weights = hundredths(kept.map((l) => l.range));
  const zero = kept.filter((_, j) => weights[j] === 0);
  for (const z of zero) if (z.measure.pair === null) dropped.push({ candidate: z.measure.candidate, reason: 'negligible weight once the others are known' });
  if (zero.length > 0) {
    kept = kept.filter((_, j) => weights[j]! > 0);
    weights = hundredths(kept.map((l) => l.range));
  }
  const measures: TrainedMeasure[] = kept.map((l, j) => ({ ...l.measure, weight: weights[j]! }));
  return { ...finishModel(data, rows, measures), dropped, regression: { intercept: model.intercept, coefficients: new Map() } };
}

function subScoresOf(values: Float64Array, used: (k: number) => boolean): { subs: number[]; range: number } {
  // Cells without training data are clamped into the range of those with data.
  let max = -Infinity;
  let min = Infinity;
  values.forEach((v, k) => {
    if (!used(k)) return;
    max = Math.max(max, v);
    min = Math.min(min, v);
  });
  const range = max - min;
  if (!(range > 1e-12)) return { subs: Array.from(values, () => 100), range: 0 };
  return { subs: Array.from(values, (v) => round2((100 * (max - Math.min(max, Math.max(min, v)))) / range)), range };
}

function mainMeasure(term: MainTerm, mins: number[], subs: number[], coverage: number, auc: number, count: Float64Array): Omit<TrainedMeasure, 'weight'> {
  const bands: { min: number; score: number }[] = [];
  subs.forEach((score, k) => {
    if (bands.length === 0 || bands.at(-1)!.score !== score) bands.push({ min: mins[k]!, score });
  });
  // The way the shape leans overall: the count-weighted covariance of bin order and health.
  let n = 0;
  let sk = 0;
  let ss = 0;
  let sks = 0;
  subs.forEach((s, k) => {
    const c = count[k]!;
    n += c;
    sk += c * k;
    ss += c * s;
    sks += c * k * s;
  });
  const lean = n > 0 ? sks - (sk * ss) / n : 0;
  const direction = term.monotone ? (term.monotone === 'increasing' ? 'lower_is_healthier' : 'higher_is_healthier') : lean >= 0 ? 'higher_is_healthier' : 'lower_is_healthier';
  return { candidate: term.feature, pair: null, mapping: { type: 'bands', bands }, coverage, direction, monotone: term.monotone !== null, auc };
}

function pairMeasure(term: PairTerm, binned: Binned, subs: number[], features: string[], coverage: number, auc: number): Omit<TrainedMeasure, 'weight'> {
  const firstMins = (mins: number[], group: Int16Array, n: number) => Array.from({ length: n }, (_, g) => mins[group.indexOf(g)]!);
  const rows = firstMins(binned.mins[term.a]!, term.groupA, term.nA);
  const columns = firstMins(binned.mins[term.b]!, term.groupB, term.nB);
  const scores = rows.map((_, i) => columns.map((__, j) => subs[i * term.nB + j]!));
  return {
    candidate: term.a,
    pair: term.b,
    mapping: { type: 'grid', with: features[term.b] as FeatureName, rows, columns, scores },
    coverage,
    direction: null,
    monotone: false,
    auc,
  };
}
