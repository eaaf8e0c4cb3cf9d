/** When a failed delivery is tried again, and when a failing subscription is disabled. Pure. */

export interface RetryPolicy {
  /** Delays after failed attempt 1, 2, …; when they run out the delivery fails. */
  retryScheduleMs: readonly number[];
  /** Disable a subscription whose deliveries have all failed for this long. */
  disableAfterMs: number;
  /** ± this fraction of each delay, at random. */
  jitter: number;
  random?: () => number;
}

export function retryDelayMs(policy: RetryPolicy, failedAttempt: number): number | undefined {
  const base = policy.retryScheduleMs[failedAttempt - 1];
  if (base === undefined) return undefined;
  const r = (policy.random ?? Math.random)();
  return Math.max(0, Math.round(base * (1 + policy.jitter * (2 * r - 1))));
}

export function describeDuration(ms: number): string {
  const units: [number, string][] = [
    [86_400_000, 'day'],
    [3_600_000, 'hour'],
    [60_000, 'minute'],
    [1_000, 'second'],
  ];
  for (const [size, name] of units) {
    if (ms >= size) {
      const n = Math.round((ms / size) * 10) / 10;
      return `${n} ${name}${n === 1 ? '' : 's'}`;
    }
  }
  return `${ms} ms`;
}
