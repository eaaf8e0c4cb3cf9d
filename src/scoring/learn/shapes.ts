import type { BinnedColumns } from './gbt.js';
import { isotonic } from './isotonic.js';
import { sigmoid, softplus } from './logistic.js';

/**
 * An explainable boosting model (after InterpretML's EBM): the log-odds of
 * churn are an intercept plus one shape per measure (a value per bin) plus a
 * few pairwise interaction grids. Shapes are learned by cyclic boosting: round
 * robin over the terms, each step a small Newton step per bin, so correlated
 * measures share the effect instead of the first one taking it all. A shape is
 * kept monotone unless the data says otherwise (projecting it on a monotone
 * sequence would cost more deviance than noise explains); interaction pairs are
 * chosen by a FAST-like scan of the residuals over four-quadrant cuts.
 * Pure: no I/O.
 */

export interface ShapeOptions {
  /** Step size of each boosting update (default 0.5). */
  learningRate?: number;
  /** Cyclic rounds at most, per stage (default 50). */
  maxRounds?: number;
  /** L2 penalty on each bin's step (default 2). */
  l2?: number;
  /** Interaction pairs at most (default 3; 0: none). */
  maxInteractions?: number;
  /** Least FAST gain (deviance units) of a pair's best four-quadrant cut to consider it (default 30). */
  minPairGain?: number;
  /** Groups per feature in an interaction grid (default 5). */
  pairBins?: number;
  /**
   * A shape is projected onto a monotone one unless that costs more deviance than
   * `monotoneSlack` × (bins − 1) + 8 (default 1.5): a threshold noise rarely passes.
   */
  monotoneSlack?: number;
}

export interface MainTerm {
  kind: 'main';
  feature: number;
  /** Log-odds of churn added per bin. */
  values: Float64Array;
  monotone: 'increasing' | 'decreasing' | null;
}

export interface PairTerm {
  kind: 'pair';
  a: number;
  b: number;
  /** Bin of feature a (b) → its group in the grid. */
  groupA: Int16Array;
  groupB: Int16Array;
  nA: number;
  nB: number;
  /** Log-odds added per cell, row-major (group of a × group of b). */
  values: Float64Array;
}

export type Term = MainTerm | PairTerm;

export interface ShapeModel {
  intercept: number;
  terms: Term[];
  /** Per term: deviance it explains on the training rows (Σ hessian × (value − weighted mean)²). */
  importance: number[];
}

/** Cell of an observation in a term; −1 when a value it needs is missing. */
export function cellOf(term: Term, data: BinnedColumns, i: number): number {
  if (term.kind === 'main') return data.columns[term.feature]![i]!;
  const a = data.columns[term.a]![i]!;
  const b = data.columns[term.b]![i]!;
  return a < 0 || b < 0 ? -1 : term.groupA[a]! * term.nB + term.groupB[b]!;
}

/** Log-odds of churn of an observation. */
export function predictShapes(model: ShapeModel, data: BinnedColumns, i: number): number {
  let margin = model.intercept;
  for (const term of model.terms) {
    const cell = cellOf(term, data, i);
    if (cell >= 0) margin += term.values[cell]!;
  }
  return margin;
}

/** Groups of adjacent bins with about equal counts (at most `groups`): bin → group. */
export function coarsen(counts: ArrayLike<number>, groups: number): { group: Int16Array; n: number } {
  const total = Array.from(counts).reduce((s, c) => s + c, 0);
  const group = new Int16Array(counts.length);
  let g = 0;
  let acc = 0;
  for (let b = 0; b < counts.length; b++) {
    group[b] = g;
    acc += counts[b]!;
    if (acc >= ((g + 1) * total) / groups && g < groups - 1 && b < counts.length - 1) g++;
  }
  return { group, n: group[counts.length - 1]! + 1 };
}

class Booster {
  readonly margin: Float64Array;
  readonly cells: Int16Array[] = [];
  readonly terms: Term[] = [];
  constructor(
    readonly data: BinnedColumns,
    readonly churned: Float64Array,
    readonly rows: ArrayLike<number>,
    intercept: number,
    readonly o: Required<ShapeOptions>,
  ) {
    this.margin = new Float64Array(rows.length).fill(intercept);
  }

  add(term: Term) {
    const cells = new Int16Array(this.rows.length);
    for (let r = 0; r < this.rows.length; r++) cells[r] = cellOf(term, this.data, this.rows[r]!);
    this.terms.push(term);
    this.cells.push(cells);
  }

