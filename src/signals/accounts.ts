import { type Kysely, sql } from 'kysely';
import type { Database } from '../db/schema.js';

type Db = Kysely<Database>;

/** Internal ids of the named accounts; with `createMissing`, placeholders for the unknown ones. */
export async function resolveAccounts(db: Db, externalIds: string[], createMissing: boolean): Promise<Map<string, number>> {
  const unique = [...new Set(externalIds)];
  if (unique.length === 0) return new Map();
  if (createMissing) {
    await sql`
      insert into accounts (external_id, name, attributes)
      select x, x, '{"placeholder": true}'::jsonb from unnest(${unique}::text[]) as x
       order by x collate "C"
      on conflict (external_id) do nothing`.execute(db);
  }
  const rows = await db.selectFrom('accounts').select(['id', 'external_id']).where('external_id', 'in', unique).execute();
  return new Map(rows.map((r) => [r.external_id, r.id]));
}

export type SourceDay = ['usage' | 'support' | 'nps' | 'csat' | 'commercial', string];

/** Records that a source had data on these days (workspace-wide; see sql/0010). */
export async function recordSourceDays(db: Db, days: SourceDay[]): Promise<void> {
  const unique = [...new Set(days.map(([source, day]) => `${source} ${day}`))].sort();
  if (unique.length === 0) return;
  await sql`
    insert into source_days (source, day)
    select split_part(x, ' ', 1), split_part(x, ' ', 2)::date from unnest(${unique}::text[]) as x
    on conflict do nothing`.execute(db);
}
