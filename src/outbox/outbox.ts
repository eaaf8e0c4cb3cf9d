/** The outbox: events recorded with the changes they report, one delivery per subscriber; replays; pruning. */
import { type Kysely, sql } from 'kysely';
import { jsonb } from '../db/params.js';
import type { Database } from '../db/schema.js';
import { inTransaction } from '../db/transaction.js';
import { notifyForEvents } from '../notifications/fanout.js';
import { type DeliveryInfo, findDelivery } from './delivery-log.js';
import { type EventType, isEventType, newEventId } from './events.js';
import { announceDeliveries } from './signal.js';

type Db = Kysely<Database>;

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
  // A UTF-16 unit is at most 3 bytes in UTF-8: most payloads need no encoding to tell.
  if (text.length * 3 > MAX_PAYLOAD_BYTES && new TextEncoder().encode(text).length > MAX_PAYLOAD_BYTES) {
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
