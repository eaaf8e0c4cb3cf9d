import { type Kysely, type Selectable, sql } from 'kysely';
import { jsonb } from '../../db/params.js';
import type { Database } from '../../db/schema.js';
import { inTransaction } from '../../db/transaction.js';
import { newWebhookSecret } from '../../encoding.js';
import { type EventType, isEventType, newEventId, type WebhookFormat } from './events.js';
import { notifyForEvents } from '../../notifications/fanout.js';
import type { NotificationFormat } from '../../notifications/model.js';
import { announceDeliveries } from './signal.js';
import type { OutboundWebhookTables } from './tables.js';

type Db = Kysely<Database>;
type SubscriptionRow = Selectable<OutboundWebhookTables['webhook_subscriptions']>;

/* ------------------------------------------------------------------ */
/* Subscriptions                                                       */
/* ------------------------------------------------------------------ */

export interface SubscriptionInfo {
  id: number;
  url: string;
  eventTypes: EventType[];
  format: WebhookFormat;
  description: string | null;
  ownerContact: string | null;
  active: boolean;
  disabledReason: string | null;
  disabledAt: Date | null;
  /** The first failure since the last success; null while healthy. */
  failingSince: Date | null;
  /** While set and in the future, the previous secret also signs. */
  previousSecretExpiresAt: Date | null;
  createdAt: Date;
  updatedAt: Date;
}

export interface SubscriptionInput {
  url: string;
  eventTypes: EventType[];
  format?: WebhookFormat;
  description?: string | null;
  ownerContact?: string | null;
  active?: boolean;
}

export type SubscriptionPatch = Partial<SubscriptionInput>;

/** Why the API paused a subscription (the worker writes its own reasons). */
export const PAUSED_BY_ADMIN = 'deactivated through the API';

const toInfo = (row: SubscriptionRow): SubscriptionInfo => ({
  id: row.id,
  url: row.url,
  eventTypes: row.event_types as EventType[],
  format: row.format as WebhookFormat,
  description: row.description,
  ownerContact: row.owner_contact,
  active: row.active,
  disabledReason: row.disabled_reason,
  disabledAt: row.disabled_at,
  failingSince: row.failing_since,
  previousSecretExpiresAt:
    row.previous_secret_expires_at && row.previous_secret_expires_at.getTime() > Date.now() ? row.previous_secret_expires_at : null,
  createdAt: row.created_at,
  updatedAt: row.updated_at,
});

export async function createSubscription(db: Db, input: SubscriptionInput): Promise<{ subscription: SubscriptionInfo; secret: string }> {
  const secret = newWebhookSecret();
  const active = input.active ?? true;
  const row = await db
    .insertInto('webhook_subscriptions')
    .values({
      url: input.url,
      event_types: input.eventTypes,
      secret,
      format: input.format ?? 'standard',
      description: input.description ?? null,
      owner_contact: input.ownerContact ?? null,
      active,
      disabled_reason: active ? null : PAUSED_BY_ADMIN,
      disabled_at: active ? null : new Date(),
    })
    .returningAll()
    .executeTakeFirstOrThrow();
  return { subscription: toInfo(row), secret };
}

export async function listSubscriptions(db: Db, filter: { active?: boolean } = {}): Promise<SubscriptionInfo[]> {
  // Notification channels (purpose 'notification', src/notifications) have their own API.
  let query = db.selectFrom('webhook_subscriptions').selectAll().where('purpose', '=', 'webhook').orderBy('id');
  if (filter.active !== undefined) query = query.where('active', '=', filter.active);
  return (await query.execute()).map(toInfo);
}

export async function findSubscription(db: Db, id: number): Promise<SubscriptionInfo | undefined> {
  const row = await db.selectFrom('webhook_subscriptions').selectAll().where('id', '=', id).where('purpose', '=', 'webhook').executeTakeFirst();
  return row && toInfo(row);
}

/**
 * Changes the given fields. Re-activating clears the reason it was disabled
 * and its failure streak; deliveries held while it was inactive go out then.
 */
