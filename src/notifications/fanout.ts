import { type Kysely, sql } from 'kysely';
import type { Database } from '../db/schema.js';
import { normaliseEmail } from '../follow-ups/team.js';
import type { AccountPart, Language, NotificationPayload, PersonalEvent, RouteEvent } from './model.js';
import { emailSubscriptions, insertNotifications, type NotificationItem } from './outbox.js';
import { loadPreferences, type Preferences } from './preferences.js';
import { afterQuietHours, zoneOr } from './time.js';

type Db = Kysely<Database>;

/** An event as enqueueEvents wrote it. */
export interface SourceEvent {
  id: string;
  type: string;
  accountId: number | null;
  payload: Record<string, unknown>;
}

const SOURCE_TYPES = new Set(['churn_risk.opened', 'churn_risk.updated', 'churn_risk.resolved', 'follow_up.due', 'follow_up.overdue', 'health.band_changed']);

const ROUTE_EVENT_OF: Record<string, RouteEvent | undefined> = {
  'churn_risk.opened': 'alert_opened',
  'churn_risk.resolved': 'alert_resolved',
  'health.band_changed': 'band_change',
  'follow_up.due': 'follow_up_due',
  'follow_up.overdue': 'follow_up_overdue',
};

const str = (v: unknown): string | null => (typeof v === 'string' && v.trim() !== '' ? v : null);
const num = (v: unknown): number | null => (typeof v === 'number' && Number.isFinite(v) ? v : null);
const obj = (v: unknown): Record<string, unknown> => (v && typeof v === 'object' && !Array.isArray(v) ? (v as Record<string, unknown>) : {});
const email = (v: unknown) => {
  const s = str(v);
  return s && s.includes('@') ? normaliseEmail(s) : null;
};

interface AccountInfo {
  id: number;
  external_id: string;
  name: string;
  segment: string | null;
  tier: string | null;
  owner: string | null;
  retention_owner: string | null;
  timezone: string | null;
  score: number | null;
  band: string | null;
}

/** Who hears about an event as a person, and as what. */
function personalTargets(e: SourceEvent, account: AccountInfo | undefined): [string, PersonalEvent][] {
  const p = e.payload;
  const alert = obj(p.alert);
  const acc = obj(p.account);
  const owners = [email(acc.owner) ?? email(account?.owner), email(acc.retentionOwner) ?? email(account?.retention_owner)].filter((x): x is string => x !== null);
  const out: [string, PersonalEvent][] = [];
  switch (e.type) {
    case 'churn_risk.opened': {
      const assignee = email(alert.assignee);
      if (assignee) out.push([assignee, 'alert_assigned']);
      for (const o of owners) if (o !== assignee) out.push([o, 'alert_on_my_accounts']);
      break;
    }
    case 'churn_risk.updated': {
      const action = str(obj(p.change).action);
      const assignee = email(alert.assignee);
      if (assignee && (action === 'assigned' || action === 'reassigned')) out.push([assignee, 'alert_assigned']);
      break;
    }
    case 'follow_up.due': {
      const assignee = email(p.assignee);
      if (assignee) out.push([assignee, 'follow_up_due']);
      break;
    }
    case 'follow_up.overdue': {
      const assignee = email(p.assignee);
      if (assignee) out.push([assignee, 'follow_up_overdue']);
      const manager = email(p.escalatedTo);
      if (manager && manager !== assignee) out.push([manager, 'follow_up_overdue']);
      break;
    }
    case 'health.band_changed':
      for (const o of owners) out.push([o, 'band_change']);
      break;
  }
  const seen = new Set<string>();
  return out.filter(([who]) => (seen.has(who) ? false : (seen.add(who), true)));
}

function accountPart(e: SourceEvent, account: AccountInfo | undefined): AccountPart | undefined {
  const acc = obj(e.payload.account);
  const externalId = str(acc.externalId) ?? account?.external_id;
  if (!externalId) return undefined;
  return {
    externalId,
    name: str(acc.name) ?? account?.name ?? externalId,
    score: num(e.payload.score) ?? account?.score ?? null,
    band: str(e.payload.band) ?? account?.band ?? null,
    ...(e.type === 'health.band_changed' ? { previousBand: str(e.payload.previousBand) } : {}),
  };
}

function notificationPayload(
  e: SourceEvent,
  kind: NotificationPayload['kind'],
  account: AccountInfo | undefined,
  to: { language: Language; timezone: string; recipient: NotificationPayload['recipient'] },
): NotificationPayload {
  const p = e.payload;
  const alert = obj(p.alert);
  const payload: NotificationPayload = { kind, ...to, account: accountPart(e, account) };
  if (e.type.startsWith('churn_risk.')) {
    payload.alert = {
      id: num(alert.id) ?? 0,
      severity: str(alert.severity) ?? 'medium',
      ruleKey: str(alert.ruleKey) ?? '',
      status: str(alert.status) ?? '',
      assignee: str(alert.assignee),
      reasons: Array.isArray(alert.reasons) ? alert.reasons.filter((r): r is string => typeof r === 'string').slice(0, 4) : [],
      resolution: str(alert.resolution),
    };
  }
  if (e.type.startsWith('follow_up.')) {
    payload.followUp = {
      id: num(p.followUpId) ?? 0,
      title: str(p.title) ?? '',
      kind: str(p.kind) ?? 'call',
      dueAt: str(p.dueAt) ?? new Date().toISOString(),
      assignee: str(p.assignee),
      ...(e.type === 'follow_up.overdue' ? { escalatedTo: str(p.escalatedTo) } : {}),
    };
  }
  return payload;
}

