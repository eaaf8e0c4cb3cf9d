/** Webhook subscriptions: who gets which events, signed with which secret. */
import { type Kysely, type Selectable, sql } from 'kysely';
import type { Database } from '../../db/schema.js';
import { inTransaction } from '../../db/transaction.js';
import { newWebhookSecret } from '../../encoding.js';
import type { EventType, WebhookFormat } from '../../outbox/events.js';
import { announceDeliveries } from '../../outbox/signal.js';
import type { OutboundWebhookTables } from '../../db/tables/webhooks.js';

type Db = Kysely<Database>;
type SubscriptionRow = Selectable<OutboundWebhookTables['webhook_subscriptions']>;

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
