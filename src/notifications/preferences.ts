import { type Kysely, sql } from 'kysely';
import type { Database } from '../db/schema.js';
import { normaliseEmail } from '../follow-ups/team.js';
import { DEFAULT_EVENTS, type Language, type PersonalEvent } from './model.js';
import { inTransaction } from '../db/transaction.js';
import { announceDeliveries } from '../outbox/signal.js';
import { emailSubscriptions } from './outbox.js';
import { zoneOr } from './time.js';

type Db = Kysely<Database>;

/** Quiet hours when a person has not chosen any: 21:00 to 07:00 local time. */
export const DEFAULT_QUIET_HOURS = { start: 21 * 60, end: 7 * 60 } as const;
/** The morning digest: 08:00 local time. */
export const DEFAULT_DIGEST_MINUTE = 8 * 60;

/** A team member's notification settings, with the defaults filled in. */
export interface Preferences {
  email: string;
  name: string;
  events: PersonalEvent[];
  /** A chat channel of the person's (notification_channels.id); null: email to `email`. */
  channelId: number | null;
  language: Language;
  /** The zone used: the preference, else the member's zone, else UTC. */
  timezone: string;
  /** Whether the zone is the person's own choice (else it follows the member's zone). */
  timezoneSet: boolean;
  quietHours: { start: number; end: number } | null;
  digestMinute: number;
  /** ISO weekdays the digest goes out; defaults to the member's working days. */
  digestDays: number[];
  /** False while the person has never saved preferences: all of this is the defaults. */
  saved: boolean;
  /** Their email address as a channel: disabled after the mail server refused it permanently (or by hand). */
  emailStatus: { active: boolean; disabledReason: string | null };
  updatedAt: Date | null;
}

export interface PreferencesInput {
  events?: PersonalEvent[];
  channelId?: number | null;
  language?: Language;
  timezone?: string | null;
  quietHours?: { start: number; end: number } | null;
  digestMinute?: number;
  digestDays?: number[] | null;
}

interface Row {
  email: string;
  name: string;
  member_timezone: string | null;
  working_days: number[];
  events: string[] | null;
  channel_id: number | null;
  language: Language | null;
  timezone: string | null;
  quiet_start: number | null;
  quiet_end: number | null;
  digest_minute: number | null;
  digest_days: number[] | null;
  saved: boolean;
  updated_at: Date | null;
  email_active: boolean | null;
  email_disabled_reason: string | null;
}

function toPreferences(row: Row): Preferences {
  return {
    email: row.email,
    name: row.name,
    events: row.saved ? (row.events as PersonalEvent[]) : [...DEFAULT_EVENTS],
    channelId: row.channel_id === null ? null : Number(row.channel_id),
    language: row.language ?? 'en',
    timezone: zoneOr(row.timezone, zoneOr(row.member_timezone)),
    timezoneSet: row.timezone !== null,
    quietHours: row.saved
      ? row.quiet_start === null || row.quiet_end === null
        ? null
        : { start: row.quiet_start, end: row.quiet_end }
      : { ...DEFAULT_QUIET_HOURS },
    digestMinute: row.digest_minute ?? DEFAULT_DIGEST_MINUTE,
    digestDays: [...(row.digest_days ?? row.working_days)].sort((a, b) => a - b),
    saved: row.saved,
    emailStatus: { active: row.email_active ?? true, disabledReason: row.email_disabled_reason },
    updatedAt: row.updated_at,
  };
}

