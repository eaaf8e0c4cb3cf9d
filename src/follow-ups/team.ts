import { base64Url, randomBytes, sha256Hex } from '../encoding.js';
import { type Kysely, type Selectable, sql } from 'kysely';
import type { Database } from '../db/schema.js';
import type { FollowUpTables } from '../db/tables/follow-ups.js';
import { DEFAULT_WORKING_HOURS, timeZoneOr, type WorkCalendar } from './working-time.js';

type Db = Kysely<Database>;
export type TeamMemberRow = Selectable<FollowUpTables['team_members']>;

export const DEFAULT_DAILY_CAPACITY = 8;

/** What scheduling needs to know of an assignee; defaults for anyone not in team_members. */
export interface MemberSettings {
  timezone: string | null;
  work_start: number;
  work_end: number;
  working_days: number[];
  daily_capacity: number;
  manager_email: string | null;
}

export interface TeamMember {
  email: string;
  name: string;
  timezone: string | null;
  workStart: number;
  workEnd: number;
  workingDays: number[];
  dailyCapacity: number;
  managerEmail: string | null;
  calendarTokenCreatedAt: Date | null;
  createdAt: Date;
  updatedAt: Date;
}

export interface TeamMemberInput {
  name: string;
  timezone: string | null;
  workStart: number;
  workEnd: number;
  workingDays: number[];
  dailyCapacity: number;
  managerEmail: string | null;
}

export const normaliseEmail = (email: string) => email.trim().toLowerCase();

const toMember = (row: TeamMemberRow): TeamMember => ({
  email: row.email,
  name: row.name,
  timezone: row.timezone,
  workStart: row.work_start,
  workEnd: row.work_end,
  workingDays: [...row.working_days].sort((a, b) => a - b),
  dailyCapacity: row.daily_capacity,
  managerEmail: row.manager_email,
  calendarTokenCreatedAt: row.calendar_token_created_at,
  createdAt: row.created_at,
  updatedAt: row.updated_at,
});

/**
 * The work calendar of an assignee for one follow-up: the member's zone, else
 * the account's, else UTC; the member's hours and days, else the defaults.
 */
export function calendarOf(member: Partial<MemberSettings> | null | undefined, accountTimeZone: string | null | undefined): WorkCalendar {
  return {
    timeZone: timeZoneOr(member?.timezone, timeZoneOr(accountTimeZone)),
    startMinute: member?.work_start ?? DEFAULT_WORKING_HOURS.startMinute,
    endMinute: member?.work_end ?? DEFAULT_WORKING_HOURS.endMinute,
    workingDays: member?.working_days?.length ? member.working_days : DEFAULT_WORKING_HOURS.workingDays,
  };
}

export const capacityOf = (member: Partial<MemberSettings> | null | undefined) => member?.daily_capacity ?? DEFAULT_DAILY_CAPACITY;

export async function listTeamMembers(db: Db): Promise<TeamMember[]> {
  return (await db.selectFrom('team_members').selectAll().orderBy('email').execute()).map(toMember);
}

export async function findTeamMember(db: Db, email: string): Promise<TeamMember | undefined> {
  const row = await db.selectFrom('team_members').selectAll().where('email', '=', normaliseEmail(email)).executeTakeFirst();
  return row && toMember(row);
}

/** Settings of the given assignees that are in the table, by email. */
export async function memberSettings(db: Db, emails: string[]): Promise<Map<string, MemberSettings>> {
  const unique = [...new Set(emails)];
  if (unique.length === 0) return new Map();
  const rows = await db
    .selectFrom('team_members')
    .select(['email', 'timezone', 'work_start', 'work_end', 'working_days', 'daily_capacity', 'manager_email'])
    .where('email', '=', sql<string>`any(${unique}::text[])`)
    .execute();
  return new Map(rows.map((r) => [r.email, r]));
}

/** Creates or replaces a member (the calendar token is kept). */
export async function upsertTeamMember(db: Db, email: string, input: TeamMemberInput): Promise<{ member: TeamMember; created: boolean }> {
  const values = {
    name: input.name,
    timezone: input.timezone,
    work_start: input.workStart,
    work_end: input.workEnd,
    working_days: sql<number[]>`${`{${[...new Set(input.workingDays)].sort().join(',')}}`}::integer[]`,
    daily_capacity: input.dailyCapacity,
    manager_email: input.managerEmail === null ? null : normaliseEmail(input.managerEmail),
  };
  const row = await db
    .insertInto('team_members')
    .values({ email: normaliseEmail(email), ...values })
    .onConflict((oc) => oc.column('email').doUpdateSet({ ...values, updated_at: sql<Date>`now()` }))
    .returning([sql<boolean>`(xmax = 0)`.as('inserted')])
    .returningAll()
    .executeTakeFirstOrThrow();
  const { inserted, ...member } = row as TeamMemberRow & { inserted: boolean };
  return { member: toMember(member), created: inserted };
}

export async function deleteTeamMember(db: Db, email: string): Promise<boolean> {
  const result = await db.deleteFrom('team_members').where('email', '=', normaliseEmail(email)).executeTakeFirst();
  return Number(result.numDeletedRows) > 0;
}

/* ------------------------------------------------------------------ */
/* Calendar tokens                                                     */
/* ------------------------------------------------------------------ */

/** 32 random bytes, base64url: 43 characters. */
export const CALENDAR_TOKEN_PATTERN = /^[A-Za-z0-9_-]{43}$/;

export const hashToken = (token: string): Promise<string> => sha256Hex(token);

/**
 * Replaces a member's calendar token (the old URL stops working at once) and
 * returns the new token; only its hash is stored. Undefined: no such member.
 */
export async function rotateCalendarToken(db: Db, email: string): Promise<{ token: string; createdAt: Date } | undefined> {
  const token = base64Url(randomBytes(32));
  const row = await db
    .updateTable('team_members')
    .set({ calendar_token_hash: await hashToken(token), calendar_token_created_at: sql<Date>`now()`, updated_at: sql<Date>`now()` })
    .where('email', '=', normaliseEmail(email))
    .returning('calendar_token_created_at')
    .executeTakeFirst();
  return row ? { token, createdAt: row.calendar_token_created_at! } : undefined;
}

/** The member a calendar token belongs to. */
export async function memberByCalendarToken(db: Db, token: string): Promise<TeamMember | undefined> {
  if (!CALENDAR_TOKEN_PATTERN.test(token)) return undefined;
  const row = await db.selectFrom('team_members').selectAll().where('calendar_token_hash', '=', await hashToken(token)).executeTakeFirst();
  return row && toMember(row);
}
