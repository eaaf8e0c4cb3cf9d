import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { mulberry32 } from '../../../src/scoring/learn/folds.js';
import { choleskySolve, fitLogistic, sigmoid } from '../../../src/scoring/learn/logistic.js';

/** Gradient of Σ wᵢ [log(1 + e^η) − yη] + (l2/2)‖β‖² at (b0, b): the penalised score equations. */
function gradient(X: number[][], y: number[], b0: number, b: number[], l2: number, w?: number[]) {
  const g = [0, ...b.map((bj) => l2 * bj)];
  X.forEach((row, i) => {
    const r = (w?.[i] ?? 1) * (sigmoid(b0 + row.reduce((s, x, j) => s + x * b[j]!, 0)) - y[i]!);
    g[0]! += r;
    row.forEach((x, j) => (g[j + 1]! += r * x));
  });
  return g;
}

/** The penalised negative log-likelihood itself. */
function objective(X: number[][], y: number[], b0: number, b: number[], l2: number) {
  let f = (l2 / 2) * b.reduce((s, bj) => s + bj * bj, 0);
  X.forEach((row, i) => {
    const eta = b0 + row.reduce((s, x, j) => s + x * b[j]!, 0);
    f += Math.log1p(Math.exp(eta)) - y[i]! * eta;
  });
  return f;
}

/** Slow reference: plain gradient descent with a fixed small step, many iterations. */
function gradientDescent(X: number[][], y: number[], l2: number) {
  const d = X[0]!.length;
  let b0 = 0;
  let b = Array<number>(d).fill(0);
  const step = 1 / (X.length / 4 + l2) / 2;
  for (let it = 0; it < 60_000; it++) {
    const g = gradient(X, y, b0, b, l2);
    b0 -= step * g[0]!;
    b = b.map((bj, j) => bj - step * g[j + 1]!);
  }
  return { b0, b };
}

function simulate(n: number, truth: { intercept: number; coefficients: number[] }, seed: number) {
  const random = mulberry32(seed);
  const normal = () => Math.sqrt(-2 * Math.log(1 - random())) * Math.cos(2 * Math.PI * random());
  const X = Array.from({ length: n }, () => truth.coefficients.map(() => normal()));
  const y = X.map((row) => (random() < sigmoid(truth.intercept + row.reduce((s, x, j) => s + x * truth.coefficients[j]!, 0)) ? 1 : 0));
  return { X, y };
}

const smallProblem = fc.record({
  n: fc.integer({ min: 8, max: 40 }),
  d: fc.integer({ min: 1, max: 3 }),
  l2: fc.double({ min: 0.1, max: 5, noNaN: true }),
  seed: fc.integer({ min: 1, max: 1_000_000 }),
});

