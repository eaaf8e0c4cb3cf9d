import { fitLogistic, sigmoid } from '../scoring/learn/logistic.js';

/**
 * The pictures of a backtest as numbers: the ROC curve, and per decile of
 * risk the predicted and observed churn and the lift. Pure, so the pages and
 * the API read the same figures.
 */

const r4 = (x: number) => Math.round(x * 10_000) / 10_000;

/** ROC points (false-positive rate, true-positive rate), riskiest first, thinned to at most `max` + 2 points; ties move together. */
export function rocCurve(risk: readonly number[], churned: readonly boolean[], max = 100): [number, number][] {
  const positives = churned.filter(Boolean).length;
  const negatives = churned.length - positives;
  if (positives === 0 || negatives === 0) return [];
  const order = risk.map((_, i) => i).sort((a, b) => risk[b]! - risk[a]!);
  const points: [number, number][] = [[0, 0]];
  let tp = 0;
  let fp = 0;
  for (let k = 0; k < order.length; k++) {
    const i = order[k]!;
    if (churned[i]) tp += 1;
    else fp += 1;
    const next = order[k + 1];
    if (next === undefined || risk[next] !== risk[i]) points.push([fp / negatives, tp / positives]);
  }
  if (points.length <= max + 2) return points.map(([x, y]) => [r4(x), r4(y)]);
  const step = (points.length - 1) / max;
  const thinned: [number, number][] = [];
  for (let j = 0; j <= max; j++) thinned.push(points[Math.round(j * step)]!);
  return thinned.map(([x, y]) => [r4(x), r4(y)]);
}

export interface Decile {
  /** 1 = the riskiest tenth. */
  decile: number;
  accounts: number;
  churned: number;
  /** Mean churn probability the score gave. */
  predicted: number;
  /** Share that churned. */
  observed: number;
  /** Observed ÷ the overall churn rate. */
  lift: number;
  minScore: number;
  maxScore: number;
}

/**
 * Ten groups of equal size by score, riskiest first. `probability` turns a
 * score into a churn probability: the scorecard's own calibration where it
 * has one; otherwise a logistic fit of churn on score over these outcomes
 * (what the scorecard would predict if calibrated on them).
 */
export function deciles(scores: readonly number[], churned: readonly boolean[], probability?: (score: number) => number): { deciles: Decile[]; calibration: 'scorecard' | 'fitted_here' } {
  const n = scores.length;
  const positives = churned.filter(Boolean).length;
  if (n < 10 || positives === 0 || positives === n) return { deciles: [], calibration: probability ? 'scorecard' : 'fitted_here' };
  let predict = probability;
  if (!predict) {
    const fit = fitLogistic(scores.map((s) => [s / 100]), churned.map((c) => (c ? 1 : 0)), { l2: 1e-6 });
    predict = (s) => sigmoid(fit.intercept + fit.coefficients[0]! * (s / 100));
  }
  const order = scores.map((_, i) => i).sort((a, b) => scores[a]! - scores[b]!);
  const base = positives / n;
  const out: Decile[] = [];
  for (let d = 0; d < 10; d++) {
    const members = order.slice(Math.round((d * n) / 10), Math.round(((d + 1) * n) / 10));
    const lost = members.filter((i) => churned[i]).length;
    const observed = lost / members.length;
    out.push({
      decile: d + 1,
      accounts: members.length,
      churned: lost,
      predicted: r4(members.reduce((s, i) => s + predict(scores[i]!), 0) / members.length),
      observed: r4(observed),
      lift: r4(observed / base),
      minScore: r4(scores[members[0]!]!),
      maxScore: r4(scores[members.at(-1)!]!),
    });
  }
  return { deciles: out, calibration: probability ? 'scorecard' : 'fitted_here' };
}
