import { type Kysely, sql } from 'kysely';
import type { Database } from '../db/schema.js';
import { enqueueEvents } from '../outbox/index.js';
import { activePlaybooks, type Playbook } from './playbooks.js';
import { eventPayload, type FollowUpWithAccount } from './repository.js';
import { calendarOf, capacityOf, type MemberSettings } from './team.js';
import { DuePacer } from './pacing.js';
import { type CandidateRow, candidatesQuery } from './triggers.js';
import {
  addWorkingTime,
  atLocalTime,
  isoWeekday,
  localDayNumber,
  localTimeOfDay,
  nextWorkingDay,
  snapToWorkingTime,
  startOfLocalDate,
  type WorkCalendar,
} from './working-time.js';

type Db = Kysely<Database>;

export interface PlanOptions {
  /** The planning time (default: now). Causes after it are ignored; due times are never before it. */
  now?: Date;
  /** Candidates fetched, scheduled and inserted per round (default 2,000). */
  chunkSize?: number;
}

export type PlanCounts = {
  /** Active, enabled playbooks run. */
  playbooks: number;
  /** Causes found without a follow-up. */
  candidates: number;
  /** Follow-ups created (and follow_up.created events emitted). */
  created: number;
  /** Of those, moved to a later day because the assignee's day was full. */
  movedForCapacity: number;
  /** Of those, already due when planned and so spread over the assignee's working time (src/follow-ups/pacing.ts). */
  spread: number;
};

interface Planned {
  candidate: CandidateRow;
  calendar: WorkCalendar;
  capacity: number;
  /** The playbook's deadline from the cause; */
  deadline: Date;
  /** and the due time: the deadline, or the planning time when that has passed. */
  due: Date;
}

const member = (c: CandidateRow): MemberSettings | undefined =>
  c.work_start === null
    ? undefined
    : {
        timezone: c.member_tz,
        work_start: c.work_start,
        work_end: c.work_end!,
        working_days: c.working_days!,
        daily_capacity: c.daily_capacity!,
        manager_email: null,
      };

/** The playbook's deadline from the cause. */
export function deadlineFor(candidate: Pick<CandidateRow, 'basis_at' | 'basis_date'>, playbook: Playbook, calendar: WorkCalendar): Date {
  const basis = candidate.basis_at ?? startOfLocalDate(candidate.basis_date!, calendar.timeZone);
  return addWorkingTime(basis, playbook.definition.due, calendar);
}

/** The due time before pacing and capacity: the playbook's deadline from the cause, never before now. */
export function dueFor(candidate: Pick<CandidateRow, 'basis_at' | 'basis_date'>, playbook: Playbook, calendar: WorkCalendar, now: Date): Date {
  const due = deadlineFor(candidate, playbook, calendar);
  const earliest = snapToWorkingTime(now, calendar);
  return new Date(Math.ceil(Math.max(due.getTime(), earliest.getTime())));
}

/**
 * Per-assignee load by local day, for capacity: counts of scheduled
 * follow-ups, and skip pointers over days known to be full, so spreading a
 * large batch costs about one step per follow-up.
 */
export class CapacityBook {
  private readonly counts = new Map<string, number>();
  private readonly skips = new Map<string, Map<number, number>>();

  /** Adds counts of existing follow-ups: (assignee, local day number) → n. */
  load(rows: Iterable<{ assignee: string; day: number; n: number }>): void {
    for (const r of rows) this.counts.set(`${r.assignee}|${r.day}`, r.n);
  }

  count(assignee: string, day: number): number {
    return this.counts.get(`${assignee}|${day}`) ?? 0;
  }

  /**
   * Books one follow-up due at `due`: the same moment if the assignee's local
   * day has room, else the same local time (clamped into working hours) on
   * the first later working day that has.
   */
  book(assignee: string, due: Date, calendar: WorkCalendar, capacity: number): { due: Date; moved: boolean } {
    const first = localDayNumber(calendar.timeZone, due.getTime());
    let skip = this.skips.get(assignee);
    if (!skip) this.skips.set(assignee, (skip = new Map()));
    const path: number[] = [];
    let day = first;
    for (;;) {
      const jump = skip.get(day);
      if (jump !== undefined && jump !== day) {
        path.push(day);
        day = jump;
        continue;
      }
      if (calendar.workingDays.includes(isoWeekday(day)) && this.count(assignee, day) < capacity) break;
      path.push(day);
      day = nextWorkingDay(day, calendar);
    }
    for (const d of path) skip.set(d, day);
    this.counts.set(`${assignee}|${day}`, this.count(assignee, day) + 1);
    if (day === first) return { due, moved: false };
    return { due: atLocalTime(day, localTimeOfDay(calendar.timeZone, due.getTime()), calendar), moved: true };
  }
}

