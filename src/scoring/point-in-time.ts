import { CompiledQuery, type Kysely, sql } from 'kysely';
import type { Database } from '../db/schema.js';
import { inTransaction } from '../db/transaction.js';
import { keepAccounts, loadPopulationAt, storedUninformative } from './instants.js';
import { loadFeatures, scoringInput } from './recompute.js';
import { activeScorecards, ensureDefaultScorecard } from './scorecards.js';
import { scoringSelect } from './sql.js';

type Db = Kysely<Database>;

export interface PastScore {
  scorecard_id: number;
  score: number | null;
  base_score: number | null;
  band: string | null;
  coverage: number;
  raw: (number | null)[];
  sub: (number | null)[];
  status: number[];
  pulse: number | null;
}

/**
 * One account's score as of a past instant, computed by the live scoring SQL
 * over the signals as they stood then (nothing dated later counts), with the
 * scorecards active now and the band it had before (hysteresis). The features
 * with no information are those of that instant (instants.ts): stored with the
 * history where it holds the instant, else judged on every account as of then.
 * Writes nothing; undefined when the account is unknown or archived.
 */
export async function scoreAsOf(
  db: Db,
  accountId: number,
  at: Date,
  /** Features to give no weight; default: those with one value for every account as of `at`. */
  uninformative?: ReadonlySet<string>,
): Promise<PastScore | undefined> {
  return inTransaction(db, async (trx) => {
    await sql`select set_config('jit', 'off', true)`.execute(trx);
    await ensureDefaultScorecard(trx);
    const cards = await activeScorecards(trx);
    let dull = uninformative ?? (await storedUninformative(trx, at));
    if (dull) {
      if ((await loadFeatures(trx, { accountIds: [accountId], at, live: false })) === 0) return undefined;
    } else {
      dull = (await loadPopulationAt(trx, at)).uninformative;
      await keepAccounts(trx, [accountId]);
    }
    for (const card of cards) {
      const select = scoringSelect(card.definition, scoringInput(card, cards, 'snapshot'), 'feature_distributions', dull);
      const { rows } = await trx.executeQuery<Omit<PastScore, 'scorecard_id' | 'base_score'> & { base: number | null }>(
        CompiledQuery.raw(`select score, base, band, coverage, raw, sub, status, pulse from (${select}) s`, []),
      );
      const row = rows[0];
      if (row) return { scorecard_id: card.id, base_score: row.base, ...row };
    }
    return undefined;
  });
}
