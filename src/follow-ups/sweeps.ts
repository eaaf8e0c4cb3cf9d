import { type Kysely, sql } from 'kysely';
import type { Database } from '../db/schema.js';
import { enqueueEvents } from '../outbox/index.js';
import { eventPayload, type FollowUpWithAccount } from './repository.js';
import { calendarOf, type MemberSettings } from './team.js';
import { addWorkingTime } from './working-time.js';

type Db = Kysely<Database>;

export interface SweepOptions {
  now?: Date;
  /** Rows per transaction (default 1,000). */
  chunkSize?: number;
}

export type DueCounts = { notified: number };

/**
 * Emits follow_up.due once per follow-up whose due time has arrived, and
 * records it (due_notified_at) in the same transaction. Rows are claimed with
 * SKIP LOCKED, so overlapping runs never announce one twice.
 */
export async function markDueFollowUps(db: Db, options: SweepOptions = {}): Promise<DueCounts> {
  const now = options.now ?? new Date();
  const chunkSize = options.chunkSize ?? 1_000;
  let notified = 0;
  for (;;) {
    const n = await db.transaction().execute(async (trx) => {
      const { rows } = await sql<FollowUpWithAccount>`
        with due as (
          select id from follow_ups
           where status = 'scheduled' and due_notified_at is null and due_at <= ${now}::timestamptz
           order by due_at, id
           limit ${chunkSize}::int
           for update skip locked
        ), marked as (
          update follow_ups f set due_notified_at = ${now}::timestamptz
            from due where f.id = due.id
          returning f.*
        )
        select marked.*, a.external_id, a.name as account_name
          from marked join accounts a on a.id = marked.account_id
         order by marked.due_at, marked.id`.execute(trx);
      await enqueueEvents(
        trx,
        rows.map((row) => ({ type: 'follow_up.due' as const, accountId: row.account_id, occurredAt: row.due_at, payload: eventPayload(row) })),
      );
      return rows.length;
    });
    notified += n;
    if (n < chunkSize) return { notified };
  }
}

export interface EscalateOptions extends SweepOptions {
  /** Escalate a follow-up this many business days (of its assignee's calendar) past due. Default 2. */
  overdueBusinessDays?: number;
  /** A follow-up this many calendar days past due becomes `missed`. Default 14. */
  missedAfterDays?: number;
}

export type EscalateCounts = { escalated: number; missed: number };

type OverdueRow = {
  id: number;
  due_at: Date;
  timezone: string;
  assignee: string | null;
} & { [K in keyof MemberSettings as `m_${K}`]: MemberSettings[K] | null };

/**
 * Escalates follow-ups overdue by N business days to their assignee's
 * manager (once: escalated_to, escalated_at), emitting follow_up.overdue;
 * then marks those overdue by more than `missedAfterDays` days `missed`.
 * A follow-up whose assignee has no manager on record is escalated to no one
 * (escalated_to null), so the event still goes out once.
 */
export async function escalateOverdue(db: Db, options: EscalateOptions = {}): Promise<EscalateCounts> {
  const now = options.now ?? new Date();
  const chunkSize = options.chunkSize ?? 1_000;
  const businessDays = options.overdueBusinessDays ?? 2;
  const missedAfterDays = options.missedAfterDays ?? 14;
  if (!(businessDays >= 0) || !(missedAfterDays >= 0)) throw new RangeError('overdueBusinessDays and missedAfterDays must be >= 0');
  const reason = `overdue by ${businessDays} business day${businessDays === 1 ? '' : 's'}`;
  let escalated = 0;
  let after: { dueAt: Date; id: number } | null = null;

  for (;;) {
    // N business days take at least N working-day lengths of wall time: a
    // bound per row that leaves only plausible rows for the exact check.
    const query = sql<OverdueRow>`
      select f.id, f.due_at, f.timezone, f.assignee,
             m.timezone as m_timezone, m.work_start as m_work_start, m.work_end as m_work_end,
             m.working_days as m_working_days, m.daily_capacity as m_daily_capacity, m.manager_email as m_manager_email
        from follow_ups f
        left join team_members m on m.email = f.assignee
       where f.status = 'scheduled' and f.escalated_at is null
         and f.due_at <= ${now}::timestamptz
                         - ${businessDays}::float8 * coalesce(m.work_end - m.work_start, 480) * interval '1 minute'
         ${after ? sql`and (f.due_at, f.id) > (${after.dueAt}::timestamptz, ${after.id}::bigint)` : sql``}
       order by f.due_at, f.id
       limit ${chunkSize}::int`;
    const rows: OverdueRow[] = (await query.execute(db)).rows;
    if (rows.length === 0) break;
    const last: OverdueRow = rows.at(-1)!;
    after = { dueAt: last.due_at, id: last.id };

    const targets = rows.flatMap((r) => {
      const member = r.m_work_start === null ? undefined : {
        timezone: r.m_timezone,
        work_start: r.m_work_start,
        work_end: r.m_work_end!,
        working_days: r.m_working_days!,
      };
      const calendar = calendarOf(member, r.timezone);
      const threshold = addWorkingTime(r.due_at, { businessDays }, calendar);
      return threshold.getTime() <= now.getTime() ? [{ id: r.id, escalated_to: r.m_manager_email }] : [];
    });

    if (targets.length > 0) {
      escalated += await db.transaction().execute(async (trx) => {
        const { rows: updated } = await sql<FollowUpWithAccount>`
          with targets as (
            select * from jsonb_to_recordset(cast(${JSON.stringify(targets)}::text as jsonb)) as t(id bigint, escalated_to text)
          ), marked as (
            update follow_ups f
               set escalated_to = targets.escalated_to, escalated_at = ${now}::timestamptz,
                   escalation_reason = ${reason}::text, updated_at = ${now}::timestamptz
              from targets
             where f.id = targets.id and f.status = 'scheduled' and f.escalated_at is null
            returning f.*
          )
          select marked.*, a.external_id, a.name as account_name
            from marked join accounts a on a.id = marked.account_id
           order by marked.due_at, marked.id`.execute(trx);
        await enqueueEvents(
          trx,
          updated.map((row) => ({
            type: 'follow_up.overdue' as const,
            accountId: row.account_id,
            occurredAt: now,
            payload: eventPayload(row, { reason, followUpReason: row.reason, escalatedTo: row.escalated_to, overdueBusinessDays: businessDays }),
          })),
        );
        return updated.length;
      });
    }
    if (rows.length < chunkSize) break;
  }

  let missed = 0;
  for (;;) {
    const result = await sql`
      update follow_ups set status = 'missed', missed_at = ${now}::timestamptz, updated_at = ${now}::timestamptz
       where id in (select id from follow_ups
                     where status = 'scheduled'
                       and due_at < ${now}::timestamptz - ${missedAfterDays}::float8 * interval '1 day'
                     order by due_at, id
                     limit ${chunkSize}::int
                     for update skip locked)`.execute(db);
    const n = Number(result.numAffectedRows ?? 0);
    missed += n;
    if (n < chunkSize) break;
  }
  return { escalated, missed };
}
