import { type Kysely, sql } from 'kysely';
import type { Database } from '../db/schema.js';
import { inTransaction } from '../db/transaction.js';
import { DomainError, notFound } from '../lib/errors.js';
import { type AlertChange, recordChanges } from './changes.js';
import { type Alert, type AlertHistoryEntry, alertHistory, alertQuery, toAlert } from './repository.js';
import type { Outcome } from '../db/tables/alerts.js';

type Db = Kysely<Database>;

export type AlertWithHistory = Alert & { history: AlertHistoryEntry[] };

export async function getAlert(db: Db, id: number): Promise<AlertWithHistory | undefined> {
  const row = await alertQuery(db).where('al.id', '=', id).executeTakeFirst();
  if (!row) return undefined;
  return { ...toAlert(row), history: await alertHistory(db, id) };
}

/** Locks the alert for a state change; 404 when there is none. */
async function lock(trx: Db, id: number) {
  const row = await trx
    .selectFrom('alerts')
    .select(['id', 'account_id', 'rule_key', 'status', 'assignee', 'outcome'])
    .where('id', '=', id)
    .forUpdate()
    .executeTakeFirst();
  if (!row) throw notFound(`alert ${id}`);
  return row;
}

const resolvedConflict = (id: number) => new DomainError('conflict', `alert ${id} is resolved; a new alert opens if its condition holds again`);

/**
 * Runs a state change of one alert in a transaction (the request's own when
 * it has an Idempotency-Key): the change, its history row and its webhook
 * event commit together. Returns the alert with its history.
 */
async function change(db: Db, id: number, apply: (trx: Db, row: Awaited<ReturnType<typeof lock>>) => Promise<AlertChange | null>) {
  return inTransaction(db, async (trx) => {
    const row = await lock(trx, id);
    const done = await apply(trx, row);
    if (done) await recordChanges(trx, [done]);
    return (await getAlert(trx, id))!;
  });
}

/** open or snoozed → acknowledged (acknowledging again changes nothing). */
export function acknowledgeAlert(db: Db, id: number, actor: string) {
  return change(db, id, async (trx, row) => {
    if (row.status === 'resolved') throw resolvedConflict(id);
    if (row.status === 'acknowledged') return null;
    await trx
      .updateTable('alerts')
      .set({ status: 'acknowledged', acknowledged_at: sql`now()`, snoozed_until: null, updated_at: sql`now()` })
      .where('id', '=', id)
      .execute();
    return { alertId: id, action: 'acknowledged', actor, details: { from: row.status } };
  });
}

/** Any unresolved alert → snoozed until a time; the sweep reopens it then. */
export function snoozeAlert(db: Db, id: number, until: Date, actor: string, note?: string) {
  return change(db, id, async (trx, row) => {
    if (row.status === 'resolved') throw resolvedConflict(id);
    await trx.updateTable('alerts').set({ status: 'snoozed', snoozed_until: until, updated_at: sql`now()` }).where('id', '=', id).execute();
    return { alertId: id, action: 'snoozed', actor, details: { from: row.status, until: until.toISOString(), ...(note ? { note } : {}) } };
  });
}

/**
 * Hands an unresolved alert to someone by hand. It stays with them until the
 * account's retention owner changes.
 */
export function assignAlert(db: Db, id: number, assignee: string, actor: string, note?: string) {
  return change(db, id, async (trx, row) => {
    if (row.status === 'resolved') throw resolvedConflict(id);
    if (row.assignee === assignee) return null;
    await sql`
      update alerts
         set assignee = ${assignee}, assigned_via = 'manual', updated_at = now(),
             owner_at_assignment = (select retention_owner from accounts where id = alerts.account_id)
       where id = ${id}`.execute(trx);
    return { alertId: id, action: 'assigned', actor, details: { from: row.assignee, to: assignee, ...(note ? { note } : {}) } };
  });
}

/**
 * Resolves an alert by hand with its outcome. The frequency cap then also
 * counts from now: the rule does not re-open for the account within its
 * cooldown. An alert that resolved itself and has no outcome yet takes the
 * outcome now ('outcome_recorded'); one with an outcome is a conflict.
 */
export function resolveAlert(db: Db, id: number, outcome: Outcome, note: string | undefined, actor: string) {
  return change(db, id, async (trx, row) => {
    if (row.status === 'resolved') {
      if (row.outcome !== null) throw new DomainError('conflict', `alert ${id} is resolved and its outcome is recorded`);
      await trx
        .updateTable('alerts')
        .set({ outcome, outcome_note: note ?? null, outcome_recorded_at: sql`now()`, updated_at: sql`now()` })
        .where('id', '=', id)
        .execute();
      return { alertId: id, action: 'outcome_recorded', actor, details: { outcome, ...(note ? { note } : {}) } };
    }
    await trx
      .updateTable('alerts')
      .set({
        status: 'resolved',
        resolution: 'manual',
        resolved_at: sql`now()`,
        resolved_by: actor,
        snoozed_until: null,
        outcome,
        outcome_note: note ?? null,
        outcome_recorded_at: sql`now()`,
        updated_at: sql`now()`,
      })
      .where('id', '=', id)
      .execute();
    await sql`
      insert into alert_openings (account_id, rule_key, last_opened_at, last_dismissed_at)
      values (${row.account_id}, ${row.rule_key}, now(), now())
      on conflict (account_id, rule_key) do update set last_dismissed_at = now()`.execute(trx);
    return { alertId: id, action: 'resolved', actor, details: { resolution: 'manual', outcome, ...(note ? { note } : {}) } };
  });
}
