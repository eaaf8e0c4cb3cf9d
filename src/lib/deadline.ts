/**
 * Settles like `work`, or rejects with `onTimeout()` once `ms` have passed.
 * For work that must not wait without end on a query whose connection was
 * lost mid-flight in a database restart: the caller moves on, and the query
 * is left to fail or finish on its own.
 */
export async function within<T>(work: Promise<T>, ms: number, onTimeout: () => Error): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(onTimeout()), ms);
  });
  try {
    return await Promise.race([work, deadline]);
  } finally {
    clearTimeout(timer);
  }
}
