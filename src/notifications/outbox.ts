import { type Kysely, sql } from 'kysely';
import type { Database } from '../db/schema.js';
import { newWebhookSecret } from '../encoding.js';
import { newEventId } from '../outbox/events.js';
import { announceDeliveries } from '../outbox/signal.js';
import { type NotificationPayload, notificationEventType } from './model.js';

type Db = Kysely<Database>;

/**
 * Notifications go through the outbox of src/outbox: an event
 * (`notification.<kind>`, payload `{notification}`) and one delivery to the
 * channel's subscription, written in the caller's transaction. The delivery
 * worker then sends it with the outbox's retries, log, replay and disabling.
 */
export interface NotificationItem {
  subscriptionId: number;
  payload: NotificationPayload;
  /** Not sent before this time (quiet hours); null or past: at once. */
  notBefore?: Date | null;
}

export async function insertNotifications(trx: Db, items: readonly NotificationItem[]): Promise<{ eventId: string; deliveryId: number | null }[]> {
  if (items.length === 0) return [];
  const rows = items.map((item, ord) => ({
    ord,
    id: newEventId(),
    type: notificationEventType(item.payload.kind),
    subscription_id: item.subscriptionId,
    payload: { notification: item.payload },
    not_before: item.notBefore?.toISOString() ?? null,
  }));
  const deliveries = new Map<string, number>();
  for (let i = 0; i < rows.length; i += 500) {
    const { rows: inserted } = await sql<{ id: number; event_id: string }>`
      with input as (
        select * from jsonb_to_recordset(cast(${JSON.stringify(rows.slice(i, i + 500))}::text as jsonb))
               as x(ord int, id text, type text, subscription_id int8, payload jsonb, not_before timestamptz)
      ), events as (
        insert into webhook_events (id, type, subject_account_id, payload, occurred_at)
        select id, type, null, payload, now() from input order by ord
        returning id)
      insert into webhook_deliveries (event_id, subscription_id, next_attempt_at)
      select i.id, s.id, greatest(now(), coalesce(i.not_before, now()))
        from events e
        join input i on i.id = e.id
        join webhook_subscriptions s on s.id = i.subscription_id and s.active
       order by i.ord
      returning id, event_id`.execute(trx);
    for (const d of inserted) deliveries.set(d.event_id, Number(d.id));
  }
  if (deliveries.size > 0) await announceDeliveries(trx);
  return rows.map((r) => ({ eventId: r.id, deliveryId: deliveries.get(r.id) ?? null }));
}

/**
 * The email "subscription" of each address (`mailto:…`, format email),
 * created on first use. Concurrent callers wait on the unique index and
 * find the winner's row. Returns active subscription ids by address.
 */
export async function emailSubscriptions(trx: Db, addresses: readonly string[]): Promise<Map<string, { id: number; active: boolean }>> {
  const unique = [...new Set(addresses)].sort();
  if (unique.length === 0) return new Map();
  const urls = unique.map((a) => `mailto:${a}`);
  const secrets = unique.map(() => newWebhookSecret());
  await sql`
    insert into webhook_subscriptions (url, event_types, secret, format, purpose, description)
    select url, '{notification}', secret, 'email', 'notification', 'notifications by email'
      from unnest(${urls}::text[], ${secrets}::text[]) as x(url, secret)
     order by url
    on conflict (url) where format = 'email' do nothing`.execute(trx);
  const found = await trx
    .selectFrom('webhook_subscriptions')
    .select(['id', 'url', 'active'])
    .where('format', '=', 'email')
    .where('url', 'in', urls)
    .execute();
  return new Map(found.map((r) => [r.url.slice('mailto:'.length), { id: Number(r.id), active: r.active }]));
}
