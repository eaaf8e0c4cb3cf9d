import { type Kysely, sql } from 'kysely';
import { recordAudit } from '../audit/repository.js';
import type { Database } from '../db/schema.js';
import type { AuditScope } from '../http/env.js';
import { deactivatePerson } from '../people/handback.js';
import { normaliseEmail } from '../people/repository.js';
import { ident } from './catalogue.js';

type Db = Kysely<Database>;

/** Text columns that hold a person's email address (owners, assignees, pool members, actors…). */
const PERSON_COLUMN = /^(email|assignee|owner|retention_owner|owner_at_assignment|member|member_email|owner_email|manager_email|resolved_by|escalated_to|added_by|created_by|actor)$/;

/** Where a person's address can be, from the catalogue (the audit trail and the person's own row aside). */
async function personColumns(db: Db) {
  const { rows } = await sql<{ table: string; column: string; nullable: boolean }>`
    select c.relname as table, a.attname as column, not a.attnotnull as nullable
      from pg_attribute a
      join pg_class c on c.oid = a.attrelid
      join pg_namespace n on n.oid = c.relnamespace
     where n.nspname = current_schema() and c.relkind in ('r', 'p') and not c.relispartition
       and a.attnum > 0 and not a.attisdropped and a.atttypid = 'text'::regtype
       and c.relname not in ('audit_log', 'people', 'kysely_migration', 'kysely_migration_lock')
     order by 1, 2`.execute(db);
  return rows.filter((r) => PERSON_COLUMN.test(r.column));
}

export async function exportPerson(db: Db, emailIn: string): Promise<Record<string, unknown[]> | undefined> {
  const email = normaliseEmail(emailIn);
  const person = await db
    .selectFrom('people')
    .select(['id', 'email', 'name', 'roles', 'locale', 'source', 'external_id', 'idp_groups', 'disabled_at', 'created_at', 'updated_at'])
    .where('email', '=', email)
    .executeTakeFirst();
  if (!person) return undefined;
  const out: Record<string, unknown[]> = { people: [person] };
  for (const { table, column } of await personColumns(db)) {
    const { rows } = await sql<Record<string, unknown>>`select * from ${sql.raw(ident(table))} where ${sql.raw(ident(column))} = ${email}`.execute(db);
    if (rows.length) out[`${table}.${column}`] = rows.map((r) => Object.fromEntries(Object.entries(r).filter(([k]) => !/hash|secret|token/.test(k))));
  }
  return out;
}

/**
 * Erases a person: their work goes back to the pools, their address is
 * removed wherever it stands (set to null, or the row deleted where the
 * column is required), and the person with their sessions goes. The audit
 * entry keeps the internal id only.
 */
export async function erasePerson(trx: Db, emailIn: string, scope?: AuditScope): Promise<{ cleared: Record<string, number> } | undefined> {
  const email = normaliseEmail(emailIn);
  const person = await trx.selectFrom('people').select('id').where('email', '=', email).forUpdate().executeTakeFirst();
  if (!person) return undefined;
  await deactivatePerson(trx, person.id);
  const cleared: Record<string, number> = {};
  for (const { table, column, nullable } of await personColumns(trx)) {
    const result = nullable
      ? await sql`update ${sql.raw(ident(table))} set ${sql.raw(ident(column))} = null where ${sql.raw(ident(column))} = ${email}`.execute(trx)
      : await sql`delete from ${sql.raw(ident(table))} where ${sql.raw(ident(column))} = ${email}`.execute(trx);
    const n = Number(result.numAffectedRows ?? 0);
    if (n > 0) cleared[`${table}.${column}`] = n;
  }
  await trx.deleteFrom('sign_in_failures').where('key', '=', `email:${email}`).execute();
  await trx.deleteFrom('people').where('id', '=', person.id).execute();
  await recordAudit(trx, { action: 'person.erased', targetType: 'person', targetId: String(person.id), after: { cleared } }, scope);
  return { cleared };
}
