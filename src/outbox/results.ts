/** Recording attempt results while the lease holds: successes in batches, failures with the retry policy. */
import { type Kysely, sql } from 'kysely';
import type { Database } from '../db/schema.js';
import { inTransaction } from '../db/transaction.js';
import type { Lease } from './claims.js';
import type { DeliveryStatus } from './delivery-log.js';
import { describeDuration, type RetryPolicy, retryDelayMs } from './retry-policy.js';

type Db = Kysely<Database>;

export interface AttemptResult {
  /** 2xx. */
  ok: boolean;
  statusCode: number | null;
  durationMs: number;
  /** Short, secret-free text for the log (truncated here too). */
  error: string | null;
  /** A permanent refusal (like 410 Gone): no retry, and the subscription is disabled with this reason. */
  disableReason?: string;
}

export type RecordOutcome =
  | { recorded: true; status: DeliveryStatus; nextAttemptAt: Date | null; subscriptionDisabled: string | null }
  | { recorded: false };

export const MAX_ERROR_CHARS = 500;

export const truncateError = (text: string) => (text.length > MAX_ERROR_CHARS ? `${text.slice(0, MAX_ERROR_CHARS - 1)}…` : text);

/**
 * Records many successful attempts in one statement, each only while its
 * lease is still held (as recordAttemptResult does for one): the delivery
 * becomes succeeded, its log row is closed, its subscription's failure
 * streak ends. Returns the ids of the deliveries recorded; a lease lost to
 * another worker is left out (that attempt's log row is still closed).
 */
export async function recordSuccesses(db: Db, items: readonly { lease: Lease; result: AttemptResult }[]): Promise<Set<number>> {
  if (items.length === 0) return new Set();
  const input = items.map(({ lease, result }) => ({
    delivery_id: lease.deliveryId,
    attempt: lease.attempt,
    lease_token: lease.leaseToken,
    status_code: result.statusCode,
    duration_ms: Math.max(0, Math.round(result.durationMs)),
  }));
  const { rows } = await sql<{ id: number }>`
    with input as (
      select * from jsonb_to_recordset(cast(${JSON.stringify(input)}::text as jsonb))
             as x(delivery_id int8, attempt int, lease_token text, status_code int, duration_ms int)
    ), logged as (
      update webhook_delivery_attempts a
         set finished_at = now(), duration_ms = i.duration_ms, status_code = i.status_code, outcome = 'succeeded', error = null
        from input i
       where a.delivery_id = i.delivery_id and a.attempt = i.attempt and (a.finished_at is null or a.outcome = 'abandoned')
    ), done as (
      update webhook_deliveries d
         set status = 'succeeded', next_attempt_at = null, lease_token = null, leased_until = null,
             last_status_code = i.status_code, last_error = null, delivered_at = now(), updated_at = now()
        from input i
       where d.id = i.delivery_id and d.lease_token = i.lease_token
      returning d.id, d.subscription_id
    ), healthy as (
      update webhook_subscriptions s set failing_since = null
       where s.id in (select subscription_id from done) and s.failing_since is not null
    )
    select id from done`.execute(db);
  return new Set(rows.map((r) => Number(r.id)));
}

/**
 * Records the outcome of an attempt, but only while the lease is still held
 * (`where id = … and lease_token = …`): a worker whose lease ran out and was
 * taken over by another cannot touch the newer attempt. The attempt's own log
 * row is written either way. Also keeps the subscription's failure streak and
 * disables it on 410 Gone or after `disableAfterMs` of failures.
 */
export async function recordAttemptResult(db: Db, lease: Lease, result: AttemptResult, policy: RetryPolicy): Promise<RecordOutcome> {
  const error = result.error === null ? null : truncateError(result.error);
  const gone = result.statusCode === 410 || Boolean(result.disableReason);
  const delay = result.ok || gone ? undefined : retryDelayMs(policy, lease.attempt);
  const status: DeliveryStatus = result.ok ? 'succeeded' : delay === undefined ? 'failed' : 'pending';
  return inTransaction(db, async (trx) => {
    await trx
      .updateTable('webhook_delivery_attempts')
      .set({
        finished_at: sql`now()`,
        duration_ms: Math.max(0, Math.round(result.durationMs)),
        status_code: result.statusCode,
        outcome: result.ok ? 'succeeded' : 'failed',
        error,
      })
      .where('delivery_id', '=', lease.deliveryId)
      .where('attempt', '=', lease.attempt)
      .where((eb) => eb.or([eb('finished_at', 'is', null), eb('outcome', '=', 'abandoned')]))
      .execute();

    const updated = await trx
      .updateTable('webhook_deliveries')
      .set({
        status,
        next_attempt_at: delay === undefined ? null : sql<Date>`now() + ${delay}::float8 * interval '1 millisecond'`,
        lease_token: null,
        leased_until: null,
        last_status_code: result.statusCode,
        last_error: error,
        delivered_at: result.ok ? sql<Date>`now()` : null,
        updated_at: sql`now()`,
      })
      .where('id', '=', lease.deliveryId)
      .where('lease_token', '=', lease.leaseToken)
      .returning(['subscription_id', 'next_attempt_at'])
      .executeTakeFirst();
    if (!updated) return { recorded: false };

    const subscriptionId = updated.subscription_id;
    let disabled: string | null = null;
    if (result.ok) {
      await trx
        .updateTable('webhook_subscriptions')
        .set({ failing_since: null })
        .where('id', '=', subscriptionId)
        .where('failing_since', 'is not', null)
        .execute();
    } else if (gone) {
      disabled = result.disableReason ?? 'the endpoint answered 410 Gone';
      const row = await trx
        .updateTable('webhook_subscriptions')
        .set({ active: false, disabled_reason: disabled, disabled_at: sql`now()`, updated_at: sql`now()` })
        .where('id', '=', subscriptionId)
        .where('active', '=', true)
        .returning('id')
        .executeTakeFirst();
      if (!row) disabled = null;
    } else {
      await trx
        .updateTable('webhook_subscriptions')
        .set({ failing_since: sql`now()` })
        .where('id', '=', subscriptionId)
        .where('failing_since', 'is', null)
        .execute();
      const row = await trx
        .updateTable('webhook_subscriptions')
        .set({
          active: false,
          disabled_reason: sql<string>`${`every delivery failed for ${describeDuration(policy.disableAfterMs)}`}::text || ' (since ' || to_char(failing_since at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"') || ')'`,
          disabled_at: sql`now()`,
          updated_at: sql`now()`,
        })
        .where('id', '=', subscriptionId)
        .where('active', '=', true)
        // An email address is not disabled because the mail server was down for days; only a permanent refusal of it is.
        .where('format', '<>', 'email')
        .where(sql<boolean>`failing_since <= now() - ${Math.round(policy.disableAfterMs)}::float8 * interval '1 millisecond'`)
        .returning('disabled_reason')
        .executeTakeFirst();
      disabled = row?.disabled_reason ?? null;
    }
    return { recorded: true, status, nextAttemptAt: updated.next_attempt_at, subscriptionDisabled: disabled };
  });
}
