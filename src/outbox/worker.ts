import type { Kysely } from 'kysely';
import { within } from '../lib/deadline.js';
import type { Config } from '../config.js';
import type { Listen } from '../db/postgres.js';
import type { Database } from '../db/schema.js';
import type { Logger } from '../logger.js';
import { DEFAULT_REQUEST_TIMEOUT_MS, sendDelivery } from './deliver.js';
import type { DestinationCheck } from './destinations.js';
import { type ClaimedDelivery, claimDueDeliveries, MAX_LEASE_MS } from './claims.js';
import { type AttemptResult, type RecordOutcome, recordAttemptResult } from './results.js';
import type { RetryPolicy } from './retry-policy.js';
import { SuccessRecorder, withRetries } from './recorder.js';
import { OUTBOX_CHANNEL, onOutboxSignal } from './signal.js';
import type { NotificationDelivery } from '../notifications/send.js';

/**
 * Delays after failed attempts 1 to 9: the Standard Webhooks example schedule
 * (the first attempt is immediate): 5 s, 5 min, 30 min, 2 h, 5 h, 10 h, 14 h,
 * 20 h, 24 h. Ten attempts over about 3 days 3 hours.
 */
export const DEFAULT_RETRY_SCHEDULE_MS: readonly number[] = [
  5_000,
  5 * 60_000,
  30 * 60_000,
  2 * 3_600_000,
  5 * 3_600_000,
  10 * 3_600_000,
  14 * 3_600_000,
  20 * 3_600_000,
  24 * 3_600_000,
];

/** A subscription whose deliveries have all failed this long is disabled. */
export const DEFAULT_DISABLE_AFTER_MS = 5 * 86_400_000;

export interface OutboxWorkerOptions {
  db: Kysely<Database>;
  logger: Logger;
  /** Requests in flight at once in this process (default 32). */
  concurrency?: number;
  /** How often to look for due deliveries, ms (default 1000). */
  pollIntervalMs?: number;
  /** How long a claim is reserved, ms (default and most 60 000). */
  leaseMs?: number;
  /** Time allowed per request, ms (default 15 000; at most half the lease). */
  requestTimeoutMs?: number;
  retryScheduleMs?: readonly number[];
  disableAfterMs?: number;
  /** ± fraction of each retry delay, at random (default 0.1). */
  jitter?: number;
  fetch?: typeof fetch;
  /** Refuses destinations before each request (src/node.ts: private addresses unless allowed). */
  checkDestination?: DestinationCheck;
  /**
   * LISTEN on the database (createPostgresDb's or createEmbeddedDb's
   * `listen`): wakes this worker when any process commits new deliveries.
   * Without it, other processes' events wait for the next poll.
   */
  listen?: Listen;
  /** Notification channels (src/notifications): the web app's address for links, the mailer for email. */
  notifications?: NotificationDelivery;
}

interface Settings {
  db: Kysely<Database>;
  logger: Logger;
  concurrency: number;
  pollIntervalMs: number;
  leaseMs: number;
  requestTimeoutMs: number;
  policy: RetryPolicy;
  fetch?: typeof fetch;
  checkDestination?: DestinationCheck;
  notifications?: NotificationDelivery;
  successes: SuccessRecorder;
  /** How long a claim or a result write may wait on the database (databaseStepTimeout). */
  databaseStepTimeoutMs: number;
}

