import autocannon from 'autocannon';

export interface LoadOptions {
  url: string;
  /** A path for each request; called once per request. */
  path: () => string;
  headers?: Record<string, string>;
  connections: number;
  durationSeconds: number;
  warmupSeconds?: number;
  overallRate?: number;
}

export interface LoadFigures {
  requestsPerSecond: number;
  p50Ms: number;
  p99Ms: number;
  /** Non-2xx responses, errors and timeouts: anything above 0 makes the run suspect. */
  failures: number;
}

/**
 * One autocannon run. Latencies are collected from the per-response event
 * rather than autocannon's histogram, which keeps whole milliseconds only and,
 * under a rate limit, adds coordinated-omission samples at a fixed 1 ms step.
 */
export async function load(options: LoadOptions): Promise<LoadFigures> {
  const latencies: number[] = [];
  const instance = autocannon({
    url: options.url,
    connections: options.connections,
    duration: options.durationSeconds,
    ...(options.overallRate ? { overallRate: options.overallRate } : {}),
    ...(options.warmupSeconds ? { warmup: { connections: options.connections, duration: options.warmupSeconds } } : {}),
    headers: options.headers ?? {},
    requests: [{ method: 'GET', setupRequest: (request) => ({ ...request, path: options.path() }) }],
  });
  instance.on('response', (_client: unknown, status: number, _bytes: number, ms: number) => {
    if (status >= 200 && status < 300) latencies.push(ms);
  });
  const result = await instance;
  latencies.sort((a, b) => a - b);
  return {
    requestsPerSecond: result.requests.total / result.duration,
    p50Ms: percentile(latencies, 0.5),
    p99Ms: percentile(latencies, 0.99),
    failures: result.non2xx + result.errors + result.timeouts,
  };
}

function percentile(sorted: number[], p: number) {
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.ceil(p * sorted.length) - 1)]!;
}