interface RouteRow {
  id: number;
  event_types: string[];
  segments: string[] | null;
  severities: string[] | null;
  subscription_id: number;
  language: Language;
}

/**
 * Notifications for events just enqueued, in the same transaction: the
 * people they concern (by their preferences, quiet hours and channel) and
 * the team channels whose routes match. Called by enqueueEvents; does
 * nothing (and no query) for event types no notification is made of.
 */
export async function notifyForEvents(trx: Db, events: readonly SourceEvent[], now = new Date()): Promise<number> {
  const relevant = events.filter((e) => SOURCE_TYPES.has(e.type));
  if (relevant.length === 0) return 0;
  const { rows: flags } = await sql<{ people: boolean; routes: boolean }>`
    select exists (select 1 from team_members) as people,
           exists (select 1 from notification_routes) as routes`.execute(trx);
  if (!flags[0]?.people && !flags[0]?.routes) return 0;

  const accountIds = [...new Set(relevant.map((e) => e.accountId).filter((id): id is number => id !== null))];
  const { rows: accountRows } = accountIds.length
    ? await sql<AccountInfo>`
        select a.id, a.external_id, a.name, a.segment, a.tier, a.owner, a.retention_owner, a.timezone, h.score, h.band
          from accounts a left join health_scores h on h.account_id = a.id
         where a.id = any(${accountIds}::int8[])`.execute(trx)
    : { rows: [] as AccountInfo[] };
  const accounts = new Map(accountRows.map((a) => [Number(a.id), a]));
  const accountOf = (e: SourceEvent) => (e.accountId === null ? undefined : accounts.get(e.accountId));

  const items: NotificationItem[] = [];
  const emailItems: { address: string; payload: NotificationPayload; notBefore: Date }[] = [];

  if (flags[0]?.people) {
    const targets = relevant.flatMap((e) => personalTargets(e, accountOf(e)).map(([who, kind]) => ({ e, who, kind })));
    const prefs: Map<string, Preferences> = targets.length ? await loadPreferences(trx, targets.map((t) => t.who)) : new Map();
    const channelIds = [...new Set([...prefs.values()].map((p) => p.channelId).filter((id): id is number => id !== null))];
    const channels = new Map(
      channelIds.length
        ? (
            await trx
              .selectFrom('notification_channels as c')
              .innerJoin('webhook_subscriptions as s', 's.id', 'c.subscription_id')
              .select(['c.id', 'c.subscription_id', 's.active'])
              .where('c.id', 'in', channelIds)
              .execute()
          ).map((c) => [Number(c.id), c])
        : [],
    );
    for (const { e, who, kind } of targets) {
      const pref = prefs.get(who);
      if (!pref || !pref.events.includes(kind)) continue;
      const payload = notificationPayload(e, kind, accountOf(e), {
        language: pref.language,
        timezone: pref.timezone,
        recipient: { email: pref.email, name: pref.name },
      });
      const notBefore = afterQuietHours(now, pref.timezone, pref.quietHours?.start ?? null, pref.quietHours?.end ?? null);
      if (pref.channelId === null) emailItems.push({ address: pref.email, payload, notBefore });
      else {
        const channel = channels.get(pref.channelId);
        if (channel?.active) items.push({ subscriptionId: Number(channel.subscription_id), payload, notBefore });
      }
    }
  }

  if (flags[0]?.routes) {
    const { rows: routes } = await sql<RouteRow>`
      select r.id, r.event_types, r.segments, r.severities, c.subscription_id, c.language
        from notification_routes r
        join notification_channels c on c.id = r.channel_id
        join webhook_subscriptions s on s.id = c.subscription_id and s.active
       where c.owner_email is null
       order by r.id`.execute(trx);
    for (const e of relevant) {
      const kind = ROUTE_EVENT_OF[e.type];
      if (!kind) continue;
      const account = accountOf(e);
      const segment = account?.segment?.toLowerCase() ?? null;
      const severity = str(obj(e.payload.alert).severity);
      const sent = new Set<number>();
      for (const route of routes) {
        if (!route.event_types.includes(kind)) continue;
        if (route.segments && (segment === null || !route.segments.map((s) => s.toLowerCase()).includes(segment))) continue;
        if (route.severities && (severity === null || !route.severities.includes(severity))) continue;
        // Two routes to one channel send the event there once.
        if (sent.has(Number(route.subscription_id))) continue;
        sent.add(Number(route.subscription_id));
        items.push({
          subscriptionId: Number(route.subscription_id),
          payload: notificationPayload(e, kind, account, { language: route.language, timezone: zoneOr(account?.timezone), recipient: null }),
        });
      }
    }
  }

  if (emailItems.length) {
    const subs = await emailSubscriptions(trx, emailItems.map((i) => i.address));
    for (const i of emailItems) {
      const sub = subs.get(i.address);
      if (sub?.active) items.push({ subscriptionId: sub.id, payload: i.payload, notBefore: i.notBefore });
    }
  }
  await insertNotifications(trx, items);
  return items.length;
}
