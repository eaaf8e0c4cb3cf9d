import { type Kysely, sql } from 'kysely';
import { alertQuery, toAlert } from '../../alerts/repository.js';
import type { Database } from '../../db/schema.js';

type Db = Kysely<Database>;

export const VIEWS = ['mine', 'pool', 'accounts', 'all'] as const;
export type View = (typeof VIEWS)[number];

/** Unresolved alerts of a view, by severity (critical first), then renewal date, then age. */
export async function inboxAlerts(db: Db, me: string, view: View) {
  let query = alertQuery(db).select(['ac.renewal_date', 'ac.arr', 'ac.currency']).where('al.status', '<>', 'resolved');
  if (view === 'mine') query = query.where('al.assignee', '=', me);
  if (view === 'accounts') query = query.where('ac.owner', '=', me);
  if (view === 'pool') {
    query = query.where((eb) => eb.or([eb('al.assignee', 'is', null), eb('al.assignee', 'in', eb.selectFrom('retention_pool').select('member'))]));
  }
  const rows = await query
    .orderBy(sql`case al.severity when 'critical' then 0 when 'high' then 1 when 'medium' then 2 else 3 end`)
    .orderBy(sql`ac.renewal_date asc nulls last`)
    .orderBy('al.opened_at')
    .limit(200)
    .execute();
  return rows.map((r) => ({ ...toAlert(r), renewalDate: r.renewal_date, arr: r.arr, currency: r.currency }));
}

/** Who alerts may be assigned to: the retention pool and active retention specialists and managers. */
export async function alertAssignees(db: Db): Promise<string[]> {
  const [pool, people] = await Promise.all([
    db.selectFrom('retention_pool').select('member').execute(),
    db.selectFrom('people').select('email').where(sql<boolean>`roles && array['retention','manager']::text[]`).where('disabled_at', 'is', null).execute(),
  ]);
  return [...new Set([...pool.map((p) => p.member), ...people.map((p) => p.email)])].sort();
}