describe('L2 logistic regression (Newton)', () => {
  it('solves the penalised score equations: the gradient is ≈ 0 at the solution', () => {
    fc.assert(
      fc.property(smallProblem, fc.boolean(), ({ n, d, l2, seed }, weighted) => {
        const random = mulberry32(seed);
        const X = Array.from({ length: n }, () => Array.from({ length: d }, () => random() * 4 - 2));
        const y = X.map((row) => (random() < sigmoid(row[0]!) ? 1 : 0));
        const w = weighted ? X.map(() => 0.2 + random() * 3) : undefined;
        const fit = fitLogistic(X, y, { l2, ...(w ? { sampleWeights: w } : {}) });
        expect(fit.converged).toBe(true);
        for (const g of gradient(X, y, fit.intercept, fit.coefficients, l2, w)) expect(Math.abs(g)).toBeLessThan(1e-6);
      }),
      { numRuns: 150 },
    );
  });

  it('agrees with slow gradient descent on small data, and never ends at a worse objective', () => {
    let compared = 0;
    fc.assert(
      fc.property(smallProblem, ({ n, d, l2, seed }) => {
        const random = mulberry32(seed);
        const X = Array.from({ length: n }, () => Array.from({ length: d }, () => random() * 2 - 1));
        const y = X.map(() => (random() < 0.4 ? 1 : 0));
        const fit = fitLogistic(X, y, { l2 });
        const ref = gradientDescent(X, y, l2);
        expect(objective(X, y, fit.intercept, fit.coefficients, l2)).toBeLessThanOrEqual(objective(X, y, ref.b0, ref.b, l2) + 1e-9);
        // Where the slow reference has itself converged (nearly separable data can stall it), the answers agree.
        if (gradient(X, y, ref.b0, ref.b, l2).every((g) => Math.abs(g) < 1e-7)) {
          compared++;
          expect(fit.intercept).toBeCloseTo(ref.b0, 5);
          fit.coefficients.forEach((b, j) => expect(b).toBeCloseTo(ref.b[j]!, 5));
        }
      }),
      { numRuns: 15, seed: 20261130 },
    );
    expect(compared).toBeGreaterThan(10);
  });

  it('recovers known coefficients on large simulated data', () => {
    const truth = { intercept: -1.2, coefficients: [0.8, -0.5, 0, 1.5] };
    const { X, y } = simulate(60_000, truth, 42);
    const fit = fitLogistic(X, y, { l2: 0.01 });
    expect(fit.converged).toBe(true);
    expect(fit.intercept).toBeCloseTo(truth.intercept, 1);
    fit.coefficients.forEach((b, j) => expect(Math.abs(b - truth.coefficients[j]!)).toBeLessThan(0.05));
  });

  it('a Hessian from a sample of rows reaches the same solution (the gradient always uses every row)', () => {
    const { X, y } = simulate(5000, { intercept: -0.5, coefficients: [0.7, -0.4, 0.2] }, 9);
    const full = fitLogistic(X, y, { l2: 0.5, hessianRows: 1e9 });
    const sampled = fitLogistic(X, y, { l2: 0.5, hessianRows: 97 });
    expect(sampled.converged).toBe(true);
    expect(sampled.intercept).toBeCloseTo(full.intercept, 7);
    sampled.coefficients.forEach((b, j) => expect(b).toBeCloseTo(full.coefficients[j]!, 7));
    for (const g of gradient(X, y, sampled.intercept, sampled.coefficients, 0.5)) expect(Math.abs(g) / X.length).toBeLessThan(1e-8);
  });

  it('the penalty shrinks coefficients but not the intercept', () => {
    const { X, y } = simulate(2000, { intercept: 1, coefficients: [1, -1] }, 7);
    const loose = fitLogistic(X, y, { l2: 0 });
    const tight = fitLogistic(X, y, { l2: 1e6 });
    expect(Math.abs(tight.coefficients[0]!)).toBeLessThan(0.01);
    expect(Math.abs(loose.coefficients[0]!)).toBeGreaterThan(0.5);
    // With the coefficients pinned near 0 the intercept is the base rate's log-odds.
    const rate = y.reduce((s: number, v) => s + v, 0) / y.length;
    expect(tight.intercept).toBeCloseTo(Math.log(rate / (1 - rate)), 2);
  });

  it('stays finite on separable data, with or without a penalty', () => {
    const X = [[-2], [-1], [-0.5], [0.5], [1], [2]];
    const y = [0, 0, 0, 1, 1, 1];
    const free = fitLogistic(X, y, { l2: 0, maxIterations: 200 });
    expect(Number.isFinite(free.intercept) && Number.isFinite(free.coefficients[0]!)).toBe(true);
    expect(free.coefficients[0]!).toBeGreaterThan(5);
    const ridge = fitLogistic(X, y, { l2: 1 });
    expect(ridge.converged).toBe(true);
    for (const g of gradient(X, y, ridge.intercept, ridge.coefficients, 1)) expect(Math.abs(g)).toBeLessThan(1e-6);
    // All one class and a duplicated column: still finite.
    const dup = fitLogistic(
      [
        [1, 1],
        [2, 2],
        [3, 3],
      ],
      [1, 1, 1],
      { l2: 0 },
    );
    expect([dup.intercept, ...dup.coefficients].every(Number.isFinite)).toBe(true);
  });

  it('Cholesky solves a symmetric positive-definite system and refuses an indefinite one', () => {
    const A = Float64Array.from([4, 2, 0.4, 2, 5, 1, 0.4, 1, 3]);
    const x = choleskySolve(A, Float64Array.from([1, 2, 3]), 3)!;
    for (let i = 0; i < 3; i++) expect(A[i * 3]! * x[0]! + A[i * 3 + 1]! * x[1]! + A[i * 3 + 2]! * x[2]!).toBeCloseTo([1, 2, 3][i]!, 12);
    expect(choleskySolve(Float64Array.from([1, 2, 2, 1]), Float64Array.from([1, 1]), 2)).toBeNull();
  });
});
