/**
 * Runs `fn` again, after a growing pause with jitter, while it fails with an
 * error `when` accepts, up to `attempts` runs in all; the last error is thrown.
 * The one retry loop for database work (conflicts, a database restarting).
 */
export async function retrying<T>(
  fn: () => Promise<T>,
  options: { attempts: number; when: (err: unknown) => boolean; baseDelayMs?: number; maxDelayMs?: number },
): Promise<T> {
  const base = options.baseDelayMs ?? 20;
  const max = options.maxDelayMs ?? 2_000;
  for (let attempt = 1; ; attempt++) {
    try {
      return await fn();
    } catch (err) {
      if (attempt >= options.attempts || !options.when(err)) throw err;
      const delay = Math.min(max, base * attempt + Math.random() * base * 2.5 * attempt);
      await new Promise((r) => setTimeout(r, delay));
    }
  }
}
