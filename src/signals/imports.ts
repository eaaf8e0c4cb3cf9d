import { type Kysely, sql } from 'kysely';
import type { Database } from '../db/schema.js';
import { foldRescoreMarks } from '../scoring/rescore-marks.js';

type Db = Kysely<Database>;

/**
 * History arriving. A signal dated more than this before it arrives is
 * history (a CSV import, a batch backfill, the demo), not live data: it marks
 * its account as importing (sql/0065 account_imports), and the account's
 * alerts wait until the import has settled (docs/alerts.md).
 */
export const HISTORY_AGE_MS = 2 * 86_400_000;

/** Whether an item dated `at` (ISO instant or date) arriving `now` is history. */
export function isHistory(at: string | null | undefined, now = Date.now()): boolean {
  if (!at) return false;
  const time = Date.parse(at);
  return Number.isFinite(time) && time < now - HISTORY_AGE_MS;
}

/**
 * Ends the imports of these accounts (all when null) now: their alerts may
 * open at the next evaluation. The end of the demo's load calls it; an import
 * that cannot say when it ends settles by itself (the rule set's
 * settleMinutes after its last back-dated batch). Marks not folded yet are
 * folded first, so no batch already written reopens the import afterwards.
 */
export async function settleImports(db: Db, accountIds: number[] | null = null): Promise<number> {
  await foldRescoreMarks(db);
  const { rows } = await sql<{ account_id: number }>`
    update account_imports set settled_at = now()
     where settled_at is null and (${accountIds}::int8[] is null or account_id = any(${accountIds}::int8[]))
    returning account_id`.execute(db);
  return rows.length;
}
