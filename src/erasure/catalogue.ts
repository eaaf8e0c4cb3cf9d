import { type Kysely, sql } from 'kysely';
import type { Database } from '../db/schema.js';

type Db = Kysely<Database>;

/**
 * Columns that name an account: `account_id`, `subject_account_id`, or any
 * column of a foreign key into accounts. Read from the catalogue at each
 * use, so a table added later is erased and exported without a change here.
 * Partitions are left out: their parent covers them.
 */
export async function accountColumns(db: Db): Promise<{ table: string; column: string }[]> {
  const { rows } = await sql<{ table: string; column: string }>`
    select c.relname as table, a.attname as column
      from pg_attribute a
      join pg_class c on c.oid = a.attrelid
      join pg_namespace n on n.oid = c.relnamespace
     where n.nspname = current_schema() and c.relkind in ('r', 'p') and not c.relispartition
       and a.attnum > 0 and not a.attisdropped
       and (a.attname in ('account_id', 'subject_account_id')
            or exists (select 1 from pg_constraint k
                        where k.contype = 'f' and k.conrelid = c.oid and k.confrelid = 'accounts'::regclass
                          and a.attnum = any (k.conkey)))
     order by 1, 2`.execute(db);
  return rows;
}

/** Foreign keys between tables of the schema: child → parent, with their columns. */
export async function foreignKeys(db: Db): Promise<{ child: string; parent: string; childColumns: string[]; parentColumns: string[] }[]> {
  const { rows } = await sql<{ child: string; parent: string; child_columns: string[]; parent_columns: string[] }>`
    select f.relname as child, r.relname as parent,
           array(select a.attname from unnest(k.conkey) with ordinality x (attnum, ord)
                   join pg_attribute a on a.attrelid = k.conrelid and a.attnum = x.attnum order by x.ord)::text[] as child_columns,
           array(select a.attname from unnest(k.confkey) with ordinality x (attnum, ord)
                   join pg_attribute a on a.attrelid = k.confrelid and a.attnum = x.attnum order by x.ord)::text[] as parent_columns
      from pg_constraint k
      join pg_class f on f.oid = k.conrelid
      join pg_class r on r.oid = k.confrelid
      join pg_namespace n on n.oid = k.connamespace
     where k.contype = 'f' and n.nspname = current_schema() and not f.relispartition and k.conparentid = 0`.execute(db);
  return rows.map((r) => ({ child: r.child, parent: r.parent, childColumns: r.child_columns, parentColumns: r.parent_columns }));
}

export interface AccountPlan {
  /** Tables in an order where every child comes before its parent (accounts last). */
  tables: { table: string; where: string }[];
}

const ident = (name: string) => `"${name.replace(/"/g, '""')}"`;

/**
 * Which rows belong to account `$1`, table by table: those whose account
 * column holds it, and rows of tables without one that hang (by foreign
 * key) off such rows (an alert's history). Children come first.
 */
export async function accountPlan(db: Db): Promise<AccountPlan> {
  const columns = await accountColumns(db);
  const fks = await foreignKeys(db);
  const where = new Map<string, string[]>();
  for (const { table, column } of columns) {
    if (table === 'accounts') continue;
    where.set(table, [...(where.get(table) ?? []), `${ident(column)} = $1`]);
  }
  where.set('accounts', ['id = $1']);
  // Tables without an account column whose rows reference account rows.
  for (const fk of fks) {
    if (where.has(fk.child) || !where.has(fk.parent) || fk.parent === 'accounts') continue;
    const parentWhere = where.get(fk.parent)!.join(' or ');
    where.set(fk.child, [`(${fk.childColumns.map(ident).join(', ')}) in (select ${fk.parentColumns.map(ident).join(', ')} from ${ident(fk.parent)} where ${parentWhere})`]);
  }
  // Children before parents (a depth-first walk over the foreign keys).
  const ordered: string[] = [];
  const seen = new Set<string>();
  const visit = (table: string) => {
    if (seen.has(table)) return;
    seen.add(table);
    for (const fk of fks) if (fk.parent === table && fk.child !== table && where.has(fk.child)) visit(fk.child);
    ordered.push(table);
  };
  for (const table of [...where.keys()].sort()) if (table !== 'accounts') visit(table);
  visit('accounts');
  return { tables: ordered.map((table) => ({ table, where: where.get(table)!.join(' or ') })) };
}

export { ident };
