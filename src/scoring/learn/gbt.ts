import { sigmoid } from './logistic.js';

/**
 * A small gradient-boosted tree model (logistic loss, Newton leaves, shallow
 * trees on binned features), fitted only as a reference: how far an
 * unconstrained, unexplainable model gets on the same features and folds.
 * Pure: no I/O.
 */

/** Binned features in column form: per feature and observation a bin 0..bins−1, or −1 when missing. */
export interface BinnedColumns {
  bins: number[];
  columns: Int16Array[];
}

export interface TreeOptions {
  /** Trees (default 150). */
  trees?: number;
  /** Depth of each tree (default 3). */
  depth?: number;
  /** Shrinkage (default 0.1). */
  learningRate?: number;
  /** Smallest hessian sum of a leaf (default 2). */
  minLeafHessian?: number;
  /** L2 penalty on leaf values (default 1). */
  l2?: number;
}

/** A split node: bin ≤ threshold (or missing, when missingLeft) goes left. A leaf has feature −1. */
interface Node {
  feature: number;
  threshold: number;
  missingLeft: boolean;
  left: number;
  right: number;
  value: number;
}

export interface BoostedTrees {
  base: number;
  trees: Node[][];
}

/** Fit on the listed rows; labels 1 = churned. */
export function fitBoostedTrees(data: BinnedColumns, churned: ArrayLike<number>, rows: ArrayLike<number>, options: TreeOptions = {}): BoostedTrees {
  const trees = options.trees ?? 150;
  const depth = options.depth ?? 3;
  const lr = options.learningRate ?? 0.1;
  const minH = options.minLeafHessian ?? 2;
  const l2 = options.l2 ?? 1;
  const n = rows.length;
  let positives = 0;
  for (let r = 0; r < n; r++) positives += churned[rows[r]!]!;
  const rate = Math.min(1 - 1e-6, Math.max(1e-6, positives / Math.max(1, n)));
  const base = Math.log(rate / (1 - rate));
  const margin = new Float64Array(n).fill(base);
  const g = new Float64Array(n);
  const h = new Float64Array(n);
  const model: BoostedTrees = { base, trees: [] };
  // Histogram layout: feature f's bins (and its missing bin, last) at offset[f].
  const offset: number[] = [];
  let width = 0;
  for (const b of data.bins) {
    offset.push(width);
    width += b + 1;
  }
  const leafOf = new Int32Array(n);
  const features = data.columns.length;
  const binAt = data.columns.map((column, f) => Int16Array.from({ length: n }, (_, r) => (column[rows[r]!]! < 0 ? data.bins[f]! : column[rows[r]!]!)));
  for (let t = 0; t < trees; t++) {
    for (let r = 0; r < n; r++) {
      const p = sigmoid(margin[r]!);
      g[r] = churned[rows[r]!]! - p;
      h[r] = Math.max(p * (1 - p), 1e-12);
    }
    const nodes: Node[] = [{ feature: -1, threshold: 0, missingLeft: false, left: -1, right: -1, value: 0 }];
    leafOf.fill(0);
    let frontier = [0];
    for (let level = 0; level <= depth && frontier.length > 0; level++) {
      // One pass over the rows fills the histograms of every node of this level.
      const slot = new Map(frontier.map((node, k) => [node, k]));
      const G = new Float64Array(frontier.length * width);
      const H = new Float64Array(frontier.length * width);
      const gTot = new Float64Array(frontier.length);
      const hTot = new Float64Array(frontier.length);
      for (let r = 0; r < n; r++) {
        const k = slot.get(leafOf[r]!);
        if (k === undefined) continue;
        gTot[k] = gTot[k]! + g[r]!;
        hTot[k] = hTot[k]! + h[r]!;
        if (level === depth) continue;
        const base = k * width;
        for (let f = 0; f < features; f++) {
          const at = base + offset[f]! + binAt[f]![r]!;
          G[at] = G[at]! + g[r]!;
          H[at] = H[at]! + h[r]!;
        }
      }
      const next: number[] = [];
      frontier.forEach((node, k) => {
        const leaf = () => void (nodes[node]!.value = (lr * gTot[k]!) / (hTot[k]! + l2));
        if (level === depth) return leaf();
        const parentGain = (gTot[k]! * gTot[k]!) / (hTot[k]! + l2);
        let best = { gain: 1e-9, feature: -1, threshold: 0, missingLeft: false };
        for (let f = 0; f < features; f++) {
          const b = data.bins[f]!;
          const base = k * width + offset[f]!;
          const gMiss = G[base + b]!;
          const hMiss = H[base + b]!;
          let gl = 0;
          let hl = 0;
          for (let bin = 0; bin < b - 1; bin++) {
            gl += G[base + bin]!;
            hl += H[base + bin]!;
            for (let m = 0; m < (hMiss > 0 ? 2 : 1); m++) {
              const missingLeft = m === 1;
              const gL = gl + (missingLeft ? gMiss : 0);
              const hL = hl + (missingLeft ? hMiss : 0);
              const gR = gTot[k]! - gL;
              const hR = hTot[k]! - hL;
              if (hL < minH || hR < minH) continue;
              const gain = (gL * gL) / (hL + l2) + (gR * gR) / (hR + l2) - parentGain;
              if (gain > best.gain) best = { gain, feature: f, threshold: bin, missingLeft };
            }
          }
        }
        if (best.feature < 0) return leaf();
        const left = nodes.push({ feature: -1, threshold: 0, missingLeft: false, left: -1, right: -1, value: 0 }) - 1;
        const right = nodes.push({ feature: -1, threshold: 0, missingLeft: false, left: -1, right: -1, value: 0 }) - 1;
        Object.assign(nodes[node]!, { feature: best.feature, threshold: best.threshold, missingLeft: best.missingLeft, left, right });
        next.push(left, right);
      });
      // Rows move to their child.
      for (let r = 0; r < n; r++) {
        const node = nodes[leafOf[r]!]!;
        if (node.feature < 0) continue;
        const bin = binAt[node.feature]![r]!;
        const missing = bin === data.bins[node.feature]!;
        leafOf[r] = (missing ? node.missingLeft : bin <= node.threshold) ? node.left : node.right;
      }
      frontier = next;
    }
    for (let r = 0; r < n; r++) margin[r] = margin[r]! + nodes[leafOf[r]!]!.value;
    model.trees.push(nodes);
  }
  return model;
}

/** Log-odds of churn of one observation. */
export function predictTrees(model: BoostedTrees, data: BinnedColumns, i: number): number {
  let margin = model.base;
  for (const nodes of model.trees) {
    let k = 0;
    for (;;) {
      const node = nodes[k]!;
      if (node.feature < 0) {
        margin += node.value;
        break;
      }
      const bin = data.columns[node.feature]![i]!;
      k = (bin < 0 ? node.missingLeft : bin <= node.threshold) ? node.left : node.right;
    }
  }
  return margin;
}
