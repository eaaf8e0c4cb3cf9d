import { type Kysely, sql } from 'kysely';
import { loadDigests } from '../alerts/digest.js';
import type { Database } from '../db/schema.js';
import { inTransaction } from '../db/transaction.js';
import type { DigestAccount, DigestContent, DigestFollowUp, NotificationPayload, Severity } from './model.js';
import { emailSubscriptions, insertNotifications } from './outbox.js';
import { loadPreferences, type Preferences } from './preferences.js';
import { afterQuietHours, localClock, localInstant } from './time.js';

type Db = Kysely<Database>;

/** At most this many entries per digest section. */
const SECTION_LIMIT = 25;

const SEVERITY_RANK: Record<Severity, number> = { critical: 4, high: 3, medium: 2, low: 1 };

const fmtDelta = (delta: number) => `${delta > 0 ? '+' : '−'}${Math.abs(Math.round(delta))}`;

/**
 * One person's digest for a local date: their red and newly yellow accounts
 * (owner or retention owner) with what moved them, their open alerts by
 * severity, their follow-ups due today and overdue, and renewals of their
 * accounts within 30 days.
 */
export async function buildDigest(db: Db, person: Pick<Preferences, 'email' | 'timezone'>, now: Date): Promise<DigestContent> {
  const me = person.email;
  const clock = localClock(now, person.timezone);
  const startOfToday = localInstant(clock.day, 0, person.timezone);
  const endOfToday = localInstant(clock.day + 1, 0, person.timezone);

  const { rows: accounts } = await sql<{ id: number; external_id: string; name: string; score: number | null; band: string }>`
    select a.id, a.external_id, a.name, h.score, h.band
      from accounts a
      join health_scores h on h.account_id = a.id
     where a.archived_at is null
       and (lower(a.owner) = ${me} or lower(a.retention_owner) = ${me})
       and (h.band = 'red' or (h.band = 'yellow' and h.band_changed_at >= ${now}::timestamptz - interval '1 day'))
     order by h.score nulls last, a.external_id
     limit ${2 * SECTION_LIMIT}::int`.execute(db);
  const digests = await loadDigests(db, accounts.map((a) => Number(a.id)), 'week');
  const toDigestAccount = (a: (typeof accounts)[number]): DigestAccount => {
    const d = digests.get(Number(a.id));
    const losses = (d?.attribution?.changes ?? []).filter((c) => c.delta <= -1).sort((x, y) => x.delta - y.delta).slice(0, 3);
    const moved = losses.length
      ? losses.map((c) => `${c.label} ${fmtDelta(c.delta)}`)
      : (d?.explanation ?? [])
          .filter((m) => m.status === 'ok' && m.subScore !== null && m.subScore < 50)
          .sort((x, y) => (x.subScore ?? 0) - (y.subScore ?? 0))
          .slice(0, 2)
          .map((m) => m.sentence);
    return { externalId: a.external_id, name: a.name, score: a.score === null ? null : Math.round(a.score), moved };
  };

  const { rows: alerts } = await sql<{ id: number; severity: Severity; reasons: unknown; external_id: string; name: string }>`
    select al.id, al.severity, al.reasons, a.external_id, a.name
      from alerts al join accounts a on a.id = al.account_id
     where lower(al.assignee) = ${me} and al.status <> 'resolved'
     order by al.id
     limit 200`.execute(db);

  const { rows: followUps } = await sql<{ id: number; title: string; kind: string; due_at: Date; external_id: string; name: string }>`
    select f.id, f.title, f.kind, f.due_at, a.external_id, a.name
      from follow_ups f join accounts a on a.id = f.account_id
     where f.assignee = ${me} and f.status in ('scheduled', 'missed') and f.due_at < ${endOfToday}::timestamptz
     order by f.due_at, f.id
     limit ${4 * SECTION_LIMIT}::int`.execute(db);
  const toFollowUp = (f: (typeof followUps)[number]): DigestFollowUp => ({
    id: Number(f.id),
    title: f.title,
    kind: f.kind,
    dueAt: f.due_at.toISOString(),
    account: { externalId: f.external_id, name: f.name },
  });

  const today = clock.date;
  const { rows: renewals } = await sql<{ external_id: string; name: string; date: string; days: number }>`
    select a.external_id, a.name, min(r.d)::text as date, (min(r.d) - ${today}::date)::int as days
      from accounts a
      cross join lateral (
        select a.renewal_date as d
        union all
        select c.end_date from contracts c where c.account_id = a.id and c.status = 'active') r
     where a.archived_at is null
       and (lower(a.owner) = ${me} or lower(a.retention_owner) = ${me})
       and r.d between ${today}::date and ${today}::date + 30
     group by a.external_id, a.name
     order by min(r.d), a.external_id
     limit ${SECTION_LIMIT}::int`.execute(db);

  return {
    date: today,
    red: accounts.filter((a) => a.band === 'red').slice(0, SECTION_LIMIT).map(toDigestAccount),
    newlyYellow: accounts.filter((a) => a.band === 'yellow').slice(0, SECTION_LIMIT).map(toDigestAccount),
    alerts: alerts
      .sort((x, y) => SEVERITY_RANK[y.severity] - SEVERITY_RANK[x.severity] || Number(x.id) - Number(y.id))
      .slice(0, SECTION_LIMIT)
      .map((a) => ({
        id: Number(a.id),
        severity: a.severity,
        account: { externalId: a.external_id, name: a.name },
        reason: Array.isArray(a.reasons) && typeof a.reasons[0] === 'string' ? (a.reasons[0] as string) : null,
      })),
    followUpsOverdue: followUps.filter((f) => f.due_at < startOfToday).slice(0, SECTION_LIMIT).map(toFollowUp),
    followUpsToday: followUps.filter((f) => f.due_at >= startOfToday).slice(0, SECTION_LIMIT).map(toFollowUp),
    renewals: renewals.map((r) => ({ account: { externalId: r.external_id, name: r.name }, date: r.date, days: r.days })),
  };
}

