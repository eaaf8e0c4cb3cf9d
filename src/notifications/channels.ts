import { type Kysely, sql } from 'kysely';
import type { Database } from '../db/schema.js';
import { newWebhookSecret } from '../encoding.js';
import { normaliseEmail } from '../follow-ups/team.js';
import { inTransaction } from '../db/transaction.js';
import { announceDeliveries } from '../outbox/signal.js';
import type { ChannelKind, Language, NotificationPayload, RouteEvent, Severity } from './model.js';
import { insertNotifications } from './outbox.js';

type Db = Kysely<Database>;

/**
 * Chat channels (a person's own, or a team's) and the routes that send team
 * channels events. A channel is delivered through its own outbox
 * subscription (purpose `notification`): the URL, the vendor's signing
 * secret, active/disabled state and the delivery log live there.
 */
export interface Channel {
  id: number;
  name: string;
  kind: ChannelKind;
  language: Language;
  /** The person whose own channel it is; null: a team channel. */
  owner: string | null;
  /** Only the host: a chat webhook URL is itself a credential. */
  host: string;
  signed: boolean;
  active: boolean;
  disabledReason: string | null;
  disabledAt: Date | null;
  failingSince: Date | null;
  subscriptionId: number;
  createdAt: Date;
  updatedAt: Date;
}

export interface ChannelInput {
  name: string;
  kind: ChannelKind;
  url: string;
  /** DingTalk and Feishu signing secret ("SEC…" / the bot's secret). */
  signingSecret?: string | null;
  language?: Language;
  owner?: string | null;
}

export type ChannelPatch = Partial<Omit<ChannelInput, 'kind' | 'owner'>> & { active?: boolean };

const hostOf = (url: string) => {
  try {
    return new URL(url).host;
  } catch {
    return '';
  }
};

const channelQuery = (db: Db) =>
  db
    .selectFrom('notification_channels as c')
    .innerJoin('webhook_subscriptions as s', 's.id', 'c.subscription_id')
    .select([
      'c.id',
      'c.name',
      'c.kind',
      'c.language',
      'c.owner_email',
      'c.subscription_id',
      'c.created_at',
      'c.updated_at',
      's.url',
      's.signing_secret',
      's.active',
      's.disabled_reason',
      's.disabled_at',
      's.failing_since',
    ]);

type ChannelRow = Awaited<ReturnType<ReturnType<typeof channelQuery>['executeTakeFirstOrThrow']>>;

const toChannel = (r: ChannelRow): Channel => ({
  id: Number(r.id),
  name: r.name,
  kind: r.kind,
  language: r.language,
  owner: r.owner_email,
  host: hostOf(r.url),
  signed: r.signing_secret !== null,
  active: r.active,
  disabledReason: r.disabled_reason,
  disabledAt: r.disabled_at,
  failingSince: r.failing_since,
  subscriptionId: Number(r.subscription_id),
  createdAt: r.created_at,
  updatedAt: r.updated_at,
});

export async function listChannels(db: Db, filter: { owner?: string } = {}): Promise<Channel[]> {
  let q = channelQuery(db).orderBy('c.id');
  if (filter.owner) q = q.where('c.owner_email', '=', normaliseEmail(filter.owner));
  return (await q.execute()).map(toChannel);
}

export async function findChannel(db: Db, id: number): Promise<Channel | undefined> {
  const row = await channelQuery(db).where('c.id', '=', id).executeTakeFirst();
  return row && toChannel(row);
}

export type ChannelResult = Channel | 'name_taken' | 'no_member';

export async function createChannel(db: Db, input: ChannelInput): Promise<ChannelResult> {
  return inTransaction(db, async (trx) => {
    const owner = input.owner ? normaliseEmail(input.owner) : null;
    if (owner && !(await trx.selectFrom('team_members').select('email').where('email', '=', owner).executeTakeFirst())) return 'no_member';
    if (await trx.selectFrom('notification_channels').select('id').where('name', '=', input.name).executeTakeFirst()) return 'name_taken';
    const sub = await trx
      .insertInto('webhook_subscriptions')
      .values({
        url: input.url,
        event_types: sql<string[]>`'{notification}'::text[]`,
        secret: newWebhookSecret(),
        format: input.kind,
        purpose: 'notification',
        signing_secret: input.signingSecret ?? null,
        description: `notification channel ${input.name}`,
      })
      .returning('id')
      .executeTakeFirstOrThrow();
    const row = await trx
      .insertInto('notification_channels')
      .values({ name: input.name, kind: input.kind, language: input.language ?? 'en', subscription_id: sub.id, owner_email: owner })
      .onConflict((oc) => oc.column('name').doNothing())
      .returning('id')
      .executeTakeFirst();
    if (!row) throw Object.assign(new Error('name taken'), { nameTaken: true });
    return (await findChannel(trx, Number(row.id)))!;
  }).catch((err: unknown) => {
    if ((err as { nameTaken?: boolean }).nameTaken) return 'name_taken' as const;
    throw err;
  });
}

