import { averageRanks } from './metrics.js';

/**
 * DeLong's test for two correlated ROC-AUCs on the same observations (fast
 * form of Sun & Xu, 2014): each AUC's placement values, their covariance, and
 * a normal interval of the difference. Pure: no I/O.
 */

export interface PairedAucs {
  aucA: number;
  aucB: number;
  /** B − A. */
  difference: number;
  /** Standard error of the difference; NaN without both classes. */
  se: number;
  /** 95 % interval of the difference. */
  interval: [number, number];
  /** 95 % intervals of each AUC alone. */
  intervalA: [number, number];
  intervalB: [number, number];
}

const Z = 1.959963984540054;

/** Placement values of one risk score: per positive the share of negatives it outranks (ties ½), per negative the share of positives above it. */
export function placements(risk: ArrayLike<number>, positive: ArrayLike<boolean>): { auc: number; v10: Float64Array; v01: Float64Array } {
  const pos: number[] = [];
  const neg: number[] = [];
  for (let i = 0; i < risk.length; i++) (positive[i] ? pos : neg).push(risk[i]!);
  const m = pos.length;
  const n = neg.length;
  if (m === 0 || n === 0) return { auc: NaN, v10: new Float64Array(), v01: new Float64Array() };
  const tz = averageRanks([...pos, ...neg]);
  const tx = averageRanks(pos);
  const ty = averageRanks(neg);
  const v10 = Float64Array.from(pos, (_, i) => (tz[i]! - tx[i]!) / n);
  const v01 = Float64Array.from(neg, (_, j) => 1 - (tz[m + j]! - ty[j]!) / m);
  const auc = v10.reduce((s, v) => s + v, 0) / m;
  return { auc, v10, v01 };
}

const covariance = (a: Float64Array, b: Float64Array) => {
  const k = a.length;
  if (k < 2) return 0;
  const ma = a.reduce((s, v) => s + v, 0) / k;
  const mb = b.reduce((s, v) => s + v, 0) / k;
  let c = 0;
  for (let i = 0; i < k; i++) c += (a[i]! - ma) * (b[i]! - mb);
  return c / (k - 1);
};

const clamp01 = (x: number) => Math.min(1, Math.max(0, x));

/** Compare risk B with risk A on the same observations (higher risk = more likely positive). */
export function pairedAucs(riskA: ArrayLike<number>, riskB: ArrayLike<number>, positive: ArrayLike<boolean>): PairedAucs {
  if (riskA.length !== positive.length || riskB.length !== positive.length) throw new RangeError('risks and outcomes differ in length');
  const a = placements(riskA, positive);
  const b = placements(riskB, positive);
  const m = a.v10.length;
  const n = a.v01.length;
  if (m === 0 || n === 0) return { aucA: NaN, aucB: NaN, difference: NaN, se: NaN, interval: [NaN, NaN], intervalA: [NaN, NaN], intervalB: [NaN, NaN] };
  const varA = covariance(a.v10, a.v10) / m + covariance(a.v01, a.v01) / n;
  const varB = covariance(b.v10, b.v10) / m + covariance(b.v01, b.v01) / n;
  const cov = covariance(a.v10, b.v10) / m + covariance(a.v01, b.v01) / n;
  const se = Math.sqrt(Math.max(0, varA + varB - 2 * cov));
  const difference = b.auc - a.auc;
  const seA = Math.sqrt(Math.max(0, varA));
  const seB = Math.sqrt(Math.max(0, varB));
  return {
    aucA: a.auc,
    aucB: b.auc,
    difference,
    se,
    interval: [difference - Z * se, difference + Z * se],
    intervalA: [clamp01(a.auc - Z * seA), clamp01(a.auc + Z * seA)],
    intervalB: [clamp01(b.auc - Z * seB), clamp01(b.auc + Z * seB)],
  };
}
