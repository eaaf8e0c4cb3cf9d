import type { Kysely } from 'kysely';
import type { Logger } from '../logger.js';
import { within } from '../lib/deadline.js';

/**
 * Refused before it reached the database: the breaker is open (the database
 * was found unreachable and no probe has reached it since), or no connection
 * came free in time. A 503 with Retry-After (src/app.ts onError), like a
 * refused connection; `isDatabaseUnavailable` knows its code.
 */
export class DatabaseUnavailableError extends Error {
  readonly code = 'DATABASE_UNAVAILABLE';
  constructor(
    message: string,
    /** Seconds a client should wait before retrying. */
    readonly retryAfterSeconds = 2,
  ) {
    super(message);
    this.name = 'DatabaseUnavailableError';
  }
}

export interface BreakerOptions {
  /** Reaches the database once (a fresh connection and `select 1`); rejects while it cannot. */
  probe: () => Promise<void>;
  logger?: Logger;
  /** First pause between probes, ms; it doubles up to maxProbeIntervalMs and stays there: probing never gives up. */
  minProbeIntervalMs?: number;
  maxProbeIntervalMs?: number;
  /** A probe still unanswered after this long counts as failed, ms. */
  probeTimeoutMs?: number;
  /** Called when it opens (the pool refuses whoever waits for a connection). */
  onOpen?: () => void;
}

/**
 * The database circuit breaker of one pool. The first failure that says the
 * database is away (a refused or lost connection, a server shutting down or
 * starting up) opens it; while open, every query is refused at once instead of
 * queueing behind connection attempts, and a probe tries the database with a
 * fresh connection, more and more rarely (at most every 2 s, for as long as
 * the outage lasts). The first probe that gets an answer closes it.
 */
export class CircuitBreaker {
  private openedAt: number | undefined;
  private probing: Promise<void> | undefined;
  private stopped = false;
  private waiters = new Set<() => void>();
  private timer: ReturnType<typeof setTimeout> | undefined;
  private wakeProbe: (() => void) | undefined;

  constructor(private readonly options: BreakerOptions) {}

  get isOpen(): boolean {
    return this.openedAt !== undefined;
  }

  /** Throws DatabaseUnavailableError while open. */
  check(): void {
    if (this.openedAt !== undefined) {
      throw new DatabaseUnavailableError(`the database has been unreachable for ${Math.round((Date.now() - this.openedAt) / 1000)} s; retry the request`);
    }
  }

  /** Opens the breaker (once; later calls while open change nothing) and starts probing. */
  trip(cause: unknown): void {
    if (this.openedAt !== undefined || this.stopped) return;
    this.openedAt = Date.now();
    this.options.logger?.warn('database unreachable: requests are answered 503 until a probe reaches it', {
      reason: cause instanceof Error ? cause.message : String(cause),
    });
    this.options.onOpen?.();
    this.probing = this.probeUntilClosed();
  }

  /** Resolves once the breaker is closed (at once if it is), or when `signal` aborts. */
  whenClosed(signal?: AbortSignal): Promise<void> {
    if (this.openedAt === undefined || signal?.aborted) return Promise.resolve();
    return new Promise<void>((resolve) => {
      const done = () => {
        this.waiters.delete(done);
        signal?.removeEventListener('abort', done);
        resolve();
      };
      this.waiters.add(done);
      signal?.addEventListener('abort', done, { once: true });
    });
  }

  /** Stops probing for good (the pool is closing); waiters are released. */
  stop(): void {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    this.wakeProbe?.();
    for (const w of [...this.waiters]) w();
  }

  private async probeUntilClosed(): Promise<void> {
    const min = this.options.minProbeIntervalMs ?? 200;
    const max = this.options.maxProbeIntervalMs ?? 2_000;
    const timeoutMs = this.options.probeTimeoutMs ?? 2_000;
    let interval = min;
    let probes = 0;
    while (!this.stopped) {
      await new Promise<void>((resolve) => {
        this.wakeProbe = resolve;
        this.timer = setTimeout(resolve, interval);
        (this.timer as { unref?: () => void }).unref?.();
      });
      if (this.stopped) return;
      probes++;
      try {
        await within(this.options.probe(), timeoutMs, () => new Error(`no answer within ${timeoutMs} ms`));
      } catch {
        interval = Math.min(max, interval * 2);
        continue;
      }
      const downMs = Date.now() - (this.openedAt ?? Date.now());
      this.openedAt = undefined;
      this.probing = undefined;
      this.options.logger?.info('database reachable again', { downMs, probes });
      for (const w of [...this.waiters]) w();
      return;
    }
  }
}

const breakers = new WeakMap<object, CircuitBreaker>();

/** Remembers the breaker guarding a Kysely instance, for background loops that only hold the instance. */
export function registerBreaker(db: Kysely<never> | object, breaker: CircuitBreaker): void {
  breakers.set(db, breaker);
}

export const breakerOf = (db: object): CircuitBreaker | undefined => breakers.get(db);

/**
 * For a background loop (the webhook worker, the job scheduler) whose database
 * step failed because the database is away: resolves once it is back (the
 * breaker closed), or after `fallbackMs` where no breaker guards `db` (the
 * embedded database), or when `signal` aborts.
 */
export function databaseBack(db: object, signal?: AbortSignal, fallbackMs = 1_000): Promise<void> {
  const breaker = breakerOf(db);
  if (breaker) return breaker.whenClosed(signal);
  return new Promise<void>((resolve) => {
    const timer = setTimeout(resolve, fallbackMs);
    signal?.addEventListener('abort', () => {
      clearTimeout(timer);
      resolve();
    }, { once: true });
  });
}
