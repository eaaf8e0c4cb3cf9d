import { CompiledQuery, type Kysely, sql } from 'kysely';
import type { Database } from '../db/schema.js';
import { inTransaction } from '../db/transaction.js';
import { aucInterval, caughtShare, liftAtTop, prAuc, rateAmong, rocAuc } from '../scoring/learn/metrics.js';
import { type Band, plainBand } from '../scoring/model.js';
import { measuredFeatures, percentileFeatures, refreshDistributions, scoringInput, uninformativeInFeatures } from '../scoring/recompute.js';
import { measuresOf, type ScorecardDefinition } from '../scoring/scorecard.js';
import type { Scorecard } from '../scoring/scorecards.js';
import { scoringSelect } from '../scoring/sql.js';
import { deciles, rocCurve } from './curves.js';
import { loadObservations, type ObservationOptions } from './observations.js';

type Db = Kysely<Database>;

const r4 = (x: number) => (Number.isFinite(x) ? Math.round(x * 10_000) / 10_000 : null);

export interface BacktestRow {
  churned: boolean;
  arr: number | null;
  score: number | null;
  /** The band the account would have shown at its instant: this scorecard's thresholds, hysteresis from the band before (as as-of scores and the history). */
  band: Band | null;
  raw: (number | null)[];
  sub: (number | null)[];
  status: number[];
}

/**
 * Scores every observation (see observations.ts) with one scorecard, as of its
 * own instant, in one set-based statement, in the caller's transaction.
 * Percentile measures rank against the observations themselves; a measure
 * with one value across them carries no weight, as in a live run and as an
 * as-of score judges the accounts at its instant (scoring/instants.ts). The
 * band is the one an as-of score at that instant shows: hysteresis from the
 * stored band before it (the score history), plain where there is none.
 */
export async function scoreObservations(trx: Db, definition: ScorecardDefinition): Promise<{ rows: BacktestRow[]; uninformative: Set<string> }> {
  const card: Scorecard = { id: 0, segment: null, version: 0, active: false, definition, createdAt: new Date(), activatedAt: null };
  await refreshDistributions(trx, percentileFeatures([card]), 'hs_distributions');
  const uninformative = await uninformativeInFeatures(trx, measuredFeatures([card]));
  const select = scoringSelect(definition, scoringInput(card, [card], 'snapshot'), 'hs_distributions', uninformative);
  const { rows } = await trx.executeQuery<BacktestRow & { target_id: number }>(
    CompiledQuery.raw(
      `select s.target_id, t.churned, t.arr, s.base as score, s.band, s.raw, s.sub, s.status
         from (${select}) s join hs_targets t using (target_id) order by s.target_id`,
      [],
    ),
  );
  return { rows, uninformative };
}

/** The report of a backtest: how well the score ranked and banded the outcomes that followed it. */
export function backtestReport(definition: ScorecardDefinition, rows: BacktestRow[], uninformative: ReadonlySet<string>, observations: number) {
  const scored = rows.filter((r) => r.score !== null);
  const churned = scored.map((r) => r.churned);
  const risk = scored.map((r) => -r.score!);
  const positives = churned.filter(Boolean).length;
  const auc = rocAuc(risk, churned);
  const bands = scored.map((r) => r.band ?? plainBand(r.score!, definition.bands));
  const byBand = (['green', 'yellow', 'red'] as Band[]).map((band) => {
    const members = scored.filter((_, i) => bands[i] === band);
    const lost = members.filter((r) => r.churned);
    return {
      band,
      accounts: members.length,
      churned: lost.length,
      churnRate: members.length ? r4(lost.length / members.length) : null,
      arr: Math.round(members.reduce((s, r) => s + (r.arr ?? 0), 0)),
      arrChurned: Math.round(lost.reduce((s, r) => s + (r.arr ?? 0), 0)),
    };
  });
  const measures = measuresOf(definition).map((m, i) => {
    const withSub = scored.filter((r) => r.sub[i] !== null && r.sub[i] !== undefined);
    const labels = withSub.map((r) => r.churned);
    const subAuc = rocAuc(withSub.map((r) => -r.sub[i]!), labels);
    const rawAuc = rocAuc(withSub.map((r) => r.raw[i]!), labels);
    return {
      key: m.key,
      label: m.label,
      feature: m.feature,
      weight: m.weight,
      /** This measure's sub-score alone: above 0.5 it ranks churners lower, as the scorecard assumes. */
      auc: r4(subAuc),
      /** Which way the raw value points among these outcomes. */
      direction: uninformative.has(m.feature)
        ? 'no_information'
        : !Number.isFinite(rawAuc) || Math.abs(rawAuc - 0.5) < 0.01
          ? 'none'
          : rawAuc > 0.5
            ? 'higher_goes_with_churn'
            : 'lower_goes_with_churn',
      coverage: r4(scored.length ? withSub.length / scored.length : 0),
      informative: !uninformative.has(m.feature),
    };
  });
  const interval = aucInterval(auc, positives, scored.length - positives);
  const calibration = definition.calibration;
  const byDecile = deciles(
    scored.map((r) => r.score!),
    churned,
    calibration ? (s) => 1 / (1 + Math.exp(-(calibration.intercept + calibration.slope * s))) : undefined,
  );
  return {
    observations,
    scored: scored.length,
    unscored: observations - scored.length,
    accountsChurned: positives,
    churnRate: r4(scored.length ? positives / scored.length : Number.NaN),
    rocAuc: r4(auc),
    rocAuc95: { low: r4(interval.low), high: r4(interval.high) },
    prAuc: r4(prAuc(risk, churned)),
    bands: byBand,
    caught: {
      red: r4(caughtShare(bands.map((b) => b === 'red'), churned)),
      redOrYellow: r4(caughtShare(bands.map((b) => b !== 'green'), churned)),
    },
    redVsGreenChurnRate: r4(rateAmong(bands.map((b) => b === 'red'), churned) / rateAmong(bands.map((b) => b === 'green'), churned)),
    liftTopDecile: r4(liftAtTop(risk, churned, 0.1)),
    measures,
    /** The pictures: ROC points (false-positive rate, true-positive rate), and churn by decile of risk. */
    roc: rocCurve(risk, churned),
    deciles: byDecile.deciles,
    /** Where the deciles' predicted churn comes from: the scorecard's calibration, or a logistic fit on these outcomes. */
    predictedBy: byDecile.calibration,
  };
}
export type BacktestReport = ReturnType<typeof backtestReport>;

/** Backtests a scorecard against every known outcome, scored `horizonDays` before it. Writes nothing. */
export async function runBacktest(db: Db, definition: ScorecardDefinition, options: ObservationOptions): Promise<BacktestReport> {
  return inTransaction(db, async (trx) => {
    await sql`select set_config('jit', 'off', true)`.execute(trx);
    const observations = await loadObservations(trx, options);
    if (observations === 0) return backtestReport(definition, [], new Set(), 0);
    const { rows, uninformative } = await scoreObservations(trx, definition);
    return backtestReport(definition, rows, uninformative, observations);
  });
}
