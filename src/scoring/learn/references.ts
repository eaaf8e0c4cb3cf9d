import type { Binned } from './binned.js';
import { fitBoostedTrees, predictTrees } from './gbt.js';
import { fitLogisticColumns } from './logistic.js';
import { rocAuc } from './metrics.js';
import type { Prepared } from './train.js';

/**
 * Reference models on the same features and folds as the fit: a plain
 * logistic regression on the raw values (standardised, a missing value at the
 * mean) and boosted depth-3 trees on the same bins. They are not products, only
 * yardsticks: how much an additive linear model and an unconstrained one reach.
 */

export interface ReferenceAucs {
  mean: number;
  sd: number;
  folds: number[];
}

/** Rows a reference is trained on at most (an even sample beyond): keeps a 100,000-account fit fast. */
const MAX_TRAIN_ROWS = 10_000;

const sample = (rows: number[]) => {
  if (rows.length <= MAX_TRAIN_ROWS) return rows;
  const step = rows.length / MAX_TRAIN_ROWS;
  return Array.from({ length: MAX_TRAIN_ROWS }, (_, k) => rows[Math.floor(k * step)]!);
};

const summary = (folds: number[]): ReferenceAucs => {
  const ok = folds.filter(Number.isFinite);
  const mean = ok.reduce((s, a) => s + a, 0) / Math.max(1, ok.length);
  const sd = Math.sqrt(ok.reduce((s, a) => s + (a - mean) ** 2, 0) / Math.max(1, ok.length - 1));
  return { mean: ok.length ? mean : NaN, sd: ok.length ? sd : NaN, folds };
};

function value(data: Prepared, c: number, i: number): number {
  const idx = data.valueIndex[c]![i]!;
  return idx < 0 ? NaN : data.distinct[c]![idx]!;
}

/** Out-of-fold log-odds of the logistic regression for the rows of one fold. */
export function logisticReference(data: Prepared, features: number[], train: number[], test: number[]): number[] {
  const rows = sample(train);
  const stats = features.map((c) => {
    let n = 0;
    let s = 0;
    let ss = 0;
    for (const i of rows) {
      const v = value(data, c, i);
      if (Number.isNaN(v)) continue;
      n++;
      s += v;
      ss += v * v;
    }
    const mean = n ? s / n : 0;
    const sd = n ? Math.sqrt(Math.max(0, ss / n - mean * mean)) : 0;
    return { mean, sd: sd > 0 ? sd : 1 };
  });
  const column = (c: number, k: number, at: number[]) =>
    Float64Array.from(at, (i) => {
      const v = value(data, c, i);
      return Number.isNaN(v) ? 0 : (v - stats[k]!.mean) / stats[k]!.sd;
    });
  const fit = fitLogisticColumns(
    features.map((c, k) => column(c, k, rows)),
    Float64Array.from(rows, (i) => data.churned[i]!),
    { l2: 1, maxIterations: 50, tolerance: 1e-7 },
  );
  const cols = features.map((c, k) => column(c, k, test));
  return test.map((_, r) => fit.intercept + cols.reduce((s, col, k) => s + fit.coefficients[k]! * col[r]!, 0));
}

/** Out-of-fold log-odds of the boosted trees for the rows of one fold. */
export function treesReference(data: Prepared, binned: Binned, features: number[], train: number[], test: number[]): number[] {
  const only = { bins: features.map((c) => binned.bins[c]!), columns: features.map((c) => binned.columns[c]!) };
  const model = fitBoostedTrees(only, data.churned, sample(train), { trees: 100, depth: 3, learningRate: 0.15 });
  return test.map((i) => predictTrees(model, only, i));
}

/** Both references' AUC on each held-out fold (folds as assigned by the fit). */
export function references(data: Prepared, binned: Binned, features: number[], foldOf: Uint8Array, k: number): { logisticRegression: ReferenceAucs; boostedTrees: ReferenceAucs } {
  const lr: number[] = [];
  const gbt: number[] = [];
  for (let f = 0; f < k; f++) {
    const train: number[] = [];
    const test: number[] = [];
    for (let i = 0; i < data.n; i++) (foldOf[i] === f ? test : train).push(i);
    const positive = test.map((i) => data.churned[i] === 1);
    if (features.length === 0) {
      lr.push(0.5);
      gbt.push(0.5);
      continue;
    }
    lr.push(rocAuc(logisticReference(data, features, train, test), positive));
    gbt.push(rocAuc(treesReference(data, binned, features, train, test), positive));
  }
  return { logisticRegression: summary(lr), boostedTrees: summary(gbt) };
}
