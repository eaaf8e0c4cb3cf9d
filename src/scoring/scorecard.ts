import { z } from 'zod';
import { FEATURES, type FeatureName } from './features.js';

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
    .refine((m) => m.bands.every((b, i) => i === 0 || b.min > m.bands[i - 1]!.min), 'bands must have strictly ascending min values')
    .refine((m) => isMonotone(m.bands.map((b) => b.score)), 'band scores must rise or fall monotonically'),
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

/** The scorecard the service ships with; docs/scoring.md walks through it. */
export const DEFAULT_SCORECARD: ScorecardDefinition = {
  name: 'Default',
  bands: { green: 70, red: 40, hysteresis: 3 },
  groups: [
    {
      key: 'usage',
      label: 'Product usage',
      measures: [
        { key: 'adoption', label: 'Seat adoption', feature: 'adoption', weight: 15, mapping: linear([0, 0], [0.2, 30], [0.6, 80], [0.9, 100]) },
        { key: 'usage_trend', label: 'Usage trend', feature: 'usage_trend', weight: 10, mapping: linear([-0.5, 0], [-0.1, 50], [0, 60], [0.3, 100]) },
        { key: 'breadth', label: 'Feature breadth', feature: 'feature_breadth', weight: 5, mapping: linear([0, 0], [1, 20], [3, 60], [6, 100]) },
        { key: 'recency', label: 'Days since last activity', feature: 'days_inactive', weight: 10, mapping: linear([0, 100], [3, 90], [14, 40], [30, 0]) },
      ],
    },
    {
      key: 'support',
      label: 'Support',
      measures: [
        { key: 'open_tickets', label: 'Open tickets (by priority)', feature: 'open_ticket_weight', weight: 6, mapping: linear([0, 100], [2, 75], [6, 30], [12, 0]) },
        { key: 'ticket_volume', label: 'Tickets per seat (90 days)', feature: 'tickets_per_seat_90d', weight: 4, mapping: { type: 'percentile', higherIsBetter: false } },
        { key: 'oldest_urgent', label: 'Oldest open urgent/high ticket', feature: 'oldest_urgent_open_days', weight: 5, mapping: linear([0, 100], [2, 80], [7, 30], [21, 0]) },
        { key: 'friction', label: 'Escalations, reopens and SLA breaches (90 days)', feature: 'support_friction_90d', weight: 4, mapping: linear([0, 100], [2, 70], [6, 20], [10, 0]) },
        { key: 'ticket_satisfaction', label: 'Ticket satisfaction (90 days)', feature: 'ticket_satisfaction_90d', weight: 3, mapping: linear([0.5, 0], [0.8, 60], [0.95, 100]) },
      ],
    },
    {
      key: 'surveys',
      label: 'Surveys',
      measures: [
        {
          key: 'nps',
          label: 'Latest NPS answer',
          feature: 'latest_nps',
          weight: 10,
          freshnessDays: 180,
          mapping: { type: 'bands', bands: [{ min: 0, score: 10 }, { min: 5, score: 35 }, { min: 7, score: 65 }, { min: 9, score: 100 }] },
        },
        { key: 'nps_trend', label: 'NPS trend (90 days vs the 90 before)', feature: 'nps_trend', weight: 4, freshnessDays: 180, mapping: linear([-3, 0], [0, 60], [2, 100]) },
        { key: 'csat', label: 'CSAT average (90 days)', feature: 'csat_avg_90d', weight: 6, freshnessDays: 90, mapping: linear([1, 0], [3, 40], [4, 75], [5, 100]) },
      ],
    },
    {
      key: 'commercial',
      label: 'Commercial',
      measures: [
        { key: 'renewal', label: 'Days to renewal', feature: 'days_to_renewal', weight: 4, mapping: linear([0, 20], [30, 40], [90, 70], [180, 100]) },
        { key: 'auto_renew', label: 'Auto-renew', feature: 'auto_renew_off', weight: 3, mapping: { type: 'bands', bands: [{ min: 0, score: 100 }, { min: 1, score: 40 }] } },
        { key: 'payment', label: 'Payment standing', feature: 'payment_overdue', weight: 5, mapping: { type: 'bands', bands: [{ min: 0, score: 100 }, { min: 1, score: 0 }] } },
        { key: 'contraction', label: 'Seat or ARR change at last renewal', feature: 'contraction', weight: 5, mapping: linear([-0.5, 0], [-0.1, 50], [0, 80], [0.1, 100]) },
      ],
    },
  ],
};
