import { CompiledQuery, type Kysely, sql } from 'kysely';
import type { Database } from '../db/schema.js';
import { inTransaction } from '../db/transaction.js';
import { keepAccounts, loadPopulationAt, storedUninformative } from './instants.js';
import { type Band, churnProbability } from './model.js';
import { loadFeatures, scoringInput } from './recompute.js';
import { activeScorecards, ensureDefaultScorecard, findScorecard, type Scorecard } from './scorecards.js';
import { scoringSelect } from './sql.js';

type Db = Kysely<Database>;

const round = (x: number | null) => (x === null ? null : Math.round(x * 100) / 100);
const roundProbability = (p: number | null) => (p === null ? null : Math.round(p * 1000) / 1000);

export interface AsOfFeedOptions {
  at: Date;
  /** The last account id of the previous page. */
  afterId?: number;
  limit: number;
  band?: Band;
  owner?: string;
  segment?: string;
}

interface PastRow {
  account_id: number;
  scorecard_id: number;
  score: number | null;
  band: string | null;
  coverage: number;
}

/**
 * Every account's score as of one past instant, a page at a time in account
 * order: read from the stored history where it holds the instant (a
 * backfilled day: one indexed read per page), computed set-based for the
 * page's other accounts by the same statement as the history and the live
 * score. A band filter applies after scoring, so such a page may hold fewer
 * than `limit` items; `hasMore` says whether to go on.
 */
export async function healthAsOfFeed(db: Db, options: AsOfFeedOptions) {
  const at = options.at.toISOString();
  const rows = await db
    .selectFrom('accounts as a')
    .leftJoin('health_snapshots as s', (join) =>
      join.onRef('s.account_id', '=', 'a.id').on('s.reason', '=', 'daily').on('s.taken_at', '=', sql<Date>`${at}::timestamptz`),
    )
    .select(['a.id', 'a.external_id', 'a.name', 'a.owner', 'a.segment', 's.scorecard_id', 's.score', 's.band', 's.coverage'])
    .where('a.archived_at', 'is', null)
    .$if(options.afterId !== undefined, (q) => q.where('a.id', '>', options.afterId!))
    .$if(options.owner !== undefined, (q) => q.where('a.owner', '=', options.owner!))
    .$if(options.segment !== undefined, (q) => q.where('a.segment', '=', options.segment!))
    .orderBy('a.id')
    .limit(options.limit + 1)
    .execute();
  const page = rows.slice(0, options.limit);
  const missing = page.filter((r) => r.scorecard_id === null).map((r) => Number(r.id));
  const computed = missing.length ? await scoreAccountsAsOf(db, missing, options.at) : new Map<number, PastRow>();
  const cards = new Map<number, Scorecard>();
  const scored = page.map((r) => {
    const past: PastRow | undefined =
      r.scorecard_id !== null
        ? { account_id: Number(r.id), scorecard_id: Number(r.scorecard_id), score: r.score, band: r.band, coverage: r.coverage ?? 0 }
        : computed.get(Number(r.id));
    return { account: r, past };
  });
  for (const id of new Set(scored.flatMap((s) => (s.past ? [s.past.scorecard_id] : [])))) {
    const card = await findScorecard(db, id);
    if (card) cards.set(id, card);
  }
  const items = scored
    .filter((s) => s.past !== undefined && (options.band === undefined || s.past.band === options.band))
    .map(({ account, past }) => {
      const card = cards.get(past!.scorecard_id)!;
      return {
        externalId: account.external_id,
        name: account.name,
        owner: account.owner,
        segment: account.segment,
        churnProbability: roundProbability(churnProbability(card.definition, past!.score)),
        score: round(past!.score),
        band: past!.band as Band | null,
        coverage: round(past!.coverage),
        scorecardVersion: card.version,
        scorecardSegment: card.segment,
        asOf: at,
      };
    });
  const last = page.at(-1);
  return { items, hasMore: rows.length > options.limit, lastId: last ? Number(last.id) : options.afterId };
}

/**
 * Scores these accounts as of `at` in one set-based statement per scorecard
 * (the history's and the live score's), the no-information features those of
 * the instant. Writes nothing.
 */
export async function scoreAccountsAsOf(db: Db, accountIds: number[], at: Date): Promise<Map<number, PastRow>> {
  return inTransaction(db, async (trx) => {
    await sql`select set_config('jit', 'off', true)`.execute(trx);
    await ensureDefaultScorecard(trx);
    const cards = await activeScorecards(trx);
    let dull = await storedUninformative(trx, at);
    if (dull) {
      await loadFeatures(trx, { accountIds, at, live: false });
    } else {
      dull = (await loadPopulationAt(trx, at)).uninformative;
      await keepAccounts(trx, accountIds);
    }
    const out = new Map<number, PastRow>();
    for (const card of cards) {
      const select = scoringSelect(card.definition, scoringInput(card, cards, 'snapshot'), 'feature_distributions', dull);
      const { rows } = await trx.executeQuery<Omit<PastRow, 'scorecard_id'>>(
        CompiledQuery.raw(`select account_id, score, band, coverage from (${select}) s`, []),
      );
      for (const row of rows) out.set(Number(row.account_id), { ...row, account_id: Number(row.account_id), scorecard_id: card.id });
    }
    return out;
  });
}
