/** Month arithmetic for the monthly usage partitions (sql/0030); pure, UTC throughout. */

/** The first day of the UTC month of `at`, as `YYYY-MM-01`. */
export function monthOf(at: Date): string {
  return addMonths(`${at.toISOString().slice(0, 7)}-01`, 0);
}

/** `YYYY-MM-01` shifted by `n` months. */
export function addMonths(month: string, n: number): string {
  const [y, m] = month.split('-').map(Number) as [number, number];
  return new Date(Date.UTC(y, m - 1 + n, 1)).toISOString().slice(0, 10);
}

/** The month of `now` and the `ahead` months after it. */
export function monthsToPrepare(now: Date, ahead: number): string[] {
  return Array.from({ length: ahead + 1 }, (_, i) => addMonths(monthOf(now), i));
}

/** The month a partition named `<table>_pYYYY_MM` holds, or null for any other name (the default partition). */
export function partitionMonth(table: string, partition: string): string | null {
  const match = new RegExp(`^${table}_p(\\d{4})_(\\d{2})$`).exec(partition);
  return match ? `${match[1]}-${match[2]}-01` : null;
}

/**
 * Whether a whole month is older than the retention window ending at `now`:
 * its last instant is before `now - retentionDays`. A month partly inside the
 * window is kept whole, so rows live at most about a month past the window.
 */
export function monthExpired(month: string, now: Date, retentionDays: number): boolean {
  return Date.parse(`${addMonths(month, 1)}T00:00:00Z`) <= retentionCutoff(now, retentionDays).getTime();
}

export const retentionCutoff = (now: Date, retentionDays: number) => new Date(now.getTime() - retentionDays * 86_400_000);
