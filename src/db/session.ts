/**
 * Databases with one session for everyone (the embedded PGlite): a job that
 * holds it holds every request up, so jobs work on them in small steps and
 * let requests through between steps (#24).
 */
const single = new WeakSet<object>();

export function markSingleSession(db: object): void {
  single.add(db);
}

export const isSingleSession = (db: object): boolean => single.has(db);

/** Lets queries waiting for the one session (a request's) run before the next step of a job. */
export const letRequestsThrough = () => new Promise<void>((resolve) => setTimeout(resolve, 5));