function resolve(options: OutboxWorkerOptions): Settings {
  const leaseMs = Math.min(Math.max(options.leaseMs ?? MAX_LEASE_MS, 100), MAX_LEASE_MS);
  const databaseStepTimeoutMs = databaseStepTimeout(leaseMs);
  return {
    db: options.db,
    logger: options.logger,
    concurrency: Math.max(1, Math.floor(options.concurrency ?? 32)),
    pollIntervalMs: Math.max(10, options.pollIntervalMs ?? 1000),
    leaseMs,
    // The lease must outlast the request, or another worker could send it again meanwhile.
    requestTimeoutMs: Math.min(options.requestTimeoutMs ?? DEFAULT_REQUEST_TIMEOUT_MS, Math.floor(leaseMs / 2)),
    policy: {
      retryScheduleMs: options.retryScheduleMs ?? DEFAULT_RETRY_SCHEDULE_MS,
      disableAfterMs: options.disableAfterMs ?? DEFAULT_DISABLE_AFTER_MS,
      jitter: options.jitter ?? 0.1,
    },
    fetch: options.fetch,
    checkDestination: options.checkDestination,
    notifications: options.notifications,
    successes: new SuccessRecorder(options.db, databaseStepTimeoutMs),
    databaseStepTimeoutMs,
  };
}

/**
 * How long a claim or the recording of a result may wait on the database
 * before the worker gives up on it and goes on: a query on a connection lost
 * in a restart may never be answered. Within the lease, so a claim given up
 * on comes round again when its lease ends.
 */
const databaseStepTimeout = (leaseMs: number) => Math.max(1_000, Math.floor(leaseMs / 2));

/** The worker settings of config.ts. */
export function outboxOptionsFromConfig(
  config: Pick<
    Config,
    'OUTBOX_CONCURRENCY' | 'OUTBOX_POLL_INTERVAL_MS' | 'OUTBOX_LEASE_MS' | 'WEBHOOK_REQUEST_TIMEOUT_MS' | 'WEBHOOK_RETRY_SCHEDULE_MS'
  >,
): Omit<OutboxWorkerOptions, 'db' | 'logger'> {
  return {
    concurrency: config.OUTBOX_CONCURRENCY,
    pollIntervalMs: config.OUTBOX_POLL_INTERVAL_MS,
    leaseMs: config.OUTBOX_LEASE_MS,
    requestTimeoutMs: config.WEBHOOK_REQUEST_TIMEOUT_MS,
    ...(config.WEBHOOK_RETRY_SCHEDULE_MS ? { retryScheduleMs: config.WEBHOOK_RETRY_SCHEDULE_MS } : {}),
  };
}

const hostOf = (url: string) => {
  try {
    return new URL(url).host;
  } catch {
    return undefined;
  }
};

/** Successes go in batches; failures one by one (they may disable the subscription). */
async function record(s: Settings, claim: ClaimedDelivery, result: AttemptResult): Promise<RecordOutcome> {
  if (result.ok) {
    const recorded = await s.successes.record({ claim, result });
    return recorded ? { recorded: true, status: 'succeeded', nextAttemptAt: null, subscriptionDisabled: null } : { recorded: false };
  }
  return within(withRetries(() => recordAttemptResult(s.db, claim, result, s.policy)), s.databaseStepTimeoutMs, () => new Error(`not recorded within ${s.databaseStepTimeoutMs} ms`));
}

/** One attempt of one claimed delivery: send, record, log. Never throws. */
async function deliverOne(s: Settings, claim: ClaimedDelivery): Promise<void> {
  await recordAndLog(s, claim, await send(s, claim));
}

/** The request of one attempt. Never throws: whatever goes wrong is the attempt's result. */
const send = (s: Settings, claim: ClaimedDelivery): Promise<AttemptResult> =>
  sendDelivery(claim, { timeoutMs: s.requestTimeoutMs, fetch: s.fetch, checkDestination: s.checkDestination, notifications: s.notifications }).catch((err: unknown) => ({
    ok: false,
    statusCode: null,
    durationMs: 0,
    error: `not sent: ${err instanceof Error ? err.message : String(err)}`,
  }));

