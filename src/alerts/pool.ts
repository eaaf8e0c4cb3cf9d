import { type Kysely, sql } from 'kysely';
import type { Database } from '../db/schema.js';

type Db = Kysely<Database>;

/**
 * The retention pool: specialists who take alerts of accounts without a
 * retention owner (the least-loaded first; see assignment.ts). Managed with
 * the admin API; kept in the database so every process, the recompute hook
 * and the Worker see the same pool.
 */
export async function listPool(db: Db) {
  const { rows } = await sql<{ member: string; added_by: string | null; added_at: Date; unresolved: number }>`
    select p.member, p.added_by, p.added_at,
           (select count(*) from alerts a where a.assignee = p.member and a.status <> 'resolved')::int as unresolved
      from retention_pool p
     order by p.member`.execute(db);
  return rows.map((r) => ({ member: r.member, addedBy: r.added_by, addedAt: r.added_at.toISOString(), unresolvedAlerts: r.unresolved }));
}

/** Adds a member; true when it was not in the pool before. */
export async function addPoolMember(db: Db, member: string, addedBy: string | null): Promise<boolean> {
  const result = await db
    .insertInto('retention_pool')
    .values({ member, added_by: addedBy })
    .onConflict((oc) => oc.column('member').doNothing())
    .executeTakeFirst();
  return Number(result.numInsertedOrUpdatedRows ?? 0) > 0;
}

/** Removes a member; their unresolved alerts stay with them until reassigned. */
export async function removePoolMember(db: Db, member: string): Promise<boolean> {
  const result = await db.deleteFrom('retention_pool').where('member', '=', member).executeTakeFirst();
  return Number(result.numDeletedRows) > 0;
}
