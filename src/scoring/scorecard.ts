import { z } from 'zod';
import { FEATURES, type FeatureName, type Source } from './features.js';

/**
 * A scorecard: groups of measures, each mapping one raw feature to a 0–100
 * sub-score, with a weight. Stored as versioned JSON; validated here.
 */

const point = z.tuple([z.number().finite(), z.number().min(0).max(100)]);

const isMonotone = (values: number[]) =>
  values.every((v, i) => i === 0 || v >= values[i - 1]!) || values.every((v, i) => i === 0 || v <= values[i - 1]!);

export const mappingSchema = z.discriminatedUnion('type', [
  z
    .object({
      type: z.literal('linear'),
      /** [raw, score] pairs, raw ascending; straight lines between, flat outside. */
      points: z.array(point).min(2).max(20),
    })
    .refine((m) => m.points.every((p, i) => i === 0 || p[0] > m.points[i - 1]![0]), 'points must have strictly ascending raw values')
    .refine((m) => isMonotone(m.points.map((p) => p[1])), 'scores must rise or fall monotonically'),
  z
    .object({
      type: z.literal('bands'),
      /** Steps: a raw value at or above `min` scores `score` (the first band also covers everything below it). */
      bands: z.array(z.object({ min: z.number().finite(), score: z.number().min(0).max(100) })).min(1).max(20),
    })
    // Not necessarily monotone: a fitted shape may rise then fall where the data says so.
    .refine((m) => m.bands.every((b, i) => i === 0 || b.min > m.bands[i - 1]!.min), 'bands must have strictly ascending min values'),
  z
    .object({
      type: z.literal('grid'),
      /** The second feature of an interaction line: the measure's own feature picks the row, this one the column. */
      with: z.enum(Object.keys(FEATURES) as [FeatureName, ...FeatureName[]]),
      /** Row steps on the measure's feature: a raw value at or above rows[i] is in row i (row 0 also covers everything below). */
      rows: z.array(z.number().finite()).min(1).max(8),
      /** Column steps on the `with` feature, read the same way. */
      columns: z.array(z.number().finite()).min(1).max(8),
      /** Sub-score per row and column. */
      scores: z.array(z.array(z.number().min(0).max(100)).min(1).max(8)).min(1).max(8),
    })
    .refine((m) => m.rows.every((r, i) => i === 0 || r > m.rows[i - 1]!), 'rows must be strictly ascending')
    .refine((m) => m.columns.every((c, i) => i === 0 || c > m.columns[i - 1]!), 'columns must be strictly ascending')
    .refine((m) => m.scores.length === m.rows.length && m.scores.every((r) => r.length === m.columns.length), 'scores must have one row per row step and one column per column step'),
  z.object({
    type: z.literal('percentile'),
    /** Rank within the account's segment; true: a higher raw value is better. */
    higherIsBetter: z.boolean(),
  }),
]);
export type Mapping = z.infer<typeof mappingSchema>;

export const measureSchema = z.object({
  key: z.string().regex(/^[a-z][a-z0-9_]{0,62}$/),
  label: z.string().min(1).max(100),
  feature: z.enum(Object.keys(FEATURES) as [FeatureName, ...FeatureName[]]),
  weight: z.number().positive().max(1000),
  mapping: mappingSchema,
  /** Data older than this many days counts as missing. */
  freshnessDays: z.number().int().positive().max(3650).optional(),
});
export type Measure = z.infer<typeof measureSchema>;

export const GROUPS = ['usage', 'support', 'surveys', 'commercial'] as const;

/**
 * When a source counts as connected for an account, so that an empty window
 * is a zero rather than missing data:
 *  - `workspace`: once anyone's data of that kind has arrived (a help desk
 *    that is wired up and reports nothing for an account means no tickets);
 *  - `account`: once that account's own data has arrived (no NPS answer is
 *    not an NPS of zero).
 * Freshness limits compare the age of the newest data in the same scope.
 */