/** Changes a channel; `active: true` re-enables a disabled one (its held deliveries go out). */
export async function updateChannel(db: Db, id: number, patch: ChannelPatch): Promise<Channel | 'name_taken' | undefined> {
  return inTransaction(db, async (trx) => {
    const current = await trx.selectFrom('notification_channels').selectAll().where('id', '=', id).forUpdate().executeTakeFirst();
    if (!current) return undefined;
    if (patch.name !== undefined && patch.name !== current.name) {
      if (await trx.selectFrom('notification_channels').select('id').where('name', '=', patch.name).executeTakeFirst()) return 'name_taken';
    }
    const channel: Record<string, unknown> = {};
    if (patch.name !== undefined) channel.name = patch.name;
    if (patch.language !== undefined) channel.language = patch.language;
    if (Object.keys(channel).length) {
      await trx.updateTable('notification_channels').set({ ...channel, updated_at: sql`now()` } as never).where('id', '=', id).execute();
    }
    const sub: Record<string, unknown> = {};
    if (patch.url !== undefined) sub.url = patch.url;
    if (patch.signingSecret !== undefined) sub.signing_secret = patch.signingSecret;
    const before = await trx.selectFrom('webhook_subscriptions').select('active').where('id', '=', current.subscription_id).forUpdate().executeTakeFirstOrThrow();
    if (patch.active === true && !before.active) Object.assign(sub, { active: true, disabled_reason: null, disabled_at: null, failing_since: null });
    if (patch.active === false && before.active) Object.assign(sub, { active: false, disabled_reason: 'deactivated through the API', disabled_at: sql`now()` });
    if (Object.keys(sub).length) {
      await trx.updateTable('webhook_subscriptions').set({ ...sub, updated_at: sql`now()` } as never).where('id', '=', current.subscription_id).execute();
      if (patch.active === true && !before.active) await announceDeliveries(trx);
    }
    return (await findChannel(trx, id))!;
  });
}

/** Deletes the channel with its routes, pending deliveries and log. People who chose it get email again. */
export async function deleteChannel(db: Db, id: number): Promise<boolean> {
  const row = await db.selectFrom('notification_channels').select('subscription_id').where('id', '=', id).executeTakeFirst();
  if (!row) return false;
  const result = await db.deleteFrom('webhook_subscriptions').where('id', '=', row.subscription_id).executeTakeFirst();
  return Number(result.numDeletedRows) > 0;
}

/** A test message to one channel, through the outbox. */
export async function sendChannelTest(db: Db, id: number): Promise<{ eventId: string; deliveryId: number } | 'not_found' | 'inactive'> {
  return inTransaction(db, async (trx) => {
    const channel = await findChannel(trx, id);
    if (!channel) return 'not_found';
    if (!channel.active) return 'inactive';
    const payload: NotificationPayload = { kind: 'channel_test', language: channel.language, timezone: 'UTC', recipient: null };
    const [sent] = await insertNotifications(trx, [{ subscriptionId: channel.subscriptionId, payload }]);
    return sent!.deliveryId === null ? 'inactive' : { eventId: sent!.eventId, deliveryId: sent!.deliveryId };
  });
}

/* ------------------------------------------------------------------ */
/* Routes                                                              */
/* ------------------------------------------------------------------ */

export interface RouteInfo {
  id: number;
  channelId: number;
  eventTypes: RouteEvent[];
  /** Account segments (case-insensitive); null: any. */
  segments: string[] | null;
  /** Alert severities; null: any (and events that are not alerts). */
  severities: Severity[] | null;
  createdAt: Date;
}

export interface RouteInput {
  eventTypes: RouteEvent[];
  segments?: string[] | null;
  severities?: Severity[] | null;
}

const textArray = (values: readonly string[]) => sql<string[]>`${`{${values.map((v) => `"${v.replace(/["\\]/g, '\\$&')}"`).join(',')}}`}::text[]`;

export async function listRoutes(db: Db, channelId?: number): Promise<RouteInfo[]> {
  let q = db.selectFrom('notification_routes').selectAll().orderBy('id');
  if (channelId !== undefined) q = q.where('channel_id', '=', channelId);
  return (await q.execute()).map((r) => ({
    id: Number(r.id),
    channelId: Number(r.channel_id),
    eventTypes: r.event_types as RouteEvent[],
    segments: r.segments,
    severities: r.severities as Severity[] | null,
    createdAt: r.created_at,
  }));
}

/** A route for a team channel; 'personal' when the channel is someone's own. */
export async function createRoute(db: Db, channelId: number, input: RouteInput): Promise<RouteInfo | 'no_channel' | 'personal'> {
  const channel = await db.selectFrom('notification_channels').select(['id', 'owner_email']).where('id', '=', channelId).executeTakeFirst();
  if (!channel) return 'no_channel';
  if (channel.owner_email !== null) return 'personal';
  const row = await db
    .insertInto('notification_routes')
    .values({
      channel_id: channelId,
      event_types: textArray([...new Set(input.eventTypes)]),
      segments: input.segments?.length ? textArray([...new Set(input.segments.map((s) => s.trim().toLowerCase()))]) : null,
      severities: input.severities?.length ? textArray([...new Set(input.severities)]) : null,
    })
    .returning('id')
    .executeTakeFirstOrThrow();
  return (await listRoutes(db, channelId)).find((r) => r.id === Number(row.id))!;
}

export async function deleteRoute(db: Db, id: number): Promise<boolean> {
  const result = await db.deleteFrom('notification_routes').where('id', '=', id).executeTakeFirst();
  return Number(result.numDeletedRows) > 0;
}