/** Records an attempt's result (while the lease holds) and logs it. Never throws. */
async function recordAndLog(s: Settings, claim: ClaimedDelivery, result: AttemptResult): Promise<void> {
  // Never the URL (a Slack webhook URL is itself a secret), only its host.
  const fields = {
    deliveryId: claim.deliveryId,
    eventId: claim.event.id,
    eventType: claim.event.type,
    subscriptionId: claim.subscription.id,
    host: hostOf(claim.subscription.url),
    attempt: claim.attempt,
    statusCode: result.statusCode,
    ms: Math.round(result.durationMs),
  };
  let outcome: RecordOutcome;
  try {
    outcome = await record(s, claim, result);
  } catch (err) {
    s.logger.error('webhook attempt not recorded; it will be retried when the lease ends', {
      ...fields,
      error: err instanceof Error ? err.message : String(err),
    });
    return;
  }
  if (!outcome.recorded) {
    s.logger.warn('webhook lease lost before the result was recorded; another attempt owns the delivery', fields);
    return;
  }
  if (outcome.status === 'succeeded') s.logger.debug('webhook delivered', fields);
  else if (outcome.status === 'pending') {
    s.logger.info('webhook attempt failed; will retry', { ...fields, error: result.error, nextAttemptAt: outcome.nextAttemptAt?.toISOString() });
  } else s.logger.warn('webhook delivery failed for good', { ...fields, error: result.error });
  if (outcome.subscriptionDisabled) {
    s.logger.warn('webhook subscription disabled', { subscriptionId: claim.subscription.id, reason: outcome.subscriptionDisabled });
  }
}

/**
 * The delivery worker for a long-running process: polls for due deliveries,
 * wakes at once when this process enqueues an event, and keeps up to
 * `concurrency` requests in flight. Any number of processes may run one
 * against the same database: claims use FOR UPDATE SKIP LOCKED and leases.
 */
export class OutboxWorker {
  private readonly s: Settings;
  private running = false;
  private pumping: Promise<void> | undefined;
  private again = false;
  private timer: ReturnType<typeof setTimeout> | undefined;
  private fastUntil = 0;
  private unsubscribe: (() => void) | undefined;
  private unlisten: Promise<(() => Promise<void>) | undefined> | undefined;
  private readonly listen: Listen | undefined;
  private readonly inFlight = new Set<Promise<void>>();
  private readonly reserve: { claim: ClaimedDelivery; claimedAt: number }[] = [];

  constructor(options: OutboxWorkerOptions) {
    this.s = resolve(options);
    this.listen = options.listen;
  }

  get settings(): Readonly<Omit<Settings, 'db' | 'logger' | 'fetch' | 'successes' | 'checkDestination' | 'notifications'>> {
    const { db: _db, logger: _logger, fetch: _fetch, successes: _successes, checkDestination: _check, notifications: _notifications, ...rest } = this.s;
    return rest;
  }

  start(): this {
    if (this.running) return this;
    this.running = true;
    this.unsubscribe = onOutboxSignal(() => this.wake());
    // A notification comes after the commit: one look finds the rows.
    this.unlisten = this.listen?.(OUTBOX_CHANNEL, () => this.kick()).catch((err: unknown) => {
      this.s.logger.warn('webhook worker could not LISTEN; it polls instead', { error: err instanceof Error ? err.message : String(err) });
      return undefined;
    });
    this.kick();
    return this;
  }

  /**
   * New rows may be on their way: look now, and every 100 ms for the next two
   * seconds (the signal comes before the enqueuing transaction commits).
   */
  wake(): void {
    if (!this.running) return;
    this.fastUntil = Date.now() + 2_000;
    this.kick();
  }

  /** Stops claiming, then waits for requests in flight (up to their timeout). */
  async stop(): Promise<void> {
    if (!this.running) return;
    this.running = false;
    this.unsubscribe?.();
    const unlisten = await this.unlisten;
    await unlisten?.().catch(() => {});
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    await this.pumping;
    this.startReserved(true); // claimed already: send rather than leave them waiting for their leases to end
    const grace = new Promise<void>((r) => setTimeout(r, this.s.requestTimeoutMs + 2_000).unref?.());
    await Promise.race([Promise.allSettled([...this.inFlight]), grace]);
  }

