/**
 * L2-regularised logistic regression by damped Newton (IRLS) with a
 * backtracking line search. Minimises
 *   Σ wᵢ [log(1 + e^ηᵢ) − yᵢ ηᵢ] + (l2 / 2) Σⱼ βⱼ²,  ηᵢ = β₀ + Σⱼ βⱼ xᵢⱼ
 * (the intercept β₀ is not penalised). Stable on separable data: the
 * objective is evaluated without overflow and a singular Hessian is damped.
 */

export interface LogisticOptions {
  /** Ridge penalty on the coefficients (not the intercept); ≥ 0. */
  l2: number;
  /** Per-observation weights (default 1). */
  sampleWeights?: ArrayLike<number>;
  /** Newton steps at most (default 100). */
  maxIterations?: number;
  /** Converged when max |gradient| ≤ tolerance × Σ weights (default 1e-9). */
  tolerance?: number;
  /**
   * Rows the Hessian is computed on at most (default 20,000): beyond that an evenly spaced sample,
   * scaled up. The gradient always uses every row, so the solution is the same; only the path differs.
   */
  hessianRows?: number;
}

export interface LogisticFit {
  intercept: number;
  coefficients: number[];
  converged: boolean;
  iterations: number;
}

/** log(1 + e^x) without overflow. */
export const softplus = (x: number) => (x > 0 ? x + Math.log1p(Math.exp(-x)) : Math.log1p(Math.exp(x)));

/** The logistic function 1 / (1 + e^−x), without overflow. */
export const sigmoid = (x: number) => (x >= 0 ? 1 / (1 + Math.exp(-x)) : Math.exp(x) / (1 + Math.exp(x)));

/** Fit on rows X (n × d) and labels y ∈ {0, 1}. */
export function fitLogistic(X: number[][], y: ArrayLike<number>, options: LogisticOptions): LogisticFit {
  const d = X[0]?.length ?? 0;
  const columns = Array.from({ length: d }, () => new Float64Array(X.length));
  X.forEach((row, i) => {
    if (row.length !== d) throw new RangeError(`row ${i} has ${row.length} values, expected ${d}`);
    row.forEach((v, j) => (columns[j]![i] = v));
  });
  return fitLogisticColumns(columns, y, options);
}

/**
 * Solve A x = b for a symmetric positive-definite A (row-major p × p) by Cholesky;
 * null when A is not numerically positive definite.
 */
export function choleskySolve(A: Float64Array, b: Float64Array, p: number): Float64Array | null {
  const L = new Float64Array(p * p);
  for (let i = 0; i < p; i++) {
    for (let j = 0; j <= i; j++) {
      let s = A[i * p + j]!;
      for (let k = 0; k < j; k++) s -= L[i * p + k]! * L[j * p + k]!;
      if (i === j) {
        if (!(s > 0) || !Number.isFinite(s)) return null;
        L[i * p + i] = Math.sqrt(s);
      } else L[i * p + j] = s / L[j * p + j]!;
    }
  }
  const z = new Float64Array(p);
  for (let i = 0; i < p; i++) {
    let s = b[i]!;
    for (let k = 0; k < i; k++) s -= L[i * p + k]! * z[k]!;
    z[i] = s / L[i * p + i]!;
  }
  const x = new Float64Array(p);
  for (let i = p - 1; i >= 0; i--) {
    let s = z[i]!;
    for (let k = i + 1; k < p; k++) s -= L[k * p + i]! * x[k]!;
    x[i] = s / L[i * p + i]!;
  }
  return x;
}