/** A digest not sent within this many minutes of its time that day is skipped (a morning digest is not sent at night). */
export const DIGEST_WINDOW_MINUTES = 6 * 60;

/** Whether a person's digest is due at `now`, and for which local date. */
export function digestDue(person: Preferences, now: Date): { date: string; day: number } | undefined {
  if (!person.events.includes('daily_digest')) return undefined;
  const clock = localClock(now, person.timezone);
  if (!person.digestDays.includes(clock.weekday)) return undefined;
  if (clock.minute < person.digestMinute || clock.minute >= person.digestMinute + DIGEST_WINDOW_MINUTES) return undefined;
  return { date: clock.date, day: clock.day };
}

export interface DigestCounts {
  [key: string]: number;
  due: number;
  sent: number;
  /** Held in the outbox until the person's quiet hours end. */
  held: number;
}

/**
 * The daily digests due at `now`: for every team member whose digest time
 * has come on a digest day of theirs and who has none yet for that local
 * date. Exactly once per person and local date across replicas and reruns:
 * each digest is a row of notification_digests (primary key: person,
 * date), inserted in the transaction that writes its outbox event.
 */
export async function sendDigests(db: Db, options: { now?: Date } = {}): Promise<DigestCounts> {
  const now = options.now ?? new Date();
  const people = [...(await loadPreferences(db)).values()];
  const due = people.flatMap((p) => {
    const d = digestDue(p, now);
    return d ? [{ person: p, ...d }] : [];
  });
  const counts: DigestCounts = { due: due.length, sent: 0, held: 0 };
  if (due.length === 0) return counts;
  const done = new Set(
    (
      await db
        .selectFrom('notification_digests')
        .select(['member_email', sql<string>`local_date::text`.as('date')])
        .where('member_email', 'in', due.map((d) => d.person.email))
        .where('local_date', 'in', [...new Set(due.map((d) => d.date))])
        .execute()
    ).map((r) => `${r.member_email} ${r.date}`),
  );
  for (const { person, date } of due) {
    if (done.has(`${person.email} ${date}`)) continue;
    const result = await inTransaction(db, async (trx) => {
      const claimed = await trx
        .insertInto('notification_digests')
        .values({ member_email: person.email, local_date: date })
        .onConflict((oc) => oc.columns(['member_email', 'local_date']).doNothing())
        .returning('member_email')
        .executeTakeFirst();
      if (!claimed) return undefined;
      const content = await buildDigest(trx, person, now);
      const payload: NotificationPayload = {
        kind: 'daily_digest',
        language: person.language,
        timezone: person.timezone,
        recipient: { email: person.email, name: person.name },
        digest: content,
      };
      let subscriptionId: number | undefined;
      if (person.channelId === null) {
        const sub = (await emailSubscriptions(trx, [person.email])).get(person.email);
        if (sub?.active) subscriptionId = sub.id;
      } else {
        const channel = await trx
          .selectFrom('notification_channels as c')
          .innerJoin('webhook_subscriptions as s', 's.id', 'c.subscription_id')
          .select(['c.subscription_id', 's.active'])
          .where('c.id', '=', person.channelId)
          .executeTakeFirst();
        if (channel?.active) subscriptionId = Number(channel.subscription_id);
      }
      if (subscriptionId === undefined) return 'nowhere' as const;
      const notBefore = afterQuietHours(now, person.timezone, person.quietHours?.start ?? null, person.quietHours?.end ?? null);
      const [sent] = await insertNotifications(trx, [{ subscriptionId, payload, notBefore }]);
      await trx
        .updateTable('notification_digests')
        .set({ event_id: sent!.eventId })
        .where('member_email', '=', person.email)
        .where('local_date', '=', date)
        .execute();
      return notBefore.getTime() > now.getTime() ? ('held' as const) : ('sent' as const);
    });
    if (result === 'sent' || result === 'held') counts.sent += 1;
    if (result === 'held') counts.held += 1;
  }
  return counts;
}

