import type { Kysely } from 'kysely';
import { jsonb } from '../db/params.js';
import type { Database } from '../db/schema.js';

type Db = Kysely<Database>;

export type ReportKind = 'backtest' | 'fit';

export interface StoredReport {
  id: number;
  kind: ReportKind;
  scorecardId: number | null;
  definition: unknown;
  options: unknown;
  report: unknown;
  createdAt: string;
}

const toReport = (row: { id: number; kind: string; scorecard_id: number | null; definition: unknown; options: unknown; report: unknown; created_at: Date }): StoredReport => ({
  id: row.id,
  kind: row.kind as ReportKind,
  scorecardId: row.scorecard_id,
  definition: row.definition,
  options: row.options,
  report: row.report,
  createdAt: row.created_at.toISOString(),
});

export async function saveReport(
  db: Db,
  input: { kind: ReportKind; scorecardId: number | null; definition: unknown; options: unknown; report: unknown },
): Promise<StoredReport> {
  const row = await db
    .insertInto('scorecard_reports')
    .values({ kind: input.kind, scorecard_id: input.scorecardId, definition: jsonb(input.definition as object), options: jsonb(input.options as object), report: jsonb(input.report as object) })
    .returningAll()
    .executeTakeFirstOrThrow();
  return toReport(row);
}

export async function findReport(db: Db, id: number): Promise<StoredReport | undefined> {
  const row = await db.selectFrom('scorecard_reports').selectAll().where('id', '=', id).executeTakeFirst();
  return row ? toReport(row) : undefined;
}

/** The newest reports first, without their bodies' definitions. */
export async function listReports(db: Db, kind: ReportKind | undefined, limit: number) {
  let query = db.selectFrom('scorecard_reports').selectAll();
  if (kind) query = query.where('kind', '=', kind);
  return (await query.orderBy('id', 'desc').limit(limit).execute()).map(toReport);
}
