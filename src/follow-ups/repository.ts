import { type Kysely, type Selectable, sql } from 'kysely';
import type { Database } from '../db/schema.js';
import { inTransaction } from '../db/transaction.js';
import { enqueueEvent } from '../outbox/index.js';
import type { FollowUpTables, FollowUpOutcome, FollowUpStatus } from '../db/tables/follow-ups.js';
import { calendarOf, memberSettings, normaliseEmail } from './team.js';
import { isWithinWorkingHours, snapToWorkingTime } from './working-time.js';

type Db = Kysely<Database>;
export type FollowUpRow = Selectable<FollowUpTables['follow_ups']>;
export type FollowUpWithAccount = FollowUpRow & { external_id: string; account_name: string };

export interface FollowUp {
  id: number;
  account: { externalId: string; name: string };
  playbook: { key: string; version: number };
  anchor: string;
  kind: FollowUpRow['kind'];
  title: string;
  reason: string;
  cause: { type: FollowUpRow['cause_type']; ref: string };
  assignee: string | null;
  timezone: string;
  dueAt: string;
  status: FollowUpStatus;
  outcome: FollowUpOutcome | null;
  notes: string | null;
  completedAt: string | null;
  cancelledAt: string | null;
  cancelReason: string | null;
  missedAt: string | null;
  dueNotifiedAt: string | null;
  escalation: { to: string | null; at: string; reason: string } | null;
  createdAt: string;
  updatedAt: string;
}

const iso = (d: Date | null) => (d ? d.toISOString() : null);

export function toFollowUp(row: FollowUpWithAccount): FollowUp {
  return {
    id: row.id,
    account: { externalId: row.external_id, name: row.account_name },
    playbook: { key: row.playbook_key, version: row.playbook_version },
    anchor: row.anchor,
    kind: row.kind,
    title: row.title,
    reason: row.reason,
    cause: { type: row.cause_type, ref: row.cause_ref },
    assignee: row.assignee,
    timezone: row.timezone,
    dueAt: row.due_at.toISOString(),
    status: row.status,
    outcome: row.outcome,
    notes: row.notes,
    completedAt: iso(row.completed_at),
    cancelledAt: iso(row.cancelled_at),
    cancelReason: row.cancel_reason,
    missedAt: iso(row.missed_at),
    dueNotifiedAt: iso(row.due_notified_at),
    escalation: row.escalated_at ? { to: row.escalated_to, at: row.escalated_at.toISOString(), reason: row.escalation_reason ?? '' } : null,
    createdAt: row.created_at.toISOString(),
    updatedAt: row.updated_at.toISOString(),
  };
}

/**
 * The `data` of follow_up.* events: the follow-up's id and what a receiver
 * (or the Slack format, which reads `account`, `title` and `dueAt`) needs.
 */
export function eventPayload(row: FollowUpWithAccount, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    followUpId: row.id,
    account: { externalId: row.external_id, name: row.account_name },
    kind: row.kind,
    title: row.title,
    reason: row.reason,
    cause: { type: row.cause_type, ref: row.cause_ref },
    playbook: { key: row.playbook_key, version: row.playbook_version },
    assignee: row.assignee,
    dueAt: row.due_at.toISOString(),
    status: row.status,
    ...extra,
  };
}

/** follow_ups joined to their account's external id and name. */
export const withAccount = (db: Db) =>
  db
    .selectFrom('follow_ups as f')
    .innerJoin('accounts as a', 'a.id', 'f.account_id')
    .selectAll('f')
    .select(['a.external_id', 'a.name as account_name']);

export async function findFollowUp(db: Db, id: number): Promise<FollowUpWithAccount | undefined> {
  return withAccount(db).where('f.id', '=', id).executeTakeFirst();
}

export interface FollowUpFilter {
  assignee?: string;
  status?: FollowUpStatus[];
  dueFrom?: Date;
  dueTo?: Date;
  accountExternalId?: string;
  /** The (due_at, id) of the last row of the previous page. */
  after?: { dueAt: Date; id: number };
  limit: number;
}

/** A page in due order (due_at, id). */
export async function listFollowUps(db: Db, filter: FollowUpFilter) {
  let query = withAccount(db);
  if (filter.assignee !== undefined) query = query.where('f.assignee', '=', normaliseEmail(filter.assignee));
  if (filter.status?.length) query = query.where('f.status', 'in', filter.status);
  if (filter.dueFrom) query = query.where('f.due_at', '>=', filter.dueFrom);
  if (filter.dueTo) query = query.where('f.due_at', '<', filter.dueTo);
  if (filter.accountExternalId !== undefined) query = query.where('a.external_id', '=', filter.accountExternalId);
  if (filter.after) query = query.where(sql<boolean>`(f.due_at, f.id) > (${filter.after.dueAt}::timestamptz, ${filter.after.id}::bigint)`);
  const rows = await query.orderBy('f.due_at').orderBy('f.id').limit(filter.limit + 1).execute();
  const page = rows.slice(0, filter.limit);
  const last = page.at(-1);
  return {
    items: page,
    hasMore: rows.length > filter.limit,
    last: last ? { dueAt: last.due_at, id: last.id } : filter.after,
  };
}

/* ------------------------------------------------------------------ */
/* Actions                                                             */
/* ------------------------------------------------------------------ */

export type ActionResult = { ok: true; followUp: FollowUpWithAccount } | { ok: false; reason: 'not_found' } | { ok: false; reason: 'conflict'; status: FollowUpStatus };

/** Statuses a follow-up can still be worked from: scheduled, or missed (done late, rescheduled, cancelled). */
const OPEN: FollowUpStatus[] = ['scheduled', 'missed'];