export const CONNECTION_MODES = ['workspace', 'account'] as const;
export type ConnectionMode = (typeof CONNECTION_MODES)[number];
const mode = z.enum(CONNECTION_MODES);
export const connectedSchema = z.object({
  usage: mode.default('workspace'),
  support: mode.default('workspace'),
  nps: mode.default('account'),
  csat: mode.default('account'),
  commercial: mode.default('account'),
});
export type Connected = z.infer<typeof connectedSchema>;
export const DEFAULT_CONNECTED: Connected = connectedSchema.parse({});
export const connectionOf = (card: ScorecardDefinition, source: Source): ConnectionMode => (card.connected ?? DEFAULT_CONNECTED)[source];

export const scorecardDefinitionSchema = z
  .object({
    name: z.string().min(1).max(200),
    bands: z
      .object({
        /** At or above: green. */
        green: z.number().min(0).max(100),
        /** Below: red. */
        red: z.number().min(0).max(100),
        /** Points a score must move past a threshold before the band changes. */
        hysteresis: z.number().min(0).max(20),
      })
      .refine((b) => b.red < b.green, 'red must be below green'),
    connected: connectedSchema.optional().meta({ description: 'When a source counts as connected (zero, not missing, for an empty window)' }),
    /** Set by a fit: P(churn before renewal) = 1 / (1 + e^-(intercept + slope × score)). */
    calibration: z
      .object({ intercept: z.number().finite(), slope: z.number().finite(), horizonDays: z.number().int().positive().max(3650) })
      .optional(),
    groups: z
      .array(
        z.object({
          key: z.enum(GROUPS),
          label: z.string().min(1).max(100),
          measures: z.array(measureSchema).min(1).max(30),
        }),
      )
      .min(1),
  })
  .superRefine((card, ctx) => {
    const keys = card.groups.flatMap((g) => g.measures.map((m) => m.key));
    const dup = keys.find((k, i) => keys.indexOf(k) !== i);
    if (dup) ctx.addIssue({ code: 'custom', path: ['groups'], message: `measure key ${dup} is used twice` });
  });
export type ScorecardDefinition = z.infer<typeof scorecardDefinitionSchema>;

/** The measures of a scorecard in their fixed order (the order of stored arrays). */
export const measuresOf = (card: ScorecardDefinition) =>
  card.groups.flatMap((g) => g.measures.map((m) => ({ ...m, group: g.key })));
export type OrderedMeasure = ReturnType<typeof measuresOf>[number];

const linear = (...points: [number, number][]): Mapping => ({ type: 'linear', points });

const bands = (...steps: [number, number][]): Mapping => ({ type: 'bands', bands: steps.map(([min, score]) => ({ min, score })) });

/**
 * The scorecard the service ships with, for an installation with no outcomes
 * to learn from yet; docs/scoring.md walks through every choice. Directions
 * are the ones that hold across industries (falling usage against the
 * account's own baseline, friction with support, detractors, short tenure and
 * short contracts go with churn); raw volume is left to a fit, whose
 * direction differs between businesses.
 */