  /** Attempts in flight now, sent or being recorded (for tests and health reporting). */
  get busy(): number {
    return this.inFlight.size;
  }

  private kick(): void {
    if (!this.running) return;
    if (this.pumping) {
      this.again = true;
      return;
    }
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    this.pumping = this.pump().finally(() => {
      this.pumping = undefined;
      this.schedule();
    });
  }

  private schedule(): void {
    if (!this.running) return;
    if (this.again) {
      this.again = false;
      this.kick();
      return;
    }
    const interval = Date.now() < this.fastUntil ? Math.min(100, this.s.pollIntervalMs) : this.s.pollIntervalMs;
    if (this.timer) clearTimeout(this.timer);
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.kick();
    }, interval);
    this.timer.unref?.();
  }

  /**
   * Claims so that every slot is busy and up to `concurrency` more wait in
   * reserve, so a slot that frees starts its next request at once instead of
   * after a claim's round trip. Claims come in batches of at least half the
   * slots (a finishing request kicks again).
   */
  private async pump(): Promise<void> {
    while (this.running) {
      this.again = false;
      this.startReserved();
      const wanted = 2 * this.s.concurrency - this.inFlight.size - this.reserve.length;
      if (wanted < Math.ceil(this.s.concurrency / 2)) return;
      let claims: ClaimedDelivery[];
      try {
        const timeoutMs = this.s.databaseStepTimeoutMs;
        claims = await within(claimDueDeliveries(this.s.db, { limit: wanted, leaseMs: this.s.leaseMs }), timeoutMs, () => new Error(`no claim within ${timeoutMs} ms`));
      } catch (err) {
        if (this.running) this.s.logger.error('webhook claim failed', { error: err instanceof Error ? err.message : String(err) });
        return;
      }
      const claimedAt = performance.now();
      for (const claim of claims) this.reserve.push({ claim, claimedAt });
      this.startReserved();
      // A full batch means there may be more due right now.
      if (claims.length < wanted) return;
    }
  }

  /** Starts reserved claims while slots are free (all of them once stopping). */
  private startReserved(all = false): void {
    while (this.reserve.length > 0 && (all || this.inFlight.size < this.s.concurrency)) {
      const { claim, claimedAt } = this.reserve.shift()!;
      // A claim whose lease could end mid-request is left to run out; it comes round again then.
      const margin = Math.min(1_000, this.s.leaseMs / 4);
      if (this.s.leaseMs - (performance.now() - claimedAt) < this.s.requestTimeoutMs + margin) continue;
      this.dispatch(claim);
    }
  }

  /**
   * A slot stays busy until its result is recorded, so a crash leaves at most
   * the requests in flight unrecorded (each sent again once, at most).
   */
  private dispatch(claim: ClaimedDelivery): void {
    const p: Promise<void> = deliverOne(this.s, claim).finally(() => {
      this.inFlight.delete(p);
      if (this.running) this.startReserved();
      this.kick();
    });
    this.inFlight.add(p);
  }
}

export function startOutboxWorker(options: OutboxWorkerOptions): OutboxWorker {
  return new OutboxWorker(options).start();
}

/**
 * Sends what is due until nothing is, or until `maxDurationMs` is nearly up;
 * for hosts without a long-running process (a Workers cron trigger). Returns
 * the number of attempts made.
 */
export async function drainOutbox(options: OutboxWorkerOptions & { maxDurationMs?: number }): Promise<number> {
  const s = resolve(options);
  const deadline = Date.now() + (options.maxDurationMs ?? 25_000);
  let attempts = 0;
  while (Date.now() + s.requestTimeoutMs < deadline) {
    const claims = await claimDueDeliveries(s.db, { limit: s.concurrency, leaseMs: s.leaseMs });
    if (claims.length === 0) break;
    await Promise.all(claims.map((claim) => deliverOne(s, claim)));
    attempts += claims.length;
  }
  return attempts;
}