export async function updateSubscription(db: Db, id: number, patch: SubscriptionPatch): Promise<SubscriptionInfo | undefined> {
  return inTransaction(db, async (trx) => {
    const current = await trx.selectFrom('webhook_subscriptions').selectAll().where('id', '=', id).where('purpose', '=', 'webhook').forUpdate().executeTakeFirst();
    if (!current) return undefined;
    const changes: Record<string, unknown> = {};
    if (patch.url !== undefined) changes.url = patch.url;
    if (patch.eventTypes !== undefined) changes.event_types = patch.eventTypes;
    if (patch.format !== undefined) changes.format = patch.format;
    if (patch.description !== undefined) changes.description = patch.description;
    if (patch.ownerContact !== undefined) changes.owner_contact = patch.ownerContact;
    if (patch.active === true && !current.active) {
      Object.assign(changes, { active: true, disabled_reason: null, disabled_at: null, failing_since: null });
    } else if (patch.active === false && current.active) {
      Object.assign(changes, { active: false, disabled_reason: PAUSED_BY_ADMIN, disabled_at: sql`now()` });
    }
    if (Object.keys(changes).length === 0) return toInfo(current);
    const row = await trx
      .updateTable('webhook_subscriptions')
      .set({ ...changes, updated_at: sql`now()` } as never)
      .where('id', '=', id)
      .returningAll()
      .executeTakeFirstOrThrow();
    if (row.active && !current.active) await announceDeliveries(trx);
    return toInfo(row);
  });
}

/** Deletes the subscription with its deliveries and their log. */
export async function deleteSubscription(db: Db, id: number): Promise<boolean> {
  const result = await db.deleteFrom('webhook_subscriptions').where('id', '=', id).where('purpose', '=', 'webhook').executeTakeFirst();
  return Number(result.numDeletedRows) > 0;
}

/**
 * A new signing secret. The old one keeps signing beside it (two signatures
 * per delivery) for `overlapHours`, so the receiver can switch without
 * rejecting anything; 0 drops it at once.
 */
export async function rotateSubscriptionSecret(
  db: Db,
  id: number,
  overlapHours: number,
): Promise<{ subscription: SubscriptionInfo; secret: string } | undefined> {
  const secret = newWebhookSecret();
  const row = await db
    .updateTable('webhook_subscriptions')
    .set({
      previous_secret: overlapHours > 0 ? sql<string>`secret` : null,
      previous_secret_expires_at: overlapHours > 0 ? sql<Date>`now() + ${Math.round(overlapHours * 3600)}::int * interval '1 second'` : null,
      secret,
      updated_at: sql`now()`,
    })
    .where('id', '=', id)
    .where('purpose', '=', 'webhook')
    .returningAll()
    .executeTakeFirst();
  return row && { subscription: toInfo(row), secret };
}

/* ------------------------------------------------------------------ */
/* The outbox                                                          */
/* ------------------------------------------------------------------ */

export interface EnqueueEventInput {
  /** One of EVENT_TYPES. */
  type: EventType;
  /** The account the event is about (accounts.id), if any. Stored for filtering; not sent unless in `payload`. */
  accountId?: number | null;
  /** Sent as `data` (standard format) or rendered (slack format). A JSON object, at most 256 KiB serialised. */
  payload: Record<string, unknown>;
  /** The envelope's `timestamp`; defaults to now. */
  occurredAt?: Date;
}

export interface EnqueuedEvent {
  /** `msg_…`: the `webhook-id` of every delivery, retry and replay of this event. */
  eventId: string;
  /** One per matching active subscription; empty when nobody subscribed. */
  deliveryIds: number[];
}

export const MAX_PAYLOAD_BYTES = 256 * 1024;

function checkEvent(input: EnqueueEventInput): string {
  if (!isEventType(input.type)) throw new TypeError(`unknown webhook event type: ${String(input.type)}`);
  if (!input.payload || typeof input.payload !== 'object' || Array.isArray(input.payload)) {
    throw new TypeError('a webhook event payload must be a JSON object');
  }
  const text = JSON.stringify(input.payload);
  if (new TextEncoder().encode(text).length > MAX_PAYLOAD_BYTES) {
    throw new RangeError(`a webhook event payload must not exceed ${MAX_PAYLOAD_BYTES} bytes`);
  }
  return text;
}