/** Preferences of the given team members (all of them when `emails` is undefined); people not in team_members are left out. */
export async function loadPreferences(db: Db, emails?: readonly string[]): Promise<Map<string, Preferences>> {
  if (emails && emails.length === 0) return new Map();
  const filter = emails ? sql`where m.email = any(${[...new Set(emails.map(normaliseEmail))]}::text[])` : sql``;
  const { rows } = await sql<Row>`
    select m.email, m.name, m.timezone as member_timezone, m.working_days,
           p.events, p.channel_id, p.language, p.timezone, p.quiet_start, p.quiet_end, p.digest_minute, p.digest_days,
           (p.member_email is not null) as saved, p.updated_at,
           s.active as email_active, s.disabled_reason as email_disabled_reason
      from team_members m
      left join notification_preferences p on p.member_email = m.email
      left join webhook_subscriptions s on s.format = 'email' and s.url = 'mailto:' || m.email
      ${filter}
     order by m.email`.execute(db);
  return new Map(rows.map((r) => [r.email, toPreferences(r)]));
}

export async function findPreferences(db: Db, email: string): Promise<Preferences | undefined> {
  return (await loadPreferences(db, [email])).get(normaliseEmail(email));
}

export type SaveResult = Preferences | 'no_member' | 'no_channel';

/**
 * Saves a person's preferences: fields not given keep their current (or
 * default) value. A channel must exist and be a team channel or the person's own.
 */
export async function savePreferences(db: Db, email: string, input: PreferencesInput): Promise<SaveResult> {
  const current = await findPreferences(db, email);
  if (!current) return 'no_member';
  const channelId = input.channelId === undefined ? current.channelId : input.channelId;
  if (channelId !== null && input.channelId !== undefined) {
    const channel = await db.selectFrom('notification_channels').select(['id', 'owner_email']).where('id', '=', channelId).executeTakeFirst();
    if (!channel || (channel.owner_email !== null && channel.owner_email !== current.email)) return 'no_channel';
  }
  const quiet = input.quietHours === undefined ? current.quietHours : input.quietHours;
  const days = input.digestDays === undefined ? (current.saved ? current.digestDays : null) : input.digestDays;
  const values = {
    events: sql<string[]>`${`{${[...new Set(input.events ?? current.events)].join(',')}}`}::text[]`,
    channel_id: channelId,
    language: input.language ?? current.language,
    timezone: input.timezone === undefined ? (current.timezoneSet ? current.timezone : null) : input.timezone,
    quiet_start: quiet?.start ?? null,
    quiet_end: quiet?.end ?? null,
    digest_minute: input.digestMinute ?? current.digestMinute,
    digest_days: days === null ? null : sql<number[]>`${`{${[...new Set(days)].sort().join(',')}}`}::integer[]`,
  };
  await db
    .insertInto('notification_preferences')
    .values({ member_email: current.email, ...values })
    .onConflict((oc) => oc.column('member_email').doUpdateSet({ ...values, updated_at: sql<Date>`now()` }))
    .execute();
  return (await findPreferences(db, current.email))!;
}

/**
 * Re-enables a person's email (after the mail server refused the address,
 * or a pause by hand), sending what it held; or pauses it.
 */
export async function setEmailActive(db: Db, email: string, active: boolean): Promise<void> {
  const address = normaliseEmail(email);
  await inTransaction(db, async (trx) => {
    // Pausing an address never written to yet: its subscription first.
    if (!active) await emailSubscriptions(trx, [address]);
    const row = await trx
      .updateTable('webhook_subscriptions')
      .set(
        active
          ? { active: true, disabled_reason: null, disabled_at: null, failing_since: null, updated_at: sql<Date>`now()` }
          : { active: false, disabled_reason: 'deactivated through the API', disabled_at: sql<Date>`now()`, updated_at: sql<Date>`now()` },
      )
      .where('format', '=', 'email')
      .where('url', '=', `mailto:${address}`)
      .where('active', '=', !active)
      .returning('id')
      .executeTakeFirst();
    if (row && active) await announceDeliveries(trx);
  });
}

/** Back to the defaults. */
export async function resetPreferences(db: Db, email: string): Promise<boolean> {
  const result = await db.deleteFrom('notification_preferences').where('member_email', '=', normaliseEmail(email)).executeTakeFirst();
  return Number(result.numDeletedRows) > 0;
}