async function lockOpen(trx: Db, id: number): Promise<ActionResult> {
  const row = await trx.selectFrom('follow_ups').select(['id', 'status']).where('id', '=', id).forUpdate().executeTakeFirst();
  if (!row) return { ok: false, reason: 'not_found' };
  if (!OPEN.includes(row.status)) return { ok: false, reason: 'conflict', status: row.status };
  return { ok: true, followUp: (await findFollowUp(trx, id))! };
}

export const SECOND_UNRESOLVED = 'second unresolved follow-up';

/**
 * Records the outcome. An `unresolved` outcome when an earlier follow-up on
 * the same problem (same account and cause link) also ended unresolved
 * escalates this one to the assignee's manager and emits follow_up.overdue.
 */
export async function completeFollowUp(
  db: Db,
  id: number,
  input: { outcome: FollowUpOutcome; notes: string | null },
  now = new Date(),
): Promise<ActionResult & { escalated?: boolean }> {
  return inTransaction(db, async (trx) => {
    const locked = await lockOpen(trx, id);
    if (!locked.ok) return locked;
    const current = locked.followUp;
    let escalate: { to: string | null } | undefined;
    if (input.outcome === 'unresolved' && !current.escalated_at) {
      const earlier = await trx
        .selectFrom('follow_ups')
        .select('id')
        .where('account_id', '=', current.account_id)
        .where('cause_type', '=', current.cause_type)
        .where('cause_ref', '=', current.cause_ref)
        .where('id', '<>', id)
        .where('status', '=', 'done')
        .where('outcome', '=', 'unresolved')
        .limit(1)
        .executeTakeFirst();
      if (earlier) {
        const managers = current.assignee ? await memberSettings(trx, [current.assignee]) : new Map();
        escalate = { to: managers.get(current.assignee ?? '')?.manager_email ?? null };
      }
    }
    await trx
      .updateTable('follow_ups')
      .set({
        status: 'done',
        outcome: input.outcome,
        notes: input.notes,
        completed_at: now,
        updated_at: now,
        ...(escalate ? { escalated_to: escalate.to, escalated_at: now, escalation_reason: SECOND_UNRESOLVED } : {}),
      })
      .where('id', '=', id)
      .execute();
    const row = (await findFollowUp(trx, id))!;
    if (escalate) {
      await enqueueEvent(trx, {
        type: 'follow_up.overdue',
        accountId: row.account_id,
        occurredAt: now,
        payload: eventPayload(row, { reason: SECOND_UNRESOLVED, followUpReason: row.reason, escalatedTo: escalate.to, outcome: row.outcome }),
      });
    }
    return { ok: true, followUp: row, escalated: Boolean(escalate) };
  });
}

/**
 * Moves the due time, snapped forward into the assignee's working hours.
 * Clears the due notification so follow_up.due fires again at the new time; a
 * missed follow-up is scheduled again.
 */
export async function rescheduleFollowUp(db: Db, id: number, dueAt: Date, now = new Date()): Promise<ActionResult> {
  return inTransaction(db, async (trx) => {
    const locked = await lockOpen(trx, id);
    if (!locked.ok) return locked;
    const calendar = await calendarFor(trx, locked.followUp.assignee, locked.followUp.account_id);
    const due = snapToWorkingTime(new Date(dueAt.getTime()), calendar);
    await trx
      .updateTable('follow_ups')
      .set({ due_at: due, timezone: calendar.timeZone, status: 'scheduled', due_notified_at: null, updated_at: now })
      .where('id', '=', id)
      .execute();
    return { ok: true, followUp: (await findFollowUp(trx, id))! };
  });
}

export async function cancelFollowUp(db: Db, id: number, reason: string | null, now = new Date()): Promise<ActionResult> {
  return inTransaction(db, async (trx) => {
    const locked = await lockOpen(trx, id);
    if (!locked.ok) return locked;
    await trx
      .updateTable('follow_ups')
      .set({ status: 'cancelled', cancelled_at: now, cancel_reason: reason, updated_at: now })
      .where('id', '=', id)
      .execute();
    return { ok: true, followUp: (await findFollowUp(trx, id))! };
  });
}

/**
 * Hands a follow-up to someone else. The due time stays unless it falls
 * outside the new assignee's working hours; then it moves to their next
 * working moment.
 */
export async function assignFollowUp(db: Db, id: number, assignee: string, now = new Date()): Promise<ActionResult> {
  return inTransaction(db, async (trx) => {
    const locked = await lockOpen(trx, id);
    if (!locked.ok) return locked;
    const email = normaliseEmail(assignee);
    const calendar = await calendarFor(trx, email, locked.followUp.account_id);
    const current = locked.followUp.due_at;
    const due = isWithinWorkingHours(current, calendar) ? current : snapToWorkingTime(current, calendar);
    await trx
      .updateTable('follow_ups')
      .set({
        assignee: email,
        due_at: due,
        timezone: calendar.timeZone,
        updated_at: now,
        ...(due.getTime() !== current.getTime() ? { due_notified_at: null } : {}),
      })
      .where('id', '=', id)
      .execute();
    return { ok: true, followUp: (await findFollowUp(trx, id))! };
  });
}

async function calendarFor(db: Db, assignee: string | null, accountId: number) {
  const account = await db.selectFrom('accounts').select('timezone').where('id', '=', accountId).executeTakeFirstOrThrow();
  const member = assignee ? (await memberSettings(db, [assignee])).get(assignee) : undefined;
  return calendarOf(member, account.timezone);
}
