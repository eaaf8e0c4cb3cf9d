/** The delivery log: deliveries with their attempts, as the API and the web app show them. */
import type { Kysely } from 'kysely';
import type { Database } from '../db/schema.js';

type Db = Kysely<Database>;

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
