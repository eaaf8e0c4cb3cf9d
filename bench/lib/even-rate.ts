import { setTimeout as sleep } from 'node:timers/promises';
import { Pool } from 'undici';
import type { LoadFigures, Target } from './load.js';

/**
 * An open-loop load at an even rate: request i is due at start + i / rate and
 * is sent then, whatever happened to the earlier ones (autocannon's
 * overallRate instead sends each second's share in a burst as the second
 * starts). Latency runs from the due time, not the send time, so a client that
 * falls behind counts the wait against the server (no coordinated omission).
 * The timer fires at millisecond granularity: requests due within the same
 * millisecond leave together.
 */
export async function evenRate(target: Target, rate: number, seconds: number, connections: number): Promise<LoadFigures> {
  const origin = new URL(target.url).origin;
  const pool = new Pool(origin, { connections, pipelining: 1, keepAliveTimeout: 30_000 });
  const total = Math.round(rate * seconds);
  const interval = 1000 / rate;
  const latencies: number[] = [];
  let failures = 0;
  const inflight: Promise<void>[] = [];
  const send = async (due: number) => {
    try {
      const response = await pool.request({ method: 'GET', path: target.path(), headers: target.headers ?? {} });
      await response.body.dump();
      if (response.statusCode >= 200 && response.statusCode < 300) latencies.push(performance.now() - due);
      else failures++;
    } catch {
      failures++;
    }
  };
  const start = performance.now() + 20;
  let i = 0;
  try {
    while (i < total) {
      const now = performance.now();
      while (i < total && start + i * interval <= now) inflight.push(send(start + i++ * interval));
      if (i < total) await sleep(Math.max(0, start + i * interval - performance.now()));
    }
    await Promise.all(inflight);
  } finally {
    await pool.close();
  }
  const elapsed = (performance.now() - start) / 1000;
  latencies.sort((a, b) => a - b);
  const at = (p: number) => (latencies.length ? latencies[Math.min(latencies.length - 1, Math.ceil(p * latencies.length) - 1)]! : Number.NaN);
  return { requestsPerSecond: latencies.length / elapsed, p50Ms: at(0.5), p99Ms: at(0.99), failures };
}

/** evenRate over the targets in alternating rounds, as compare() does for the closed loop. */
export async function compareEvenRate(a: Target, b: Target, rate: number, seconds: number, connections: number, rounds: number) {
  const runsA: LoadFigures[] = [];
  const runsB: LoadFigures[] = [];
  for (let r = 0; r < rounds; r++) {
    runsA.push(await evenRate(a, rate, seconds / rounds, connections));
    runsB.push(await evenRate(b, rate, seconds / rounds, connections));
  }
  // Percentiles of the pooled rounds would need the raw samples; the worst round's p99 is the honest summary.
  const merge = (runs: LoadFigures[]): LoadFigures => ({
    requestsPerSecond: runs.reduce((t, r) => t + r.requestsPerSecond, 0) / runs.length,
    p50Ms: runs.map((r) => r.p50Ms).sort((x, y) => x - y)[Math.floor(runs.length / 2)]!,
    p99Ms: Math.max(...runs.map((r) => r.p99Ms)),
    failures: runs.reduce((t, r) => t + r.failures, 0),
  });
  return { a: merge(runsA), b: merge(runsB), roundP99: runsA.map((r) => r.p99Ms) };
}
