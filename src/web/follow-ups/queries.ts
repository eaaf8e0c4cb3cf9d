import { type Kysely, sql } from 'kysely';
import type { Database } from '../../db/schema.js';

type Db = Kysely<Database>;

/** Scheduled follow-ups per assignee and UTC day in [start, end): the dispatch board's load. */
export async function scheduledLoad(db: Db, start: Date, end: Date) {
  const { rows } = await sql<{ assignee: string | null; day: string; n: number }>`
    select assignee, (due_at at time zone 'UTC')::date::text as day, count(*)::int as n
      from follow_ups
     where status = 'scheduled' and due_at >= ${start} and due_at < ${end}
     group by 1, 2`.execute(db);
  return rows;
}

/** Active people who take follow-ups (CSMs and retention specialists), by email. */
export async function followUpAssignees(db: Db): Promise<string[]> {
  const rows = await db.selectFrom('people').select('email').where('disabled_at', 'is', null).where(sql<boolean>`roles && array['csm','retention']::text[]`).execute();
  return rows.map((r) => r.email);
}
