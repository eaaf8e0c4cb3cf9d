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
  const maxBins = Math.max(1, ...data.bins) + 1; // + the missing bin
  const G = new Float64Array(maxBins);
  const H = new Float64Array(maxBins);
  const leafOf = new Int32Array(n);
  for (let t = 0; t < trees; t++) {
    for (let r = 0; r < n; r++) {
      const p = sigmoid(margin[r]!);
      g[r] = churned[rows[r]!]! - p;
      h[r] = Math.max(p * (1 - p), 1e-12);
    }
    const nodes: Node[] = [{ feature: -1, threshold: 0, missingLeft: false, left: -1, right: -1, value: 0 }];
    leafOf.fill(0);
    let frontier = [0];
    for (let level = 0; level < depth && frontier.length > 0; level++) {
      const next: number[] = [];
      for (const node of frontier) {
        let gTot = 0;
        let hTot = 0;
        for (let r = 0; r < n; r++)
          if (leafOf[r] === node) {
            gTot += g[r]!;
            hTot += h[r]!;
          }
        const parentGain = (gTot * gTot) / (hTot + l2);
        let best = { gain: 1e-9, feature: -1, threshold: 0, missingLeft: false };
        data.columns.forEach((column, f) => {
          const b = data.bins[f]!;
          G.fill(0, 0, b + 1);
          H.fill(0, 0, b + 1);
          for (let r = 0; r < n; r++)
            if (leafOf[r] === node) {
              const bin = column[rows[r]!]!;
              const k = bin < 0 ? b : bin;
              G[k] = G[k]! + g[r]!;
              H[k] = H[k]! + h[r]!;
            }
          const gMiss = G[b]!;
          const hMiss = H[b]!;
          let gl = 0;
          let hl = 0;
          for (let k = 0; k < b - 1; k++) {
            gl += G[k]!;
            hl += H[k]!;
            for (const missingLeft of hMiss > 0 ? [false, true] : [false]) {
              const gL = gl + (missingLeft ? gMiss : 0);
              const hL = hl + (missingLeft ? hMiss : 0);
              const gR = gTot - gL;
              const hR = hTot - hL;
              if (hL < minH || hR < minH) continue;
              const gain = (gL * gL) / (hL + l2) + (gR * gR) / (hR + l2) - parentGain;
              if (gain > best.gain) best = { gain, feature: f, threshold: k, missingLeft };
            }
          }
        });
        if (best.feature < 0) {
          nodes[node]!.value = (lr * gTot) / (hTot + l2);
          continue;
        }
        const left = nodes.push({ feature: -1, threshold: 0, missingLeft: false, left: -1, right: -1, value: 0 }) - 1;
        const right = nodes.push({ feature: -1, threshold: 0, missingLeft: false, left: -1, right: -1, value: 0 }) - 1;
        Object.assign(nodes[node]!, { feature: best.feature, threshold: best.threshold, missingLeft: best.missingLeft, left, right });
        const column = data.columns[best.feature]!;
        for (let r = 0; r < n; r++)
          if (leafOf[r] === node) {
            const bin = column[rows[r]!]!;
            leafOf[r] = (bin < 0 ? best.missingLeft : bin <= best.threshold) ? left : right;
          }
        next.push(left, right);
      }
      frontier = next;
    }
    // Leaves at the last level get their Newton value.
    for (const node of frontier) {
      let gTot = 0;
      let hTot = 0;
      for (let r = 0; r < n; r++)
        if (leafOf[r] === node) {
          gTot += g[r]!;
          hTot += h[r]!;
        }
      nodes[node]!.value = (lr * gTot) / (hTot + l2);
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
