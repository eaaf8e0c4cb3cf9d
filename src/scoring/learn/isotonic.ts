/**
 * Weighted isotonic regression by pool-adjacent-violators: the monotone
 * sequence minimising Σ wᵢ (fᵢ − valuesᵢ)²; O(n).
 */

/** Weighted least-squares monotone fit of `values` (weights > 0) in the given direction. */
export function isotonic(values: ArrayLike<number>, weights: ArrayLike<number>, direction: 'increasing' | 'decreasing'): number[] {
  const n = values.length;
  if (weights.length !== n) throw new RangeError(`values has ${n} entries, weights ${weights.length}`);
  const sign = direction === 'increasing' ? 1 : -1;
  const mean = new Float64Array(n);
  const weight = new Float64Array(n);
  const size = new Uint32Array(n);
  let top = -1;
  for (let i = 0; i < n; i++) {
    const w = weights[i]!;
    const v = values[i]!;
    if (!(w > 0) || !Number.isFinite(w)) throw new RangeError(`weights[${i}] must be positive and finite, got ${w}`);
    if (!Number.isFinite(v)) throw new RangeError(`values[${i}] must be finite, got ${v}`);
    top++;
    mean[top] = sign * v;
    weight[top] = w;
    size[top] = 1;
    while (top > 0 && mean[top - 1]! > mean[top]!) {
      const w2 = weight[top - 1]! + weight[top]!;
      mean[top - 1] = (weight[top - 1]! * mean[top - 1]! + weight[top]! * mean[top]!) / w2;
      weight[top - 1] = w2;
      size[top - 1] = size[top - 1]! + size[top]!;
      top--;
    }
  }
  const fitted: number[] = [];
  for (let b = 0; b <= top; b++) for (let k = 0; k < size[b]!; k++) fitted.push(sign * mean[b]!);
  return fitted;
}
