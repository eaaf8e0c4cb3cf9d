import autocannon from 'autocannon';

export interface Target {
  url: string;
  /** A path for each request; called once per request. */
  path: () => string;
  headers?: Record<string, string>;
}

export interface LoadSettings {
  connections: number;
  durationSeconds: number;
  overallRate?: number;
}

interface Measurement {
  latencies: number[];
  requests: number;
  seconds: number;
  failures: number;
}

export interface LoadFigures {
  requestsPerSecond: number;
  p50Ms: number;
  p99Ms: number;
  /** Non-2xx responses, errors and timeouts: anything above 0 makes the run suspect. */
  failures: number;
}

/**
 * One autocannon run. Latencies come from the per-response event rather than
 * autocannon's histogram, which keeps whole milliseconds only and, under a rate
 * limit, adds coordinated-omission samples at a fixed 1 ms step.
 */
async function measure(target: Target, settings: LoadSettings): Promise<Measurement> {
  const latencies: number[] = [];
  const instance = autocannon({
    url: target.url,
    connections: settings.connections,
    duration: settings.durationSeconds,
    ...(settings.overallRate ? { overallRate: settings.overallRate } : {}),
    headers: target.headers ?? {},
    requests: [{ method: 'GET', setupRequest: (request) => ({ ...request, path: target.path() }) }],
  });
  instance.on('response', (_client: unknown, status: number, _bytes: number, ms: number) => {
    if (status >= 200 && status < 300) latencies.push(ms);
  });
  const result = await instance;
  return { latencies, requests: result.requests.total, seconds: result.duration, failures: result.non2xx + result.errors + result.timeouts };
}

function summarise(runs: Measurement[]): LoadFigures {
  const latencies = runs.flatMap((r) => r.latencies).sort((a, b) => a - b);
  const sum = (pick: (r: Measurement) => number) => runs.reduce((total, r) => total + pick(r), 0);
  return {
    requestsPerSecond: sum((r) => r.requests) / sum((r) => r.seconds),
    p50Ms: percentile(latencies, 0.5),
    p99Ms: percentile(latencies, 0.99),
    failures: sum((r) => r.failures),
  };
}

function percentile(sorted: number[], p: number) {
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.ceil(p * sorted.length) - 1)]!;
}

export async function warmUp(targets: Target[], settings: LoadSettings) {
  for (const target of targets) await measure(target, settings);
}

/**
 * Loads the targets in alternating rounds (a, b, a, b…) that add up to
 * `settings.durationSeconds` each, so both see the same background noise.
 * Also returns the per-round throughput ratio of the first target to the second.
 */
export async function compare(a: Target, b: Target, settings: LoadSettings, rounds: number) {
  const round = { ...settings, durationSeconds: settings.durationSeconds / rounds };
  const runsA: Measurement[] = [];
  const runsB: Measurement[] = [];
  for (let i = 0; i < rounds; i++) {
    runsA.push(await measure(a, round));
    runsB.push(await measure(b, round));
  }
  const rate = (m: Measurement) => m.requests / m.seconds;
  return {
    a: summarise(runsA),
    b: summarise(runsB),
    roundRatios: runsA.map((m, i) => rate(m) / rate(runsB[i]!)),
  };
}