export const DEFAULT_SCORECARD: ScorecardDefinition = {
  name: 'Default',
  bands: { green: 70, red: 45, hysteresis: 3 },
  connected: DEFAULT_CONNECTED,
  groups: [
    {
      key: 'usage',
      label: 'Product usage',
      measures: [
        { key: 'usage_change', label: 'Usage vs own baseline', feature: 'usage_change_30_90', weight: 12, mapping: linear([-0.6, 0], [-0.3, 35], [0, 70], [0.2, 100]) },
        { key: 'active_days', label: 'Active days (30 days)', feature: 'active_days_30d', weight: 10, mapping: linear([0, 0], [4, 40], [12, 80], [20, 100]) },
        { key: 'recency', label: 'Days since last activity', feature: 'days_inactive', weight: 8, mapping: linear([0, 100], [3, 90], [14, 40], [30, 0]) },
        { key: 'adoption', label: 'Seat adoption', feature: 'adoption', weight: 6, mapping: linear([0, 0], [0.2, 30], [0.6, 80], [0.9, 100]) },
        { key: 'breadth', label: 'Feature breadth', feature: 'feature_breadth', weight: 4, mapping: linear([0, 0], [1, 20], [3, 60], [6, 100]) },
      ],
    },
    {
      key: 'support',
      label: 'Support',
      measures: [
        { key: 'open_tickets', label: 'Open tickets (by priority)', feature: 'open_ticket_weight', weight: 4, mapping: linear([0, 100], [2, 75], [6, 30], [12, 0]) },
        { key: 'oldest_urgent', label: 'Oldest open urgent/high ticket', feature: 'oldest_urgent_open_days', weight: 4, mapping: linear([0, 100], [2, 80], [7, 30], [21, 0]) },
        { key: 'complaints', label: 'Complaints (90 days)', feature: 'complaints_90d', weight: 4, mapping: linear([0, 100], [1, 50], [3, 0]) },
        { key: 'repeat_contacts', label: 'Problems not solved at the second contact', feature: 'repeat_contacts_90d', weight: 3, mapping: linear([0, 100], [1, 60], [3, 0]) },
        { key: 'escalations', label: 'Escalations (90 days)', feature: 'escalations_90d', weight: 3, mapping: linear([0, 100], [1, 60], [3, 10]) },
        { key: 'late_resolutions', label: 'Resolutions later than SLA (90 days)', feature: 'late_resolutions_90d', weight: 2, mapping: linear([0, 100], [2, 60], [6, 0]) },
        { key: 'ticket_satisfaction', label: 'Ticket satisfaction (90 days)', feature: 'ticket_satisfaction_90d', weight: 2, mapping: linear([0.5, 0], [0.8, 60], [0.95, 100]) },
      ],
    },
    {
      key: 'surveys',
      label: 'Surveys',
      measures: [
        { key: 'nps', label: 'Latest NPS answer', feature: 'latest_nps', weight: 8, freshnessDays: 180, mapping: bands([0, 10], [5, 35], [7, 65], [9, 100]) },
        { key: 'nps_trend', label: 'NPS trend (90 days vs the 90 before)', feature: 'nps_trend', weight: 2, freshnessDays: 180, mapping: linear([-3, 0], [0, 60], [2, 100]) },
        { key: 'csat', label: 'CSAT average (90 days)', feature: 'csat_avg_90d', weight: 4, freshnessDays: 90, mapping: linear([1, 0], [3, 40], [4, 75], [5, 100]) },
      ],
    },
    {
      key: 'commercial',
      label: 'Commercial',
      measures: [
        { key: 'tenure', label: 'Tenure', feature: 'tenure_months', weight: 8, mapping: linear([0, 20], [6, 45], [12, 65], [24, 85], [48, 100]) },
        { key: 'contract_length', label: 'Contract length', feature: 'contract_months', weight: 6, mapping: linear([1, 20], [6, 50], [12, 80], [24, 100]) },
        { key: 'payment', label: 'Payment standing', feature: 'payment_overdue', weight: 3, mapping: bands([0, 100], [1, 0]) },
        { key: 'overdue_history', label: 'Payment-overdue history', feature: 'overdue_contracts', weight: 2, mapping: linear([0, 100], [1, 50], [3, 0]) },
        { key: 'auto_renew', label: 'Auto-renew', feature: 'auto_renew_off', weight: 2, mapping: bands([0, 100], [1, 40]) },
        { key: 'contraction', label: 'Seat or ARR change at last renewal', feature: 'contraction', weight: 2, mapping: linear([-0.5, 0], [-0.1, 50], [0, 80], [0.1, 100]) },
        { key: 'downgrades', label: 'Downgrades', feature: 'downgrades', weight: 1, mapping: linear([0, 100], [1, 40], [2, 0]) },
      ],
    },
  ],
};
