/**
 * BENCH_SCALE multiplies the dataset sizes of the ingest and scoring sections
 * (default 1: the sizes of the issues). `BENCH_SCALE=0.1` gives a quick run.
 */
export const SCALE = (() => {
  const raw = process.env.BENCH_SCALE;
  if (raw === undefined || raw === '') return 1;
  const value = Number(raw);
  if (!Number.isFinite(value) || value <= 0 || value > 10) throw new Error(`BENCH_SCALE must be a number in (0, 10], got "${raw}"`);
  return value;
})();

/** `n` times BENCH_SCALE, rounded to a multiple of `step` (at least one step). */
export const scaled = (n: number, step = 1) => Math.max(step, Math.round((n * SCALE) / step) * step);

export const fmt = (n: number) => Math.round(n).toLocaleString('en-US');
export const round = (value: number, digits: number) => Number(value.toFixed(digits));
export const seconds = (startedMs: number) => (performance.now() - startedMs) / 1000;
