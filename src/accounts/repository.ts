import { type Kysely, sql } from 'kysely';
import type { AccountRow, Database } from '../db/schema.js';
import type { FeedPosition } from '../http/cursor.js';
import { jsonb } from '../db/params.js';
import type { Account, AccountInput, UpsertOutcome } from './schemas.js';

type Db = Kysely<Database>;

/** Columns a PUT replaces; compared to decide `unchanged`. */
const REPLACED_COLUMNS = [
  'name',
  'segment',
  'tier',
  'owner',
  'retention_owner',
  'seats',
  'arr',
  'currency',
  'timezone',
  'lifecycle_stage',
  'renewal_date',
  'attributes',
] as const;

function toRow(input: AccountInput) {
  return {
    external_id: input.externalId,
    name: input.name,
    segment: input.segment ?? null,
    tier: input.tier ?? null,
    owner: input.owner ?? null,
    retention_owner: input.retentionOwner ?? null,
    seats: input.seats ?? null,
    arr: input.arr ?? null,
    currency: input.currency ?? null,
    timezone: input.timezone ?? null,
    lifecycle_stage: input.lifecycleStage ?? null,
    renewal_date: input.renewalDate ?? null,
    attributes: jsonb(input.attributes ?? {}),
  };
}

export function toAccount(row: AccountRow): Account {
  return {
    externalId: row.external_id,
    name: row.name,
    segment: row.segment,
    tier: row.tier,
    owner: row.owner,
    retentionOwner: row.retention_owner,
    seats: row.seats,
    arr: row.arr,
    currency: row.currency?.trim() ?? null,
    timezone: row.timezone,
    lifecycleStage: row.lifecycle_stage,
    renewalDate: row.renewal_date,
    attributes: row.attributes,
    archivedAt: row.archived_at ? row.archived_at.toISOString() : null,
    createdAt: row.created_at.toISOString(),
    updatedAt: row.updated_at.toISOString(),
  };
}

/**
 * Inserts or replaces accounts in one statement. A row whose fields already
 * match (and is not archived) is left alone and reported `unchanged`, so
 * re-sending a batch writes nothing. External ids must be unique in `inputs`.
 */
export async function upsertAccounts(db: Db, inputs: AccountInput[]): Promise<Map<string, UpsertOutcome>> {
  const outcomes = new Map<string, UpsertOutcome>(inputs.map((i) => [i.externalId, 'unchanged']));
  if (inputs.length === 0) return outcomes;
  const current = sql.join(REPLACED_COLUMNS.map((c) => sql.ref(`accounts.${c}`)));
  const proposed = sql.join(REPLACED_COLUMNS.map((c) => sql.ref(`excluded.${c}`)));
  const written = await db
    .insertInto('accounts')
    .values(inputs.map(toRow))
    .onConflict((oc) =>
      oc
        .column('external_id')
        .doUpdateSet((eb) => ({
          ...Object.fromEntries(REPLACED_COLUMNS.map((c) => [c, eb.ref(`excluded.${c}`)])),
          archived_at: null,
        }))
        .where(sql<boolean>`(${current}) is distinct from (${proposed}) or accounts.archived_at is not null`),
    )
    .returning(['external_id', sql<boolean>`(xmax = 0)`.as('inserted')])
    .execute();
  for (const row of written) outcomes.set(row.external_id, row.inserted ? 'created' : 'updated');
  return outcomes;
}

/** The internal id of an account (archived ones too), or undefined. */
export async function findAccountId(db: Db, externalId: string): Promise<number | undefined> {
  const row = await db.selectFrom('accounts').select('id').where('external_id', '=', externalId).executeTakeFirst();
  return row?.id;
}

export async function findAccount(db: Db, externalId: string): Promise<Account | undefined> {
  const row = await db.selectFrom('accounts').selectAll().where('external_id', '=', externalId).executeTakeFirst();
  return row ? toAccount(row) : undefined;
}

/** Archives (soft-deletes) an account; archiving an archived account changes nothing. */
export async function archiveAccount(db: Db, externalId: string): Promise<Account | undefined> {
  await db
    .updateTable('accounts')
    .set({ archived_at: sql`now()` })
    .where('external_id', '=', externalId)
    .where('archived_at', 'is', null)
    .execute();
  return findAccount(db, externalId);
}

export interface AccountFilter {
  segment?: string;
  owner?: string;
  tier?: string;
  updatedSince?: string;
  includeArchived?: boolean;
  after?: FeedPosition;
  limit: number;
}

/**
 * One page in change order (change_seq, id). Writers commit in change_seq
 * order (see sql/0001_foundation.sql), so paging never skips a row, and a row
 * changed behind the cursor comes round again at the end.
 */
export async function listAccounts(db: Db, filter: AccountFilter) {
  let query = db.selectFrom('accounts').selectAll();
  if (filter.segment !== undefined) query = query.where('segment', '=', filter.segment);
  if (filter.owner !== undefined) query = query.where('owner', '=', filter.owner);
  if (filter.tier !== undefined) query = query.where('tier', '=', filter.tier);
  if (filter.updatedSince !== undefined) query = query.where('updated_at', '>=', new Date(filter.updatedSince));
  if (!filter.includeArchived) query = query.where('archived_at', 'is', null);
  if (filter.after) {
    const { seq, id } = filter.after;
    query = query.where(sql<boolean>`(change_seq, id) > (${seq}, ${id})`);
  }
  const rows = await query
    .orderBy('change_seq')
    .orderBy('id')
    .limit(filter.limit + 1)
    .execute();
  const page = rows.slice(0, filter.limit);
  const last = page.at(-1);
  return {
    accounts: page.map(toAccount),
    hasMore: rows.length > filter.limit,
    last: last ? { seq: last.change_seq, id: last.id } : filter.after,
  };
}
