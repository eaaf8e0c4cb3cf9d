/**
 * Ranking metrics of a risk score against known outcomes (pure, no I/O).
 * `risk`: higher means more likely to churn; `positive`: churned.
 */

const checkPair = (risk: ArrayLike<number>, positive: ArrayLike<boolean>) => {
  if (risk.length !== positive.length) throw new RangeError(`risk has ${risk.length} values, positive ${positive.length}`);
  for (let i = 0; i < risk.length; i++) if (Number.isNaN(risk[i])) throw new RangeError(`risk[${i}] is NaN`);
};

/** Indices 0..n-1 ordered by ascending value (ties by index, so the order is deterministic). */
export function ascendingOrder(values: ArrayLike<number>): Uint32Array {
  const order = new Uint32Array(values.length);
  for (let i = 0; i < order.length; i++) order[i] = i;
  return order.sort((a, b) => values[a]! - values[b]! || a - b);
}

/** Ranks 1..n of the values, tied values sharing their average rank. */
export function averageRanks(values: ArrayLike<number>): Float64Array {
  const order = ascendingOrder(values);
  const ranks = new Float64Array(values.length);
  for (let i = 0; i < order.length; ) {
    let j = i + 1;
    while (j < order.length && values[order[j]!] === values[order[i]!]) j++;
    const rank = (i + 1 + j) / 2;
    for (let k = i; k < j; k++) ranks[order[k]!] = rank;
    i = j;
  }
  return ranks;
}

/** ROC-AUC: P(risk of a random positive > that of a random negative), ties ½ (Mann–Whitney U); NaN when a class is empty. */
export function rocAuc(risk: ArrayLike<number>, positive: ArrayLike<boolean>): number {
  checkPair(risk, positive);
  const ranks = averageRanks(risk);
  let nPos = 0;
  let rankSum = 0;
  for (let i = 0; i < ranks.length; i++)
    if (positive[i]) {
      nPos++;
      rankSum += ranks[i]!;
    }
  const nNeg = ranks.length - nPos;
  if (nPos === 0 || nNeg === 0) return NaN;
  return (rankSum - (nPos * (nPos + 1)) / 2) / (nPos * nNeg);
}

/** 95 % confidence interval of an AUC (Hanley & McNeil 1982), clamped to [0, 1]; NaN bounds when a class is empty. */
export function aucInterval(auc: number, nPositive: number, nNegative: number): { low: number; high: number } {
  if (!(nPositive > 0 && nNegative > 0) || Number.isNaN(auc)) return { low: NaN, high: NaN };
  const q1 = auc / (2 - auc);
  const q2 = (2 * auc * auc) / (1 + auc);
  const variance = (auc * (1 - auc) + (nPositive - 1) * (q1 - auc * auc) + (nNegative - 1) * (q2 - auc * auc)) / (nPositive * nNegative);
  const half = 1.959963984540054 * Math.sqrt(Math.max(0, variance));
  return { low: Math.max(0, auc - half), high: Math.min(1, auc + half) };
}

/** Groups of tied risk, riskiest first: [risk, positives, count][]. */
function descendingGroups(risk: ArrayLike<number>, positive: ArrayLike<boolean>): [number, number, number][] {
  const order = ascendingOrder(risk);
  const groups: [number, number, number][] = [];
  for (let i = order.length - 1; i >= 0; ) {
    const value = risk[order[i]!]!;
    let pos = 0;
    let count = 0;
    while (i >= 0 && risk[order[i]!] === value) {
      if (positive[order[i]!]) pos++;
      count++;
      i--;
    }
    groups.push([value, pos, count]);
  }
  return groups;
}

/** PR-AUC as average precision: Σ over thresholds (riskiest first, ties one threshold) of Δrecall × precision; NaN without positives. */
export function prAuc(risk: ArrayLike<number>, positive: ArrayLike<boolean>): number {
  checkPair(risk, positive);
  const groups = descendingGroups(risk, positive);
  const total = groups.reduce((s, g) => s + g[1], 0);
  if (total === 0) return NaN;
  let tp = 0;
  let seen = 0;
  let ap = 0;
  for (const [, pos, count] of groups) {
    tp += pos;
    seen += count;
    ap += (pos / total) * (tp / seen);
  }
  return ap;
}

/**
 * Lift in the riskiest `share` (round(share × n), at least 1): its churn rate ÷ the overall rate; an
 * equal-risk group cut by the boundary counts pro rata. NaN without positives or observations.
 */
export function liftAtTop(risk: ArrayLike<number>, positive: ArrayLike<boolean>, share = 0.1): number {
  checkPair(risk, positive);
  if (!(share > 0 && share <= 1)) throw new RangeError(`share must be in (0, 1], got ${share}`);
  const n = risk.length;
  const groups = descendingGroups(risk, positive);
  const total = groups.reduce((s, g) => s + g[1], 0);
  if (n === 0 || total === 0) return NaN;
  const k = Math.max(1, Math.round(share * n));
  let room = k;
  let caught = 0;
  for (const [, pos, count] of groups) {
    if (room <= 0) break;
    const take = Math.min(room, count);
    caught += (pos * take) / count;
    room -= take;
  }
  return caught / k / (total / n);
}

/** Share of the positives that are flagged (e.g. churners caught in red); NaN without positives. */
export function caughtShare(flagged: ArrayLike<boolean>, positive: ArrayLike<boolean>): number {
  if (flagged.length !== positive.length) throw new RangeError('flagged and positive differ in length');
  let pos = 0;
  let caught = 0;
  for (let i = 0; i < flagged.length; i++)
    if (positive[i]) {
      pos++;
      if (flagged[i]) caught++;
    }
  return pos === 0 ? NaN : caught / pos;
}

/** Share of positives among the flagged (e.g. churn rate of the red band); NaN when nothing is flagged. */
export function rateAmong(flagged: ArrayLike<boolean>, positive: ArrayLike<boolean>): number {
  if (flagged.length !== positive.length) throw new RangeError('flagged and positive differ in length');
  let count = 0;
  let pos = 0;
  for (let i = 0; i < flagged.length; i++)
    if (flagged[i]) {
      count++;
      if (positive[i]) pos++;
    }
  return count === 0 ? NaN : pos / count;
}

/** AUC from grouped data (one entry per distinct risk value, any order): same tie rule as rocAuc. */
export function groupedAuc(groups: { risk: number; positives: number; negatives: number }[]): number {
  const sorted = [...groups].sort((a, b) => a.risk - b.risk);
  let nPos = 0;
  let nNeg = 0;
  for (const g of sorted) {
    nPos += g.positives;
    nNeg += g.negatives;
  }
  if (nPos === 0 || nNeg === 0) return NaN;
  let negBelow = 0;
  let u = 0;
  for (let i = 0; i < sorted.length; ) {
    let pos = 0;
    let neg = 0;
    const risk = sorted[i]!.risk;
    while (i < sorted.length && sorted[i]!.risk === risk) {
      pos += sorted[i]!.positives;
      neg += sorted[i]!.negatives;
      i++;
    }
    u += pos * (negBelow + neg / 2);
    negBelow += neg;
  }
  return u / (nPos * nNeg);
}