  /** Gradient (y − p) and hessian sums per cell of term t. */
  sums(t: number): { G: Float64Array; H: Float64Array } {
    const size = this.terms[t]!.values.length;
    const G = new Float64Array(size);
    const H = new Float64Array(size);
    const cells = this.cells[t]!;
    for (let r = 0; r < cells.length; r++) {
      const k = cells[r]!;
      if (k < 0) continue;
      const p = sigmoid(this.margin[r]!);
      G[k] = G[k]! + this.churned[r]! - p;
      H[k] = H[k]! + p * (1 - p);
    }
    return { G, H };
  }

  shift(t: number, delta: Float64Array) {
    const term = this.terms[t]!;
    for (let k = 0; k < delta.length; k++) term.values[k] = term.values[k]! + delta[k]!;
    const cells = this.cells[t]!;
    for (let r = 0; r < cells.length; r++) {
      const k = cells[r]!;
      if (k >= 0) this.margin[r] = this.margin[r]! + delta[k]!;
    }
  }

  step(t: number) {
    const term = this.terms[t]!;
    const { G, H } = this.sums(t);
    const delta = new Float64Array(G.length);
    for (let k = 0; k < G.length; k++) delta[k] = (this.o.learningRate * G[k]!) / (H[k]! + this.o.l2);
    if (term.kind === 'main' && term.monotone) {
      const next = isotonic(
        term.values.map((v, k) => v + delta[k]!),
        Array.from(H, (h) => h + 1e-9),
        term.monotone,
      );
      for (let k = 0; k < delta.length; k++) delta[k] = next[k]! - term.values[k]!;
    }
    this.shift(t, delta);
  }

  loss(): number {
    let s = 0;
    for (let r = 0; r < this.margin.length; r++) s += softplus(this.margin[r]!) - this.churned[r]! * this.margin[r]!;
    return s;
  }

  /** Cyclic rounds over the listed terms until a round improves the loss by less than 1e-5 per observation. */
  boost(terms: number[]) {
    let before = this.loss();
    for (let round = 0; round < this.o.maxRounds; round++) {
      for (const t of terms) this.step(t);
      const after = this.loss();
      if (before - after < 1e-5 * this.margin.length) break;
      before = after;
    }
  }

  /** Deviance a term explains: Σ hessian × (value − hessian-weighted mean)². */
  importance(t: number): number {
    const { H } = this.sums(t);
    const values = this.terms[t]!.values;
    let h = 0;
    let hv = 0;
    for (let k = 0; k < values.length; k++) {
      h += H[k]!;
      hv += H[k]! * values[k]!;
    }
    if (h === 0) return 0;
    const mean = hv / h;
    let d = 0;
    for (let k = 0; k < values.length; k++) d += H[k]! * (values[k]! - mean) ** 2;
    return d;
  }
}

/** Best FAST gain of a pair: the four-quadrant cut of the residuals that explains the most deviance. */
export function pairGain(
  cellsA: Int16Array,
  cellsB: Int16Array,
  groupA: Int16Array,
  groupB: Int16Array,
  nA: number,
  nB: number,
  g: Float64Array,
  h: Float64Array,
  l2: number,
): number {
  const G = new Float64Array(nA * nB);
  const H = new Float64Array(nA * nB);
  for (let r = 0; r < g.length; r++) {
    const a = cellsA[r]!;
    const b = cellsB[r]!;
    if (a < 0 || b < 0) continue;
    const k = groupA[a]! * nB + groupB[b]!;
    G[k] = G[k]! + g[r]!;
    H[k] = H[k]! + h[r]!;
  }
  // Prefix sums over the grid: S[i][j] = Σ cells with row < i and column < j.
  const SG = new Float64Array((nA + 1) * (nB + 1));
  const SH = new Float64Array((nA + 1) * (nB + 1));
  const at = (i: number, j: number) => i * (nB + 1) + j;
  for (let i = 1; i <= nA; i++)
    for (let j = 1; j <= nB; j++) {
      SG[at(i, j)] = G[(i - 1) * nB + (j - 1)]! + SG[at(i - 1, j)]! + SG[at(i, j - 1)]! - SG[at(i - 1, j - 1)]!;
      SH[at(i, j)] = H[(i - 1) * nB + (j - 1)]! + SH[at(i - 1, j)]! + SH[at(i, j - 1)]! - SH[at(i - 1, j - 1)]!;
    }
  const gT = SG[at(nA, nB)]!;
  const hT = SH[at(nA, nB)]!;
  const score = (gs: number, hs: number) => (gs * gs) / (hs + l2);
  let best = 0;
  for (let i = 1; i < nA; i++)
    for (let j = 1; j < nB; j++) {
      const g00 = SG[at(i, j)]!;
      const h00 = SH[at(i, j)]!;
      const g0x = SG[at(i, nB)]!;
      const h0x = SH[at(i, nB)]!;
      const gx0 = SG[at(nA, j)]!;
      const hx0 = SH[at(nA, j)]!;
      const gain =
        score(g00, h00) + score(g0x - g00, h0x - h00) + score(gx0 - g00, hx0 - h00) + score(gT - g0x - gx0 + g00, hT - h0x - hx0 + h00) - score(gT, hT);
      if (gain > best) best = gain;
    }
  return best;
}