async function insertEvent(trx: Db, input: EnqueueEventInput): Promise<string> {
  checkEvent(input);
  const id = newEventId();
  await trx
    .insertInto('webhook_events')
    .values({
      id,
      type: input.type,
      subject_account_id: input.accountId ?? null,
      payload: jsonb(input.payload),
      occurred_at: input.occurredAt ?? sql<Date>`now()`,
    })
    .execute();
  return id;
}

/** Events per statement: bounded so one statement's parameter stays a few MiB. */
const ENQUEUE_BATCH = 500;

/**
 * Records events and one delivery per active subscription that asked for each
 * event's type, in the caller's transaction: pass the transaction (`trx`)
 * whose changes the events report, and they exist exactly when those changes
 * commit. Given a plain Kysely instance it opens a transaction of its own.
 * Set-based: one statement per 500 events, whatever the number of
 * subscriptions. Every input is checked before anything is written.
 *
 * Nothing is sent here; the delivery worker picks the rows up after the
 * commit (at once in this process, within its poll interval elsewhere).
 */
export async function enqueueEvents(trx: Db, inputs: readonly EnqueueEventInput[]): Promise<EnqueuedEvent[]> {
  if (inputs.length === 0) return [];
  const rows = inputs.map((input, ord) => {
    checkEvent(input);
    return {
      ord,
      id: newEventId(),
      type: input.type,
      account_id: input.accountId ?? null,
      payload: input.payload,
      occurred_at: input.occurredAt?.toISOString() ?? null,
    };
  });
  const deliveries = new Map<string, number[]>(rows.map((r) => [r.id, []]));
  await inTransaction(trx, async (tx) => {
    for (let i = 0; i < rows.length; i += ENQUEUE_BATCH) {
      const { rows: inserted } = await sql<{ id: number; event_id: string }>`
        with events as (
          insert into webhook_events (id, type, subject_account_id, payload, occurred_at)
          select id, type, account_id, payload, coalesce(occurred_at, now())
            from jsonb_to_recordset(cast(${JSON.stringify(rows.slice(i, i + ENQUEUE_BATCH))}::text as jsonb))
                 as x(ord int, id text, type text, account_id int8, payload jsonb, occurred_at timestamptz)
           order by ord
          returning id, type)
        insert into webhook_deliveries (event_id, subscription_id, next_attempt_at)
        select e.id, s.id, now()
          from events e
          join webhook_subscriptions s on s.active and e.type = any (s.event_types)
         order by e.id, s.id
        returning id, event_id`.execute(tx);
      for (const d of inserted) deliveries.get(d.event_id)!.push(Number(d.id));
    }
    if ([...deliveries.values()].some((ids) => ids.length > 0)) await announceDeliveries(tx);
    // People and team channels to notify of these events (src/notifications), in this same transaction.
    await notifyForEvents(tx, rows.map((r) => ({ id: r.id, type: r.type, accountId: r.account_id, payload: r.payload })));
  });
  return rows.map((r) => ({ eventId: r.id, deliveryIds: deliveries.get(r.id)!.sort((a, b) => a - b) }));
}

/** enqueueEvents for one event. */
export async function enqueueEvent(trx: Db, input: EnqueueEventInput): Promise<EnqueuedEvent> {
  return (await enqueueEvents(trx, [input]))[0]!;
}

export type TargetedResult<T> = T | 'not_found' | 'inactive' | 'pending';