/** Same fit on feature columns (d arrays of n), optionally warm-started; what fit.ts uses on large data. */
export function fitLogisticColumns(
  columns: ArrayLike<number>[],
  y: ArrayLike<number>,
  options: LogisticOptions & { start?: { intercept: number; coefficients: number[] } },
): LogisticFit {
  const n = y.length;
  const d = columns.length;
  // Monomorphic typed arrays keep the inner loops fast whatever the caller passes.
  const cols = columns.map((c) => (c instanceof Float64Array ? c : Float64Array.from(c)));
  const labels = y instanceof Float64Array ? y : Float64Array.from(y);
  const p = d + 1;
  const { l2 } = options;
  const maxIterations = options.maxIterations ?? 100;
  const tolerance = options.tolerance ?? 1e-9;
  if (!(l2 >= 0)) throw new RangeError(`l2 must be ≥ 0, got ${l2}`);
  for (const c of cols) if (c.length !== n) throw new RangeError('every column needs one value per label');
  const w = new Float64Array(n);
  let totalWeight = 0;
  let weightedY = 0;
  for (let i = 0; i < n; i++) {
    const wi = options.sampleWeights ? options.sampleWeights[i]! : 1;
    if (!(wi >= 0) || !Number.isFinite(wi)) throw new RangeError(`sampleWeights[${i}] must be finite and ≥ 0`);
    if (labels[i] !== 0 && labels[i] !== 1) throw new RangeError(`y[${i}] must be 0 or 1`);
    w[i] = wi;
    totalWeight += wi;
    weightedY += wi * labels[i]!;
  }
  if (n === 0 || totalWeight === 0) return { intercept: 0, coefficients: new Array<number>(d).fill(0), converged: false, iterations: 0 };

  // β[0] is the intercept; start from the base rate's log-odds unless warm-started.
  const beta = new Float64Array(p);
  if (options.start) {
    beta[0] = options.start.intercept;
    options.start.coefficients.forEach((c, j) => (beta[j + 1] = c));
  } else {
    const rate = Math.min(Math.max(weightedY / totalWeight, 1e-6), 1 - 1e-6);
    beta[0] = Math.log(rate / (1 - rate));
  }

  const eta = new Float64Array(n);
  const computeEta = (b: Float64Array, out: Float64Array) => {
    out.fill(b[0]!);
    for (let j = 0; j < d; j++) {
      const bj = b[j + 1]!;
      if (bj === 0) continue;
      const col = cols[j]!;
      for (let i = 0; i < n; i++) out[i] = out[i]! + bj * col[i]!;
    }
  };
  const objective = (b: Float64Array, e: Float64Array) => {
    let f = 0;
    for (let i = 0; i < n; i++) if (w[i]! > 0) f += w[i]! * (softplus(e[i]!) - labels[i]! * e[i]!);
    let pen = 0;
    for (let j = 1; j < p; j++) pen += b[j]! * b[j]!;
    return f + (l2 / 2) * pen;
  };

  computeEta(beta, eta);
  let f = objective(beta, eta);
  const gradient = new Float64Array(p);
  const hessian = new Float64Array(p * p);
  const resid = new Float64Array(n);
  const curv = new Float64Array(n);
  // The Hessian's rows: all of them, or every stride-th (the same rows every iteration), row-major.
  const stride = Math.max(1, Math.ceil(n / Math.max(1, options.hessianRows ?? 20_000)));
  const sampled = Math.ceil(n / stride);
  const scale = n / sampled;
  const rowMajor = new Float64Array(sampled * d);
  for (let j = 0; j < d; j++) {
    const col = cols[j]!;
    for (let r = 0; r < sampled; r++) rowMajor[r * d + j] = col[r * stride]!;
  }
  const trial = new Float64Array(p);
  const trialEta = new Float64Array(n);
  let converged = false;
  let iterations = 0;

  for (; iterations < maxIterations; iterations++) {
    // Gradient of the penalised objective; the Hessian only when another step is needed.
    let g0 = 0;
    for (let i = 0; i < n; i++) {
      const pi = sigmoid(eta[i]!);
      resid[i] = w[i]! * (pi - labels[i]!);
      curv[i] = w[i]! * pi * (1 - pi);
      g0 += resid[i]!;
    }
    gradient[0] = g0;
    for (let j = 0; j < d; j++) {
      const col = cols[j]!;
      let g = 0;
      for (let i = 0; i < n; i++) g += resid[i]! * col[i]!;
      gradient[j + 1] = g + l2 * beta[j + 1]!;
    }
    let gmax = 0;
    for (let j = 0; j < p; j++) gmax = Math.max(gmax, Math.abs(gradient[j]!));
    if (gmax <= tolerance * totalWeight) {
      converged = true;
      break;
    }
    // Hessian accumulated row by row (rows stay in cache; the upper triangle only).
    hessian.fill(0);
    for (let r = 0; r < sampled; r++) {
      const c = curv[r * stride]! * scale;
      if (c === 0) continue;
      const base = r * d;
      hessian[0] = hessian[0]! + c;
      for (let j = 0; j < d; j++) {
        const cj = c * rowMajor[base + j]!;
        const hj = (j + 1) * p;
        hessian[j + 1] = hessian[j + 1]! + cj;
        for (let k = j; k < d; k++) hessian[hj + k + 1] = hessian[hj + k + 1]! + cj * rowMajor[base + k]!;
      }
    }
    for (let j = 0; j < p; j++) {
      if (j > 0) hessian[j * p + j] = hessian[j * p + j]! + l2;
      for (let k = j + 1; k < p; k++) hessian[k * p + j] = hessian[j * p + k]!;
    }

    // Newton direction, damped (Levenberg) when the Hessian is (near) singular, as on separable data.
    let trace = 0;
    for (let j = 0; j < p; j++) trace += hessian[j * p + j]!;
    let damping = 0;
    let step: Float64Array | null = null;
    for (let attempt = 0; attempt < 40 && !step; attempt++) {
      const H = damping === 0 ? hessian : hessian.map((v, idx) => (idx % (p + 1) === 0 ? v + damping : v));
      step = choleskySolve(H, gradient, p);
      damping = damping === 0 ? Math.max(trace / p, 1e-300) * 1e-12 : damping * 10;
    }
    if (!step) break;

    // Backtracking (Armijo) line search along −step.
    let slope = 0;
    for (let j = 0; j < p; j++) slope += gradient[j]! * step[j]!;
    // Newton decrement ≈ 2 (f − min f): once it is below what summing the objective can resolve, take
    // the full Newton step (locally quadratic) and stop; a line search would only see rounding noise.
    if (slope / 2 <= 1e-15 * totalWeight) {
      for (let j = 0; j < p; j++) beta[j] = beta[j]! - step[j]!;
      converged = true;
      iterations++;
      break;
    }
    let t = 1;
    let accepted = false;
    for (let halvings = 0; halvings < 50; halvings++, t /= 2) {
      for (let j = 0; j < p; j++) trial[j] = beta[j]! - t * step[j]!;
      computeEta(trial, trialEta);
      const ft = objective(trial, trialEta);
      if (ft <= f - 1e-4 * t * slope) {
        beta.set(trial);
        eta.set(trialEta);
        f = ft;
        accepted = true;
        break;
      }
    }
    if (!accepted) {
      // No further decrease is representable: as converged as floating point allows.
      converged = gmax <= Math.sqrt(tolerance) * totalWeight;
      break;
    }
  }
  return { intercept: beta[0]!, coefficients: Array.from(beta.subarray(1)), converged, iterations };
}
