import { type Kysely, sql } from 'kysely';
import type { Database } from '../../db/schema.js';
import { jsonb } from '../../db/params.js';
import type { FitProposal, ProposalStatus, ProposalTrigger } from './model.js';

type Db = Kysely<Database>;

const toProposal = (row: { id: number; created_at: Date; payload: unknown; notified: boolean }): FitProposal => ({
  ...(row.payload as Omit<FitProposal, 'id' | 'createdAt' | 'notified'>),
  id: Number(row.id),
  createdAt: new Date(row.created_at).toISOString(),
  notified: row.notified,
});

export async function insertProposal(
  db: Db,
  p: {
    trigger: ProposalTrigger;
    status: ProposalStatus;
    segment: string | null;
    outcomesTotal: number;
    outcomesUntil: Date | null;
    draftScorecardId: number | null;
    better: boolean;
    payload: Omit<FitProposal, 'id' | 'createdAt' | 'notified'>;
  },
): Promise<FitProposal> {
  const row = await db
    .insertInto('fit_proposals')
    .values({
      trigger: p.trigger,
      status: p.status,
      segment_key: p.segment ?? '',
      outcomes_total: p.outcomesTotal,
      outcomes_until: p.outcomesUntil,
      draft_scorecard_id: p.draftScorecardId,
      better: p.better,
      payload: jsonb(p.payload),
    })
    .returning(['id', 'created_at', 'payload', 'notified'])
    .executeTakeFirstOrThrow();
  return toProposal(row);
}

export async function markNotified(db: Db, id: number): Promise<void> {
  await db.updateTable('fit_proposals').set({ notified: true }).where('id', '=', id).execute();
}

export async function findProposal(db: Db, id: number): Promise<FitProposal | undefined> {
  const row = await db.selectFrom('fit_proposals').select(['id', 'created_at', 'payload', 'notified']).where('id', '=', id).executeTakeFirst();
  return row ? toProposal(row) : undefined;
}

export async function listProposals(db: Db, limit: number): Promise<FitProposal[]> {
  const rows = await db.selectFrom('fit_proposals').select(['id', 'created_at', 'payload', 'notified']).orderBy('id', 'desc').limit(limit).execute();
  return rows.map(toProposal);
}

/** The latest proposal of a segment: when it ran and which outcomes it knew. */
export async function lastProposal(db: Db, segment: string | null) {
  return db
    .selectFrom('fit_proposals')
    .select(['id', 'created_at', 'outcomes_until', 'outcomes_total'])
    .where('segment_key', '=', segment ?? '')
    .orderBy('id', 'desc')
    .limit(1)
    .executeTakeFirst();
}

/** Outcomes known now, how many were recorded after `since` (all when null) and how many of those were imported. */
export async function outcomeCounts(db: Db, since: Date | null) {
  // `since` came back through a JS Date (milliseconds); recorded_at has microseconds on the server,
  // so compare at milliseconds or the latest outcome would count as new again.
  const { rows } = await sql<{ total: number; fresh: number; imported: number; latest: Date | null }>`
    select count(*)::int as total,
           count(*) filter (where ${since}::timestamptz is null or date_trunc('milliseconds', recorded_at) > ${since}::timestamptz)::int as fresh,
           count(*) filter (where source = 'import' and (${since}::timestamptz is null or date_trunc('milliseconds', recorded_at) > ${since}::timestamptz))::int as imported,
           max(recorded_at) as latest
      from outcomes`.execute(db);
  const r = rows[0]!;
  return { total: Number(r.total), fresh: Number(r.fresh), imported: Number(r.imported), latest: r.latest ? new Date(r.latest) : null };
}
