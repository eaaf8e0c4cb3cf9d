import { CompiledQuery, type Kysely, sql } from 'kysely';
import type { Database } from '../db/schema.js';
import { inTransaction } from '../db/transaction.js';
import {
  type AfterScoring,
  loadFeatures,
  measuredFeatures,
  percentileFeatures,
  recompute,
  refreshDistributions,
  scoringInput,
  uninformativeInFeatures,
} from './recompute.js';
import type { ScorecardDefinition } from './scorecard.js';
import { accountsScoredBy, activateScorecard, activeScorecards, createScorecardVersion, type Scorecard } from './scorecards.js';
import { scoringSelect } from './sql.js';

/**
 * What-if: scores a draft scorecard against current data with the same SQL
 * as a real recompute, writes nothing, and reports the score distribution and
 * the accounts whose band would change. Given the after hook (the alerts),
 * also how many alerts activating it would open and close: the activation
 * itself, run and rolled back to a savepoint.
 */
export async function previewScorecard(
  db: Kysely<Database>,
  segment: string | null,
  definition: ScorecardDefinition,
  asOf?: Date,
  options: { after?: AfterScoring } = {},
) {
  return inTransaction(db, async (trx) => {
    const active = await activeScorecards(trx);
    const draft: Scorecard = { id: 0, segment, version: 0, active: false, definition, createdAt: new Date(), activatedAt: null };
    const others = [...active.filter((c) => c.segment !== segment), draft];
    await loadFeatures(trx, { accountIds: null, at: asOf ?? null, live: asOf === undefined });
    await refreshDistributions(trx, percentileFeatures([draft]), 'hs_distributions');
    const uninformative = await uninformativeInFeatures(trx, measuredFeatures([draft]));
    const select = scoringSelect(definition, scoringInput(draft, others, asOf ? 'snapshot' : 'current'), 'hs_distributions', uninformative);
    const statement = `
with preview as materialized (${select}),
joined as (
  select a.external_id, p.score as preview_score, p.band as preview_band, h.score as current_score, h.band as current_band, p.coverage
    from preview p join accounts a on a.id = p.account_id left join health_scores h on h.account_id = p.account_id
)
select (select count(*)::int from joined) as accounts,
       (select json_build_object(
          'green', count(*) filter (where preview_band = 'green'), 'yellow', count(*) filter (where preview_band = 'yellow'),
          'red', count(*) filter (where preview_band = 'red'), 'none', count(*) filter (where preview_band is null)) from joined)::text as bands,
       (select coalesce(json_agg(json_build_array(bucket, n) order by bucket), '[]'::json)
          from (select least(width_bucket(preview_score, 0, 100, 10), 10) as bucket, count(*)::int as n
                  from joined where preview_score is not null group by 1) b)::text as histogram,
       (select avg(coverage)::float8 from joined) as average_coverage,
       (select count(*)::int from joined where preview_band is distinct from current_band) as changes,
       (select coalesce(json_agg(json_build_array(external_id, current_band, preview_band, current_score, preview_score)), '[]'::json)
          from (select * from joined where preview_band is distinct from current_band order by external_id limit 100) c)::text as change_items`;
    const { rows } = await trx.executeQuery<{
      accounts: number;
      bands: string;
      histogram: string;
      average_coverage: number | null;
      changes: number;
      change_items: string;
    }>(CompiledQuery.raw(statement, []));
    const row = rows[0]!;
    const alerts = options.after && !asOf ? await simulateActivation(trx, segment, definition, options.after) : null;
    const round = (x: number | null) => (x === null ? null : Math.round(x * 100) / 100);
    const histogram = new Map((JSON.parse(row.histogram) as [number, number][]).map(([b, n]) => [b, n]));
    return {
      accounts: row.accounts,
      bands: JSON.parse(row.bands) as { green: number; yellow: number; red: number; none: number },
      histogram: Array.from({ length: 10 }, (_, i) => ({ from: i * 10, to: (i + 1) * 10, accounts: histogram.get(i + 1) ?? 0 })),
      averageCoverage: round(row.average_coverage),
      alerts,
      bandChanges: {
        total: row.changes,
        items: (JSON.parse(row.change_items) as [string, string | null, string | null, number | null, number | null][]).map(
          ([externalId, currentBand, previewBand, currentScore, previewScore]) => ({
            externalId,
            currentBand: currentBand as 'green' | 'yellow' | 'red' | null,
            previewBand: previewBand as 'green' | 'yellow' | 'red' | null,
            currentScore: round(currentScore),
            previewScore: round(previewScore),
          }),
        ),
      },
    };
  });
}

/**
 * What activating the draft would do to alerts: the activation (a version,
 * made active, its accounts rescored, the alerts re-checked as after a real
 * activation) inside a savepoint that is rolled back, so nothing of it stays
 * and no event leaves. Opening counts the alerts within the budget.
 */
async function simulateActivation(trx: Kysely<Database>, segment: string | null, definition: ScorecardDefinition, after: AfterScoring) {
  await sql`savepoint hs_preview_activation`.execute(trx);
  try {
    const draft = await createScorecardVersion(trx, segment, definition);
    await activateScorecard(trx, draft.id);
    const result = await recompute(trx, { accountIds: await accountsScoredBy(trx, segment), after, cause: 'scorecard_changed' });
    return { opening: result.alerts?.opened ?? 0, closing: result.alerts?.resolved ?? 0, watchList: result.alerts?.watched ?? 0 };
  } finally {
    await sql`rollback to savepoint hs_preview_activation`.execute(trx);
  }
}
