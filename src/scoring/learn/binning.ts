import { isotonic } from './isotonic.js';
import { groupedAuc } from './metrics.js';

/**
 * One measure learned from outcomes: quantile bins of the raw value, a
 * monotone (isotonic) churn rate per bin in the direction that fits best, and
 * a 0–100 sub-score per bin from its log-odds (100 = healthiest bin).
 */

/** Distinct raw values in ascending order with how many observations have each and how many of those churned. */
export interface Runs {
  values: number[];
  counts: number[];
  churned: number[];
}

export interface Bin {
  /** Lowest raw value in the bin: the band's `min`. */
  min: number;
  count: number;
  churned: number;
}

export type Direction = 'higher_is_healthier' | 'lower_is_healthier';

export interface LearnedMapping {
  bins: Bin[];
  /** Sub-score per bin, 2 decimals. */
  subs: number[];
  /** Bands for the scorecard: consecutive bins with the same sub-score merged. */
  bands: { min: number; score: number }[];
  direction: Direction;
  /** AUC of this measure alone (risk = −sub) over the observations with a value. */
  auc: number;
  /** Mean sub-score over the observations with a value. */
  meanSub: number;
}

export interface BinningOptions {
  maxBins: number;
  minBinShare: number;
}

const round2 = (x: number) => Math.round(x * 100) / 100;

/**
 * Bins over the runs: one per distinct value when there are at most maxBins of them (values rarer than
 * 1 % of the observations, or than 10 of them, merged into a neighbour), otherwise cuts at the quantiles
 * snapped to value boundaries, bins smaller than minBinShare merged into their smaller neighbour.
 */
export function makeBins(runs: Runs, { maxBins, minBinShare }: BinningOptions): Bin[] {
  const total = runs.counts.reduce((s, c) => s + c, 0);
  const r = runs.values.length;
  let bins: Bin[];
  let minCount: number;
  if (r <= maxBins) {
    bins = runs.values.map((v, i) => ({ min: v, count: runs.counts[i]!, churned: runs.churned[i]! }));
    minCount = Math.min(Math.max(0.01 * total, 10), minBinShare * total);
  } else {
    // Cumulative counts after each run; cut after the run whose cumulative count is nearest each quantile.
    const cum: number[] = [];
    let acc = 0;
    for (const c of runs.counts) cum.push((acc += c));
    const cuts = new Set<number>();
    let k = 0;
    for (let q = 1; q < maxBins; q++) {
      const target = (q * total) / maxBins;
      while (k < r - 2 && Math.abs(cum[k + 1]! - target) <= Math.abs(cum[k]! - target)) k++;
      cuts.add(k);
    }
    bins = [];
    let start = 0;
    for (const cut of [...cuts].sort((a, b) => a - b).concat(r - 1)) {
      if (cut < start) continue;
      let count = 0;
      let churned = 0;
      for (let i = start; i <= cut; i++) {
        count += runs.counts[i]!;
        churned += runs.churned[i]!;
      }
      bins.push({ min: runs.values[start]!, count, churned });
      start = cut + 1;
    }
    minCount = minBinShare * total;
  }
  // Merge the smallest under-sized bin into its smaller neighbour until none is left (or one bin).
  for (;;) {
    if (bins.length < 2) break;
    let smallest = -1;
    for (let i = 0; i < bins.length; i++) if (bins[i]!.count < minCount && (smallest < 0 || bins[i]!.count < bins[smallest]!.count)) smallest = i;
    if (smallest < 0) break;
    const left = smallest - 1;
    const right = smallest + 1;
    const into = right >= bins.length || (left >= 0 && bins[left]!.count <= bins[right]!.count) ? left : right;
    const [a, b] = into < smallest ? [into, smallest] : [smallest, into];
    bins.splice(a, 2, { min: bins[a]!.min, count: bins[a]!.count + bins[b]!.count, churned: bins[a]!.churned + bins[b]!.churned });
  }
  return bins;
}

/**
 * Learn a measure's mapping from its bins: smoothed churn rate per bin (prior: the base rate, worth
 * `priorStrength` observations), isotonic in both directions, the one with lower weighted squared error
 * kept; null when the fitted rate is flat (no signal).
 */
export function learnMapping(bins: Bin[], baseRate: number, priorStrength = 2): LearnedMapping | null {
  if (bins.length < 2) return null;
  const rates = bins.map((b) => (b.churned + priorStrength * baseRate) / (b.count + priorStrength));
  const weights = bins.map((b) => b.count);
  const sse = (fitted: number[]) => fitted.reduce((s, f, i) => s + weights[i]! * (f - rates[i]!) ** 2, 0);
  const up = isotonic(rates, weights, 'increasing');
  const down = isotonic(rates, weights, 'decreasing');
  // Churn rising with the raw value means lower values are healthier.
  const [fitted, direction]: [number[], Direction] = sse(up) <= sse(down) ? [up, 'lower_is_healthier'] : [down, 'higher_is_healthier'];
  const logit = fitted.map((p) => Math.log(p / (1 - p)));
  const lMax = Math.max(...logit);
  const lMin = Math.min(...logit);
  if (!(lMax - lMin > 1e-9)) return null;
  const subs = logit.map((l) => round2((100 * (lMax - l)) / (lMax - lMin)));
  const bands: { min: number; score: number }[] = [];
  subs.forEach((score, i) => {
    if (bands.length === 0 || bands.at(-1)!.score !== score) bands.push({ min: bins[i]!.min, score });
  });
  const auc = groupedAuc(bins.map((b, i) => ({ risk: -subs[i]!, positives: b.churned, negatives: b.count - b.churned })));
  const total = weights.reduce((s, c) => s + c, 0);
  const meanSub = subs.reduce((s, v, i) => s + v * weights[i]!, 0) / total;
  return { bins, subs, bands, direction, auc, meanSub };
}
