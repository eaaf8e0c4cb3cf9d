import { type RawBuilder, sql, type Transaction } from 'kysely';
import type { Database } from './schema.js';

/**
 * Versioned configuration: scorecards (per segment), alert rule sets (one
 * scope) and follow-up playbooks (per key). Each table numbers the versions
 * of a scope, keeps them unchanged once written, and holds at most one active
 * version per scope (a partial unique index in its migration).
 */
export interface VersionedTable {
  table: 'scorecards' | 'alert_rule_sets' | 'follow_up_playbooks';
  /** The column naming the scope; null when the whole table is one scope. */
  scope: 'segment_key' | 'key' | null;
}

const scopeMatch = (t: VersionedTable, value: string | null) => (t.scope ? sql`${sql.ref(t.scope)} = ${value}` : sql`true`);

/** The next version number of a scope, for the INSERT of a new version. */
export const nextVersion = (t: VersionedTable, scope: string | null): RawBuilder<number> =>
  sql<number>`(select coalesce(max(version), 0) + 1 from ${sql.table(t.table)} where ${scopeMatch(t, scope)})`;

/**
 * Makes version `id` the active one of its scope, deactivating the other;
 * false if there is no such version. An already active version keeps its
 * activation time. The caller owns the transaction.
 */
export async function activateVersion(trx: Transaction<Database>, t: VersionedTable, id: number): Promise<boolean> {
  const table = sql.table(t.table);
  const { rows } = await sql<{ scope: string | null; active: boolean }>`
    select ${t.scope ? sql.ref(t.scope) : sql`null::text`} as scope, active from ${table} where id = ${id} for update`.execute(trx);
  const target = rows[0];
  if (!target) return false;
  if (target.active) return true;
  // Off before on: the one-active-per-scope index is checked row by row.
  await sql`update ${table} set active = false where active and id <> ${id} and ${scopeMatch(t, target.scope)}`.execute(trx);
  await sql`update ${table} set active = true, activated_at = now() where id = ${id}`.execute(trx);
  return true;
}