/**
 * The planning run: for every active playbook, finds the causes over all
 * accounts that have no follow-up yet (one set-based query per page of a few
 * thousand), computes due times in working hours, spreads them over the
 * assignees' capacity, inserts each page in one statement (ON CONFLICT DO
 * NOTHING on account, playbook and anchor) and emits follow_up.created for
 * each follow-up created, in the same transaction. Running it again creates
 * nothing new.
 */
export async function planFollowUps(db: Db, options: PlanOptions = {}): Promise<PlanCounts> {
  const now = options.now ?? new Date();
  const chunkSize = options.chunkSize ?? 2_000;
  const counts: PlanCounts = { playbooks: 0, candidates: 0, created: 0, movedForCapacity: 0, spread: 0 };
  const pacer = new DuePacer();
  const playbooks = await activePlaybooks(db);
  counts.playbooks = playbooks.length;
  for (const playbook of playbooks) {
    let after: { accountId: number; anchor: string } | null = null;
    for (;;) {
      const rows: CandidateRow[] = (await candidatesQuery(playbook, { now, after, limit: chunkSize }).execute(db)).rows;
      if (rows.length === 0) break;
      counts.candidates += rows.length;
      const last: CandidateRow = rows.at(-1)!;
      after = { accountId: last.account_id, anchor: last.anchor };
      const result = await scheduleChunk(db, playbook, rows, now, pacer);
      counts.created += result.created;
      counts.movedForCapacity += result.moved;
      counts.spread += result.spread;
      if (rows.length < chunkSize) break;
    }
  }
  return counts;
}

async function scheduleChunk(db: Db, playbook: Playbook, rows: CandidateRow[], now: Date, pacer: DuePacer) {
  const planned: Planned[] = rows.map((candidate) => {
    const settings = member(candidate);
    const calendar = calendarOf(settings, candidate.account_tz);
    const deadline = deadlineFor(candidate, playbook, calendar);
    const earliest = snapToWorkingTime(now, calendar);
    return { candidate, calendar, capacity: capacityOf(settings), deadline, due: new Date(Math.ceil(Math.max(deadline.getTime(), earliest.getTime()))) };
  });
  // Longest overdue first: the pacer hands out the earliest slots in this order.
  planned.sort((a, b) => a.due.getTime() - b.due.getTime() || a.deadline.getTime() - b.deadline.getTime() || a.candidate.account_id - b.candidate.account_id);

  return db.transaction().execute(async (trx) => {
    const book = new CapacityBook();
    const assignees = [...new Set(planned.flatMap((p) => (p.candidate.assignee ? [p.candidate.assignee] : [])))];
    if (assignees.length > 0) {
      const from = new Date(planned[0]!.due.getTime() - 2 * 86_400_000);
      const { rows: load } = await sql<{ assignee: string; day: number; n: number }>`
        select assignee, ((due_at at time zone timezone)::date - date '1970-01-01') as day, count(*)::int as n
          from follow_ups
         where status = 'scheduled' and assignee = any(${assignees}::text[]) and due_at >= ${from}::timestamptz
         group by 1, 2`.execute(trx);
      book.load(load);
    }
    let moved = 0;
    let spread = 0;
    const values = planned.map((p) => {
      const c = p.candidate;
      let due = p.due;
      if (c.assignee && p.deadline.getTime() <= now.getTime()) {
        due = pacer.slot(c.assignee, due, p.calendar, p.capacity);
        if (due.getTime() !== p.due.getTime()) spread += 1;
      }
      if (c.assignee) {
        const booked = book.book(c.assignee, due, p.calendar, p.capacity);
        due = booked.due;
        if (booked.moved) moved += 1;
      }
      return {
        account_id: c.account_id,
        playbook_key: playbook.key,
        playbook_version: playbook.version,
        anchor: c.anchor,
        kind: playbook.definition.kind,
        title: playbook.definition.title,
        reason: c.detail.slice(0, 2000),
        cause_type: c.cause_type,
        cause_ref: c.cause_ref,
        assignee: c.assignee,
        timezone: p.calendar.timeZone,
        due_at: due,
        created_at: now,
        updated_at: now,
      };
    });
    const inserted = await trx
      .insertInto('follow_ups')
      .values(values)
      .onConflict((oc) => oc.columns(['account_id', 'playbook_key', 'anchor']).doNothing())
      .returningAll()
      .execute();
    const names = new Map(rows.map((r) => [r.account_id, { external_id: r.external_id, account_name: r.account_name }]));
    await enqueueEvents(
      trx,
      inserted.map((row) => {
        const full: FollowUpWithAccount = { ...row, ...names.get(row.account_id)! };
        return { type: 'follow_up.created' as const, accountId: row.account_id, occurredAt: now, payload: eventPayload(full) };
      }),
    );
    // Moves of rows another planner inserted first do not count.
    const all = inserted.length === values.length;
    return { created: inserted.length, moved: all ? moved : Math.min(moved, inserted.length), spread: all ? spread : Math.min(spread, inserted.length) };
  });
}
