import { type Kysely, sql } from 'kysely';
import type { Database } from '../db/schema.js';
import { activateVersion, nextVersion, type VersionedTable } from '../db/versions.js';
import { jsonb } from '../db/params.js';
import { DEFAULT_SCORECARD, type ScorecardDefinition, scorecardDefinitionSchema } from './scorecard.js';

type Db = Kysely<Database>;

const SCORECARDS: VersionedTable = { table: 'scorecards', scope: 'segment_key' };

export interface Scorecard {
  id: number;
  /** null: the default scorecard */
  segment: string | null;
  version: number;
  active: boolean;
  definition: ScorecardDefinition;
  createdAt: Date;
  activatedAt: Date | null;
}

type Row = Awaited<ReturnType<typeof baseQuery>>[number];
const baseQuery = (db: Db) => db.selectFrom('scorecards').selectAll().execute();

function toScorecard(row: Row): Scorecard {
  return {
    id: row.id,
    segment: row.segment_key === '' ? null : row.segment_key,
    version: row.version,
    active: row.active,
    definition: scorecardDefinitionSchema.parse(row.definition),
    createdAt: row.created_at,
    activatedAt: row.activated_at,
  };
}

/**
 * Installs the shipped default scorecard as the active default when there is
 * none (a fresh installation, or drafts created before any scoring). Reads
 * before it writes: it runs with every recompute.
 */
export async function ensureDefaultScorecard(db: Db): Promise<void> {
  const active = await db.selectFrom('scorecards').select('id').where('segment_key', '=', '').where('active', '=', true).executeTakeFirst();
  if (active) return;
  await sql`
    insert into scorecards (segment_key, version, definition, active, activated_at)
    select '', coalesce(max(version), 0) + 1, ${jsonb(DEFAULT_SCORECARD)}, true, now() from scorecards where segment_key = ''
    on conflict do nothing`.execute(db);
}

export async function activeScorecards(db: Db): Promise<Scorecard[]> {
  const rows = await db.selectFrom('scorecards').selectAll().where('active', '=', true).orderBy('segment_key').execute();
  return rows.map(toScorecard);
}

export async function listScorecards(db: Db, segment?: string | null): Promise<Scorecard[]> {
  let query = db.selectFrom('scorecards').selectAll();
  if (segment !== undefined) query = query.where('segment_key', '=', segment ?? '');
  return (await query.orderBy('segment_key').orderBy('version').execute()).map(toScorecard);
}

export async function findScorecard(db: Db, id: number): Promise<Scorecard | undefined> {
  const row = await db.selectFrom('scorecards').selectAll().where('id', '=', id).executeTakeFirst();
  return row ? toScorecard(row) : undefined;
}

/** Adds the next version for a segment (inactive until activated). */
export async function createScorecardVersion(db: Db, segment: string | null, definition: ScorecardDefinition): Promise<Scorecard> {
  const key = segment ?? '';
  const row = await db
    .insertInto('scorecards')
    .values({
      segment_key: key,
      version: nextVersion(SCORECARDS, key),
      definition: jsonb(definition),
    })
    .returningAll()
    .executeTakeFirstOrThrow();
  return toScorecard(row);
}

/** Ids of the active accounts a scorecard of `segment` scores, given the segments with scorecards of their own. */
export async function accountsScoredBy(trx: Db, segment: string | null): Promise<number[]> {
  const others = (await listScorecards(trx)).filter((s) => s.active && s.segment !== null).map((s) => s.segment!);
  const { rows } = await sql<{ id: number }>`
    select id from accounts
     where archived_at is null
       and (${segment}::text is null and (segment is null or segment <> all(${others}::text[]))
            or segment = ${segment}::text)
     order by id`.execute(trx);
  return rows.map((r) => Number(r.id));
}

/**
 * Makes a version the active one of its segment and queues the accounts it
 * applies to for rescoring (the caller owns the transaction); undefined when
 * there is no such version.
 */
export async function activateScorecard(trx: Db, id: number): Promise<Scorecard | undefined> {
  if (!(await activateVersion(trx, SCORECARDS, id))) return undefined;
  const activated = (await findScorecard(trx, id))!;
  const others = (await listScorecards(trx)).filter((s) => s.active && s.segment !== null).map((s) => s.segment!);
  await sql`
    insert into rescore_queue (account_id, marked_at)
    select id, now() from accounts
     where archived_at is null
       and (${activated.segment}::text is null and (segment is null or segment <> all(${others}::text[]))
            or segment = ${activated.segment}::text)
    on conflict (account_id) do update set marked_at = excluded.marked_at`.execute(trx);
  return activated;
}
