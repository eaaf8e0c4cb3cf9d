import ical, { ICalEventStatus } from 'ical-generator';
import type { Kysely } from 'kysely';
import type { Database } from '../db/schema.js';
import { withAccount } from './repository.js';
import type { FollowUpKind } from '../db/tables/follow-ups.js';
import type { TeamMember } from './team.js';
import { DAY, MINUTE } from './working-time.js';

export const CALENDAR_PAST_DAYS = 30;
export const CALENDAR_FUTURE_DAYS = 90;
/** At most this many events in one feed (the window keeps it far below). */
const MAX_EVENTS = 5_000;

const LABELS: Record<FollowUpKind, string> = { call: 'Call', visit: 'Visit', email: 'Email', qbr: 'QBR' };
const LENGTH_MINUTES: Record<FollowUpKind, number> = { call: 30, visit: 60, email: 15, qbr: 60 };

/** The UID of a follow-up's event: stable for its life, so clients update rather than duplicate it. */
export const eventUid = (id: number) => `follow-up-${id}@healthscore`;

/**
 * An assignee's follow-ups due from 30 days ago to 90 days ahead as an
 * iCalendar feed. Times are UTC (`DTSTART:…Z`), an event starts at the due
 * time; cancelled follow-ups stay in the feed with STATUS:CANCELLED so
 * subscribed clients remove them.
 */
export async function calendarFeed(db: Kysely<Database>, member: TeamMember, now = new Date()): Promise<string> {
  const rows = await withAccount(db)
    .where('f.assignee', '=', member.email)
    .where('f.due_at', '>=', new Date(now.getTime() - CALENDAR_PAST_DAYS * DAY))
    .where('f.due_at', '<', new Date(now.getTime() + CALENDAR_FUTURE_DAYS * DAY))
    .orderBy('f.due_at')
    .orderBy('f.id')
    .limit(MAX_EVENTS)
    .execute();

  const calendar = ical({
    name: `Follow-ups: ${member.name}`,
    prodId: { company: 'healthscore', product: 'follow-ups', language: 'EN' },
    ttl: 15 * 60,
  });
  for (const row of rows) {
    const lines = [
      row.title,
      row.reason,
      `Account: ${row.account_name} (${row.external_id})`,
      `Status: ${row.status}${row.outcome ? ` (${row.outcome})` : ''}`,
      `Follow-up ${row.id}, due ${row.due_at.toISOString()}`,
    ];
    if (row.escalated_at) lines.push(`Escalated${row.escalated_to ? ` to ${row.escalated_to}` : ''}: ${row.escalation_reason}`);
    calendar.createEvent({
      id: eventUid(row.id),
      start: row.due_at,
      end: new Date(row.due_at.getTime() + LENGTH_MINUTES[row.kind] * MINUTE),
      summary: `${LABELS[row.kind]}: ${row.account_name}`,
      description: lines.join('\n'),
      status: row.status === 'cancelled' ? ICalEventStatus.CANCELLED : ICalEventStatus.CONFIRMED,
      stamp: row.updated_at,
      created: row.created_at,
      lastModified: row.updated_at,
    });
  }
  return calendar.toString();
}