/** Fit an explainable boosting model on the listed rows (labels 1 = churned) over the listed features. */
export function fitShapes(data: BinnedColumns, churned: ArrayLike<number>, rows: ArrayLike<number>, features: number[], options: ShapeOptions = {}): ShapeModel {
  const o: Required<ShapeOptions> = {
    learningRate: options.learningRate ?? 0.5,
    maxRounds: options.maxRounds ?? 50,
    l2: options.l2 ?? 2,
    maxInteractions: options.maxInteractions ?? 3,
    minPairGain: options.minPairGain ?? 30,
    pairBins: options.pairBins ?? 5,
    monotoneSlack: options.monotoneSlack ?? 1.5,
  };
  const y = Float64Array.from({ length: rows.length }, (_, r) => churned[rows[r]!]!);
  const positives = y.reduce((s, v) => s + v, 0);
  const rate = Math.min(1 - 1e-6, Math.max(1e-6, positives / Math.max(1, y.length)));
  const booster = new Booster(data, y, rows, Math.log(rate / (1 - rate)), o);
  for (const f of features) booster.add({ kind: 'main', feature: f, values: new Float64Array(data.bins[f]!), monotone: null });
  const mains = features.map((_, t) => t);
  booster.boost(mains);

  // Monotone unless the data says otherwise.
  for (const t of mains) {
    const term = booster.terms[t] as MainTerm;
    const { H } = booster.sums(t);
    const weights = Array.from(H, (h) => h + 1e-9);
    const cost = (fitted: number[]) => fitted.reduce((s, f, k) => s + H[k]! * (f - term.values[k]!) ** 2, 0);
    const up = isotonic(term.values, weights, 'increasing');
    const down = isotonic(term.values, weights, 'decreasing');
    const [fitted, direction] = cost(up) <= cost(down) ? [up, 'increasing' as const] : [down, 'decreasing' as const];
    if (cost(fitted) <= o.monotoneSlack * (term.values.length - 1) + 8) {
      term.monotone = direction;
      booster.shift(t, Float64Array.from(fitted, (f, k) => f - term.values[k]!));
    }
  }

  // Interactions: FAST scan of the residuals, the strongest pairs boosted as their own grids.
  if (o.maxInteractions > 0 && features.length >= 2) {
    const g = new Float64Array(rows.length);
    const h = new Float64Array(rows.length);
    for (let r = 0; r < rows.length; r++) {
      const p = sigmoid(booster.margin[r]!);
      g[r] = y[r]! - p;
      h[r] = p * (1 - p);
    }
    const groups = mains.map((t) => {
      const counts = new Float64Array(data.bins[features[t]!]!);
      for (const k of booster.cells[t]!) if (k >= 0) counts[k] = counts[k]! + 1;
      return coarsen(counts, o.pairBins);
    });
    const gains: { a: number; b: number; gain: number }[] = [];
    for (let a = 0; a < mains.length; a++)
      for (let b = a + 1; b < mains.length; b++) {
        if (groups[a]!.n < 2 || groups[b]!.n < 2) continue;
        const gain = pairGain(booster.cells[a]!, booster.cells[b]!, groups[a]!.group, groups[b]!.group, groups[a]!.n, groups[b]!.n, g, h, o.l2);
        if (gain >= o.minPairGain) gains.push({ a, b, gain });
      }
    gains.sort((x, z) => z.gain - x.gain || x.a - z.a || x.b - z.b);
    const pairs: number[] = [];
    for (const { a, b } of gains.slice(0, o.maxInteractions)) {
      const [ga, gb] = [groups[a]!, groups[b]!];
      booster.add({ kind: 'pair', a: features[a]!, b: features[b]!, groupA: ga.group, groupB: gb.group, nA: ga.n, nB: gb.n, values: new Float64Array(ga.n * gb.n) });
      pairs.push(booster.terms.length - 1);
    }
    booster.boost([...mains, ...pairs]);
  } else booster.boost(mains);

  return { intercept: Math.log(rate / (1 - rate)), terms: booster.terms, importance: booster.terms.map((_, t) => booster.importance(t)) };
}
