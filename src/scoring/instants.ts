import { type Kysely, sql, type Transaction } from 'kysely';
import type { Database } from '../db/schema.js';
import { FEATURE_NAMES } from './features.js';
import { loadFeatures, uninformativeInFeatures } from './recompute.js';

type Db = Kysely<Database>;
type Trx = Transaction<Database>;

/**
 * "No information" at a past instant T, judged one way everywhere (as-of
 * scores, the stored history, the bulk as-of feed, and backtests whose
 * observations are that population): a feature with one value for every
 * connected account as of T (of at least MIN_ACCOUNTS_FOR_INFORMATION) gets no
 * weight. The history backfill stores the judgement per instant
 * (history_instants); elsewhere it is made on the spot.
 */
export async function storedUninformative(db: Db, at: Date): Promise<Set<string> | undefined> {
  // Unless back-dated signals for a day before the instant arrived after it was judged (the backfill job judges again).
  const { rows } = await sql<{ uninformative: string[] }>`
    select h.uninformative from history_instants h
     where h.as_of = ${at.toISOString()}::timestamptz
       and not exists (select 1 from history_backfill_marks m
                        where m.since < (h.as_of at time zone 'UTC')::date and m.marked_at > h.computed_at)`.execute(db);
  return rows[0] ? new Set(rows[0].uninformative) : undefined;
}

/** Stores the judgement of an instant (the backfill's, or one made for an as-of read: the next read of that instant is quick). */
export async function rememberUninformative(trx: Trx, at: Date, judged: { accounts: number; uninformative: ReadonlySet<string> }) {
  await sql`
    insert into history_instants (as_of, uninformative, accounts, computed_at)
    values (${at.toISOString()}::timestamptz, ${[...judged.uninformative].sort()}::text[], ${judged.accounts}, now())
    on conflict (as_of) do update set uninformative = excluded.uninformative, accounts = excluded.accounts, computed_at = excluded.computed_at`.execute(trx);
}

/**
 * Loads every unarchived account's features as of `at` into hs_features and
 * judges which carry no information across them. In the caller's transaction.
 */
export async function loadPopulationAt(trx: Trx, at: Date): Promise<{ accounts: number; uninformative: Set<string> }> {
  const accounts = await loadFeatures(trx, { accountIds: null, at, live: false });
  return { accounts, uninformative: await uninformativeInFeatures(trx, [...FEATURE_NAMES]) };
}

/**
 * The judgement of an instant: stored, or made on every account as of then
 * and stored. Leaves hs_features holding these accounts' features.
 */
export async function judgeInstant(trx: Trx, at: Date, accountIds: number[]): Promise<Set<string>> {
  const stored = await storedUninformative(trx, at);
  if (stored) {
    await loadFeatures(trx, { accountIds, at, live: false });
    return stored;
  }
  const population = await loadPopulationAt(trx, at);
  await rememberUninformative(trx, at, population);
  await keepAccounts(trx, accountIds);
  return population.uninformative;
}

/** Keeps only these accounts in hs_features (after the population was judged). */
export async function keepAccounts(trx: Trx, accountIds: readonly number[]) {
  await sql`delete from hs_features where not (account_id = any(${[...accountIds]}::int8[]))`.execute(trx);
  await sql`analyze hs_features`.execute(trx);
}

/** UTC midnight at the start of `at`'s day. */
export const startOfUtcDay = (at: Date) => new Date(Math.floor(at.getTime() / 86_400_000) * 86_400_000);
