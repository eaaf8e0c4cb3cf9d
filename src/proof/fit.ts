import { type Kysely, sql } from 'kysely';
import type { Database } from '../db/schema.js';
import { inTransaction } from '../db/transaction.js';
import { DomainError } from '../lib/errors.js';
import { FEATURE_NAMES, FEATURES, type FeatureName, type FeatureRow } from '../scoring/features.js';
import { type FitCandidate, FitError, type FitResult, fitMeasures } from '../scoring/learn/fit.js';
import { measureInputs } from '../scoring/model.js';
import { DEFAULT_CONNECTED, GROUPS, type ScorecardDefinition, scorecardDefinitionSchema } from '../scoring/scorecard.js';
import { backtestReport, scoreObservations } from './backtest.js';
import { loadObservations, type ObservationOptions } from './observations.js';

type Db = Kysely<Database>;

/** Fewer churned (or retained) outcomes than this cannot support a fit. */
export const MIN_OUTCOMES_PER_CLASS = 50;

export interface FitOptions extends ObservationOptions {
  /** Which sources count as connected, and so zero rather than missing (default: the default scorecard's). */
  connected?: ScorecardDefinition['connected'];
  /** Candidate features (default: all). */
  features?: FeatureName[];
  name?: string;
  seed?: number;
}

/** A scorecard of one linear measure per candidate: only used to read each candidate's raw value with its connection rule. */
function probeCard(features: FeatureName[], connected: ScorecardDefinition['connected']): ScorecardDefinition {
  return {
    name: 'probe',
    bands: { green: 70, red: 40, hysteresis: 0 },
    connected,
    groups: [{ key: 'usage', label: 'all', measures: features.map((f) => ({ key: f, label: f, feature: f, weight: 1, mapping: { type: 'linear', points: [[0, 0], [1, 100]] } })) }],
  };
}

/**
 * Learns a scorecard from renewal outcomes: each candidate feature is read as
 * of `horizonDays` before each outcome (point in time, so nothing after that
 * instant leaks in), a monotone mapping and a weight are fitted with
 * validation (src/scoring/learn), and the result is an ordinary scorecard
 * definition with a churn-probability calibration, plus its backtest on the
 * same outcomes. Writes nothing: the caller stores it as a draft.
 */
export async function fitScorecard(db: Db, options: FitOptions) {
  const features = options.features ?? FEATURE_NAMES;
  const connected = options.connected ?? DEFAULT_CONNECTED;
  return inTransaction(db, async (trx) => {
    await sql`select set_config('jit', 'off', true)`.execute(trx);
    const count = await loadObservations(trx, options);
    const { rows } =
      count === 0
        ? { rows: [] }
        : await sql<FeatureRow & { churned: boolean; occurred_on: string }>`
            select f.*, t.churned, t.occurred_on::text as occurred_on from hs_features f join hs_targets t using (target_id) order by target_id`.execute(trx);
    const churned = rows.filter((r) => r.churned).length;
    const retained = rows.length - churned;
    if (churned < MIN_OUTCOMES_PER_CLASS || retained < MIN_OUTCOMES_PER_CLASS) {
      throw new DomainError(
        'unprocessable',
        `a fit needs at least ${MIN_OUTCOMES_PER_CLASS} churned and ${MIN_OUTCOMES_PER_CLASS} retained outcomes; there are ${churned} churned and ${retained} retained` +
          ` (${Math.max(0, MIN_OUTCOMES_PER_CLASS - churned)} churned and ${Math.max(0, MIN_OUTCOMES_PER_CLASS - retained)} retained short)`,
        { churned, retained, required: MIN_OUTCOMES_PER_CLASS },
      );
    }
    const probe = probeCard(features, connected);
    const candidates: FitCandidate[] = features.map((f) => ({ key: f, feature: f, label: FEATURES[f].label, group: FEATURES[f].group }));
    const observations = rows.map((r) => ({
      raws: measureInputs(probe, r).map((m) => m.raw),
      churned: r.churned,
      outcomeDate: r.occurred_on,
    }));
    let result: FitResult;
    try {
      result = fitMeasures({ candidates, observations, options: { seed: options.seed } });
    } catch (err) {
      if (err instanceof FitError) throw new DomainError('unprocessable', err.message);
      throw err;
    }
    const definition = toDefinition(result, connected, options);
    const { rows: scored, uninformative } = await scoreObservations(trx, definition);
    return { definition, result, backtest: backtestReport(definition, scored, uninformative, count) };
  });
}

function toDefinition(result: FitResult, connected: ScorecardDefinition['connected'], options: FitOptions): ScorecardDefinition {
  const groups = GROUPS.map((key) => ({
    key,
    label: { usage: 'Product usage', support: 'Support', surveys: 'Surveys', commercial: 'Commercial' }[key],
    measures: result.measures
      .filter((m) => m.group === key)
      .map((m) => ({ key: m.key, label: m.label, feature: m.feature as FeatureName, weight: m.weight, mapping: m.mapping })),
  })).filter((g) => g.measures.length > 0);
  return scorecardDefinitionSchema.parse({
    name: options.name ?? `Fitted to ${result.observations} outcomes`,
    bands: { green: result.bands.green, red: result.bands.red, hysteresis: 2 },
    connected,
    calibration: { intercept: result.calibration.intercept, slope: result.calibration.slope, horizonDays: options.horizonDays },
    groups,
  });
}
