import { type Kysely, sql } from 'kysely';
import type { Database } from '../db/schema.js';
import { FEATURE_NAMES } from './features.js';
import { loadFeatures, uninformativeInFeatures } from './recompute.js';

type Db = Kysely<Database>;

/**
 * "No information" at a past instant T, judged one way everywhere (as-of
 * scores, the stored history, the bulk as-of feed, and backtests whose
 * observations are that population): a feature with one value for every
 * connected account as of T (of at least MIN_ACCOUNTS_FOR_INFORMATION) gets no
 * weight. The history backfill stores the judgement per instant
 * (history_instants); elsewhere it is made on the spot.
 */
export async function storedUninformative(db: Db, at: Date): Promise<Set<string> | undefined> {
  const row = await db.selectFrom('history_instants').select('uninformative').where('as_of', '=', at).executeTakeFirst();
  return row ? new Set(row.uninformative) : undefined;
}

/**
 * Loads every unarchived account's features as of `at` into hs_features and
 * judges which carry no information across them. In the caller's transaction.
 */
export async function loadPopulationAt(trx: Db, at: Date): Promise<{ accounts: number; uninformative: Set<string> }> {
  const accounts = await loadFeatures(trx, { accountIds: null, at, live: false });
  return { accounts, uninformative: await uninformativeInFeatures(trx, [...FEATURE_NAMES]) };
}

/** Keeps only these accounts in hs_features (after the population was judged). */
export async function keepAccounts(trx: Db, accountIds: readonly number[]) {
  await sql`delete from hs_features where not (account_id = any(${[...accountIds]}::int8[]))`.execute(trx);
  await sql`analyze hs_features`.execute(trx);
}

/** UTC midnight at the start of `at`'s day. */
export const startOfUtcDay = (at: Date) => new Date(Math.floor(at.getTime() / 86_400_000) * 86_400_000);