/** A `webhook.test` event for one subscription only, whatever its event types. */
export async function enqueueTestEvent(db: Db, subscriptionId: number): Promise<TargetedResult<{ eventId: string; deliveryId: number }>> {
  return inTransaction(db, async (trx) => {
    const subscription = await trx
      .selectFrom('webhook_subscriptions')
      .select(['id', 'active'])
      .where('id', '=', subscriptionId)
      .where('purpose', '=', 'webhook')
      .forShare()
      .executeTakeFirst();
    if (!subscription) return 'not_found';
    if (!subscription.active) return 'inactive';
    const eventId = await insertEvent(trx, {
      type: 'webhook.test',
      payload: { subscriptionId, message: 'This is a test event from healthscore.' },
    });
    const row = await trx
      .insertInto('webhook_deliveries')
      .values({ event_id: eventId, subscription_id: subscriptionId, next_attempt_at: sql<Date>`now()` })
      .returning('id')
      .executeTakeFirstOrThrow();
    await announceDeliveries(trx);
    return { eventId, deliveryId: row.id };
  });
}

/**
 * Sends a delivery's event to its subscription again, as a new delivery with
 * the same event and so the same `webhook-id`. Refused while a delivery of
 * that event to that subscription is still pending, or while the
 * subscription is inactive.
 */
export async function replayDelivery(db: Db, deliveryId: number): Promise<TargetedResult<DeliveryInfo>> {
  return inTransaction(db, async (trx) => {
    const original = await trx
      .selectFrom('webhook_deliveries')
      .select(['event_id', 'subscription_id'])
      .where('id', '=', deliveryId)
      .executeTakeFirst();
    if (!original) return 'not_found';
    // Serialises replays per subscription, so the pending check holds.
    const subscription = await trx
      .selectFrom('webhook_subscriptions')
      .select(['active'])
      .where('id', '=', original.subscription_id)
      .forUpdate()
      .executeTakeFirst();
    if (!subscription) return 'not_found';
    if (!subscription.active) return 'inactive';
    const pending = await trx
      .selectFrom('webhook_deliveries')
      .select('id')
      .where('event_id', '=', original.event_id)
      .where('subscription_id', '=', original.subscription_id)
      .where('status', '=', 'pending')
      .executeTakeFirst();
    if (pending) return 'pending';
    const row = await trx
      .insertInto('webhook_deliveries')
      .values({
        event_id: original.event_id,
        subscription_id: original.subscription_id,
        replay_of: deliveryId,
        next_attempt_at: sql<Date>`now()`,
      })
      .returning('id')
      .executeTakeFirstOrThrow();
    await announceDeliveries(trx);
    return (await findDelivery(trx, row.id))!;
  });
}

/* ------------------------------------------------------------------ */
/* The delivery log                                                    */
/* ------------------------------------------------------------------ */

export type DeliveryStatus = 'pending' | 'succeeded' | 'failed';

export interface AttemptInfo {
  attempt: number;
  startedAt: Date;
  finishedAt: Date | null;
  durationMs: number | null;
  statusCode: number | null;
  /** null while in flight. */
  outcome: 'succeeded' | 'failed' | 'abandoned' | null;
  error: string | null;
}

export interface DeliveryInfo {
  id: number;
  subscriptionId: number;
  eventId: string;
  eventType: string;
  status: DeliveryStatus;
  attemptCount: number;
  lastStatusCode: number | null;
  lastError: string | null;
  lastAttemptAt: Date | null;
  nextAttemptAt: Date | null;
  deliveredAt: Date | null;
  replayOf: number | null;
  createdAt: Date;
  attempts: AttemptInfo[];
}

