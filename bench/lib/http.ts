/**
 * A closed-loop HTTP client for batch endpoints: `clients` loops, each taking
 * the next pre-built body and posting it as soon as its previous answer
 * arrived. Bodies are built before the clock starts, so generating them costs
 * the measurement nothing. A request that fails (non-2xx or network error) is
 * retried, as a real sender would, and counted.
 */
export interface PostResult {
  seconds: number;
  requests: number;
  /** Failed attempts that were retried; their status codes and first bytes below. */
  failures: number;
  failureSamples: string[];
  /** Per-item outcomes summed over all responses (`created`, `unchanged`…). */
  summary: Record<string, number>;
  /** Response times of the successful attempts, ms, sorted. */
  latencies: number[];
}

export async function postAll(url: string, headers: Record<string, string>, bodies: Buffer[], clients: number): Promise<PostResult> {
  let next = 0;
  let failures = 0;
  const failureSamples: string[] = [];
  const summary: Record<string, number> = {};
  const latencies: number[] = [];
  const started = performance.now();
  const loop = async () => {
    for (let i = next++; i < bodies.length; i = next++) {
      for (let attempt = 1; ; attempt++) {
        const sent = performance.now();
        let problem: string;
        try {
          const response = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: bodies[i]! });
          const text = await response.text();
          if (response.ok) {
            latencies.push(performance.now() - sent);
            const result = JSON.parse(text) as { summary: Record<string, number> };
            for (const [k, v] of Object.entries(result.summary)) summary[k] = (summary[k] ?? 0) + v;
            break;
          }
          problem = `${response.status} ${text.slice(0, 200)}`;
        } catch (err) {
          problem = String(err);
        }
        failures++;
        if (failureSamples.length < 5) failureSamples.push(problem);
        if (attempt >= 5) throw new Error(`POST ${url} failed 5 times; last: ${problem}`);
      }
    }
  };
  await Promise.all(Array.from({ length: clients }, loop));
  return { seconds: (performance.now() - started) / 1000, requests: bodies.length, failures, failureSamples, summary, latencies: latencies.sort((a, b) => a - b) };
}

export function percentile(sorted: number[], p: number) {
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(p * sorted.length) - 1))]!;
}
