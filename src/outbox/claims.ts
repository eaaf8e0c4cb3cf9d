/** Claiming due deliveries for a worker, under a lease. */
import { type Kysely, sql } from 'kysely';
import type { Database } from '../db/schema.js';
import type { NotificationFormat } from '../notifications/model.js';
import type { WebhookFormat } from './events.js';

type Db = Kysely<Database>;

/** The most a lease may last: long enough for one request and its bookkeeping. */
export const MAX_LEASE_MS = 60_000;

export interface Lease {
  deliveryId: number;
  /** This attempt's number, 1 for the first. */
  attempt: number;
  leaseToken: string;
}

export interface ClaimedDelivery extends Lease {
  leasedUntil: Date;
  event: { id: string; type: string; payload: Record<string, unknown>; occurredAt: Date; accountId: number | null };
  subscription: {
    id: number;
    url: string;
    format: WebhookFormat | NotificationFormat;
    /** The current secret, then the previous one while it still signs. */
    secrets: string[];
    /** The vendor's signing secret of a notification channel (DingTalk, Feishu). */
    signingSecret: string | null;
  };
}

const ABANDONED = 'no result was recorded: the worker stopped or lost its lease';

/**
 * Claims up to `limit` due deliveries of active subscriptions. Rows another
 * worker is claiming are skipped (FOR UPDATE SKIP LOCKED); each claimed row
 * gets a fresh lease token and attempt number and stays invisible to other
 * workers until `leaseMs` passes. Commits before returning, so the claim is
 * settled before anything is sent.
 */
export async function claimDueDeliveries(db: Db, options: { limit: number; leaseMs: number }): Promise<ClaimedDelivery[]> {
  if (options.limit <= 0) return [];
  const leaseMs = Math.min(Math.max(1, Math.round(options.leaseMs)), MAX_LEASE_MS);
  // One statement (its own transaction): claim, close the log rows of attempts
  // whose worker never came back, open this attempt's row, read what to send.
  const { rows } = await sql<{
    id: number;
    attempt: number;
    lease_token: string;
    leased_until: Date;
    event_id: string;
    type: string;
    payload: Record<string, unknown>;
    occurred_at: Date;
    subject_account_id: number | null;
    subscription_id: number;
    url: string;
    format: WebhookFormat | NotificationFormat;
    secret: string;
    previous_secret: string | null;
    signing_secret: string | null;
  }>`
    with due as (
      select d.id
        from webhook_deliveries d
        join webhook_subscriptions s on s.id = d.subscription_id
       where d.status = 'pending' and d.next_attempt_at <= now() and s.active
       order by d.next_attempt_at, d.id
       limit ${Math.floor(options.limit)}::int
         for update of d skip locked
    ), claimed as (
      update webhook_deliveries d
         set attempt = d.attempt + 1,
             lease_token = gen_random_uuid()::text,
             leased_until = now() + ${leaseMs}::float8 * interval '1 millisecond',
             next_attempt_at = now() + ${leaseMs}::float8 * interval '1 millisecond',
             last_attempt_at = now(),
             updated_at = now()
        from due
       where d.id = due.id
      returning d.id, d.attempt, d.lease_token, d.leased_until, d.event_id, d.subscription_id
    ), abandoned as (
      update webhook_delivery_attempts a
         set outcome = 'abandoned', finished_at = now(), error = ${ABANDONED}::text
        from claimed c
       where a.delivery_id = c.id and a.finished_at is null
    ), opened as (
      insert into webhook_delivery_attempts (delivery_id, attempt) select id, attempt from claimed
    )
    select c.id, c.attempt, c.lease_token, c.leased_until,
           e.id as event_id, e.type, e.payload, e.occurred_at, e.subject_account_id,
           s.id as subscription_id, s.url, s.format, s.secret, s.signing_secret,
           case when s.previous_secret_expires_at > now() then s.previous_secret end as previous_secret
      from claimed c
      join webhook_events e on e.id = c.event_id
      join webhook_subscriptions s on s.id = c.subscription_id
     order by c.id`.execute(db);
  return rows.map(
    (d): ClaimedDelivery => ({
      deliveryId: Number(d.id),
      attempt: d.attempt,
      leaseToken: d.lease_token,
      leasedUntil: d.leased_until,
      event: { id: d.event_id, type: d.type, payload: d.payload, occurredAt: d.occurred_at, accountId: d.subject_account_id },
      subscription: {
        id: Number(d.subscription_id),
        url: d.url,
        format: d.format,
        secrets: d.previous_secret ? [d.secret, d.previous_secret] : [d.secret],
        signingSecret: d.signing_secret,
      },
    }),
  );
}