async function describeDeliveries(db: Db, where: { ids?: number[]; subscriptionId?: number; beforeId?: number; status?: DeliveryStatus; limit?: number }) {
  let query = db
    .selectFrom('webhook_deliveries as d')
    .innerJoin('webhook_events as e', 'e.id', 'd.event_id')
    .select([
      'd.id',
      'd.subscription_id',
      'd.event_id',
      'e.type',
      'd.status',
      'd.attempt',
      'd.last_status_code',
      'd.last_error',
      'd.last_attempt_at',
      'd.next_attempt_at',
      'd.delivered_at',
      'd.replay_of',
      'd.created_at',
    ])
    .orderBy('d.id', 'desc');
  if (where.ids) query = query.where('d.id', 'in', where.ids);
  if (where.subscriptionId !== undefined) query = query.where('d.subscription_id', '=', where.subscriptionId);
  if (where.beforeId !== undefined) query = query.where('d.id', '<', where.beforeId);
  if (where.status) query = query.where('d.status', '=', where.status);
  if (where.limit !== undefined) query = query.limit(where.limit);
  const rows = await query.execute();
  if (rows.length === 0) return [];
  const attempts = await db
    .selectFrom('webhook_delivery_attempts')
    .selectAll()
    .where(
      'delivery_id',
      'in',
      rows.map((r) => r.id),
    )
    .orderBy('delivery_id')
    .orderBy('attempt')
    .execute();
  const byDelivery = new Map<number, AttemptInfo[]>();
  for (const a of attempts) {
    const list = byDelivery.get(a.delivery_id) ?? [];
    list.push({
      attempt: a.attempt,
      startedAt: a.started_at,
      finishedAt: a.finished_at,
      durationMs: a.duration_ms,
      statusCode: a.status_code,
      outcome: a.outcome,
      error: a.error,
    });
    byDelivery.set(a.delivery_id, list);
  }
  return rows.map(
    (r): DeliveryInfo => ({
      id: r.id,
      subscriptionId: r.subscription_id,
      eventId: r.event_id,
      eventType: r.type,
      status: r.status,
      attemptCount: r.attempt,
      lastStatusCode: r.last_status_code,
      lastError: r.last_error,
      lastAttemptAt: r.last_attempt_at,
      nextAttemptAt: r.status === 'pending' ? r.next_attempt_at : null,
      deliveredAt: r.delivered_at,
      replayOf: r.replay_of,
      createdAt: r.created_at,
      attempts: byDelivery.get(r.id) ?? [],
    }),
  );
}

export async function findDelivery(db: Db, id: number): Promise<DeliveryInfo | undefined> {
  return (await describeDeliveries(db, { ids: [id] }))[0];
}

/** Newest first; pass the last id of a page as `beforeId` for the next. */
export async function listDeliveries(
  db: Db,
  subscriptionId: number,
  page: { limit: number; beforeId?: number; status?: DeliveryStatus },
): Promise<{ items: DeliveryInfo[]; nextBeforeId: number | null }> {
  const rows = await describeDeliveries(db, { subscriptionId, beforeId: page.beforeId, status: page.status, limit: page.limit + 1 });
  const items = rows.slice(0, page.limit);
  return { items, nextBeforeId: rows.length > page.limit ? items[items.length - 1]!.id : null };
}

/* ------------------------------------------------------------------ */
/* What the delivery worker uses                                       */
/* ------------------------------------------------------------------ */

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

export interface RetryPolicy {
  /** Delays after failed attempt 1, 2, …; when they run out the delivery fails. */
  retryScheduleMs: readonly number[];
  /** Disable a subscription whose deliveries have all failed for this long. */
  disableAfterMs: number;
  /** ± this fraction of each delay, at random. */
  jitter: number;
  random?: () => number;
}

export type RecordOutcome =
  | { recorded: true; status: DeliveryStatus; nextAttemptAt: Date | null; subscriptionDisabled: string | null }
  | { recorded: false };

export const MAX_ERROR_CHARS = 500;

export const truncateError = (text: string) => (text.length > MAX_ERROR_CHARS ? `${text.slice(0, MAX_ERROR_CHARS - 1)}…` : text);

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

/**
 * Deletes events older than `retentionDays` with nothing left to deliver,
 * with their deliveries and log, a batch at a time. For a periodic job.
 */
export async function pruneOutbox(db: Db, options: { retentionDays: number; batchSize?: number }): Promise<number> {
  const batch = options.batchSize ?? 1000;
  let total = 0;
  for (;;) {
    const { rows } = await sql<{ id: string }>`
      delete from webhook_events
       where id in (
         select e.id from webhook_events e
          where e.created_at < now() - ${Math.round(options.retentionDays * 86_400)}::int * interval '1 second'
            and not exists (select 1 from webhook_deliveries d where d.event_id = e.id and d.status = 'pending')
          limit ${batch}::int)
      returning id`.execute(db);
    total += rows.length;
    if (rows.length < batch) return total;
  }
}
