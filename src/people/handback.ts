import { type Kysely, sql } from 'kysely';
import { assignFromPool } from '../alerts/assignment.js';
import type { Database } from '../db/schema.js';

type Db = Kysely<Database>;

export interface Handback {
  sessionsEnded: number;
  alertsReturned: number;
  followUpsReturned: number;
}

/**
 * Switches a person off at once (SCIM active=false, deprovisioning): their
 * sessions end, they leave the retention pool, their unresolved alerts go
 * back to the pool (least loaded first, or unassigned when the pool is
 * empty) and their scheduled follow-ups become unassigned for dispatch.
 * In the caller's transaction (docs/security.md#provisioning).
 */
export async function deactivatePerson(trx: Db, personId: number): Promise<Handback | undefined> {
  const person = await trx
    .updateTable('people')
    .set({ disabled_at: sql`coalesce(disabled_at, now())`, updated_at: sql`now()` })
    .where('id', '=', personId)
    .returning(['email'])
    .executeTakeFirst();
  if (!person) return undefined;
  const sessions = await trx.deleteFrom('web_sessions').where('person_id', '=', personId).executeTakeFirst();
  await trx.deleteFrom('retention_pool').where('member', '=', person.email).execute();
  const alerts = await trx
    .updateTable('alerts')
    .set({ assignee: null, assigned_via: null, updated_at: sql`now()` })
    .where('assignee', '=', person.email)
    .where('status', '<>', 'resolved')
    .returning('id')
    .execute();
  await assignFromPool(trx, alerts.map((a) => a.id));
  const followUps = await trx
    .updateTable('follow_ups')
    .set({ assignee: null, updated_at: sql`now()` })
    .where('assignee', '=', person.email)
    .where('status', '=', 'scheduled')
    .executeTakeFirst();
  return { sessionsEnded: Number(sessions.numDeletedRows), alertsReturned: alerts.length, followUpsReturned: Number(followUps.numUpdatedRows) };
}
