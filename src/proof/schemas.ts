import { z } from 'zod';
import { FEATURE_NAMES, type FeatureName } from '../scoring/features.js';
import { connectedSchema, scorecardDefinitionSchema } from '../scoring/scorecard.js';

const window = {
  horizonDays: z.number().int().min(1).max(730).default(90).meta({ description: 'Score each account this many days before its outcome' }),
  from: z.iso.date().optional().meta({ description: 'Only outcomes on or after this day' }),
  to: z.iso.date().optional().meta({ description: 'Only outcomes on or before this day' }),
};

export const backtestRequestSchema = z
  .object({
    scorecardId: z.number().int().positive().optional().meta({ description: 'A stored version; default: the active scorecard' }),
    segment: z.string().min(1).max(100).nullable().default(null).meta({ description: 'With neither scorecardId nor definition: whose active scorecard (null: the default)' }),
    definition: scorecardDefinitionSchema.optional().meta({ description: 'A draft to test instead of a stored version' }),
    ...window,
  })
  .refine((b) => !(b.scorecardId && b.definition), { path: ['definition'], message: 'give scorecardId or definition, not both' });

export const fitRequestSchema = z.object({
  segment: z.string().min(1).max(100).nullable().default(null).meta({ description: 'The segment whose next scorecard version the fit becomes (null: the default)' }),
  name: z.string().min(1).max(200).optional(),
  features: z
    .array(z.enum(FEATURE_NAMES as [FeatureName, ...FeatureName[]]))
    .min(1)
    .max(FEATURE_NAMES.length)
    .optional()
    .meta({ description: 'Candidate features (default: all)' }),
  connected: connectedSchema.optional(),
  seed: z.number().int().min(0).max(2 ** 31 - 1).optional().meta({ description: 'Seed of the cross-validation folds' }),
  ...window,
});

const rate = z.number().nullable();

export const backtestReportSchema = z
  .object({
    observations: z.number().meta({ description: 'Outcomes scored (one per renewal outcome)' }),
    scored: z.number(),
    unscored: z.number().meta({ description: 'Outcomes whose account had no data to score at that time' }),
    accountsChurned: z.number(),
    churnRate: rate,
    rocAuc: rate.meta({ description: 'P(a churner scored below a renewer); 0.5 is chance' }),
    rocAuc95: z.object({ low: rate, high: rate }),
    prAuc: rate,
    bands: z.array(
      z.object({ band: z.enum(['green', 'yellow', 'red']), accounts: z.number(), churned: z.number(), churnRate: rate, arr: z.number(), arrChurned: z.number() }),
    ),
    caught: z.object({ red: rate, redOrYellow: rate }).meta({ description: 'Share of churners the score had in red, and in red or yellow' }),
    redVsGreenChurnRate: rate,
    liftTopDecile: rate.meta({ description: 'Churn rate of the riskiest 10 % ÷ the overall churn rate' }),
    measures: z.array(
      z.object({
        key: z.string(),
        label: z.string(),
        feature: z.string(),
        weight: z.number(),
        auc: rate,
        direction: z.enum(['higher_goes_with_churn', 'lower_goes_with_churn', 'none', 'no_information']),
        coverage: rate,
        informative: z.boolean(),
      }),
    ),
    roc: z.array(z.tuple([z.number(), z.number()])).optional().meta({ description: 'ROC curve: (false-positive rate, true-positive rate) points, riskiest first' }),
    deciles: z
      .array(
        z.object({
          decile: z.number().meta({ description: '1 = the riskiest tenth' }),
          accounts: z.number(),
          churned: z.number(),
          predicted: z.number().meta({ description: 'Mean predicted churn probability' }),
          observed: z.number(),
          lift: z.number(),
          minScore: z.number(),
          maxScore: z.number(),
        }),
      )
      .optional()
      .meta({ description: 'Calibration and lift: ten equal groups by score, riskiest first' }),
    predictedBy: z.enum(['scorecard', 'fitted_here']).optional().meta({ description: "The deciles' predicted churn: the scorecard's calibration, or a logistic fit of churn on score over these outcomes" }),
  })
  .meta({ id: 'BacktestReport' });

export const storedReportSchema = z.object({
  id: z.number(),
  kind: z.enum(['backtest', 'fit']),
  scorecardId: z.number().nullable(),
  definition: z.unknown(),
  options: z.unknown(),
  report: z.unknown(),
  createdAt: z.string(),
});

export const backtestResponseSchema = z.object({
  id: z.number(),
  createdAt: z.string(),
  scorecard: z.object({ id: z.number(), version: z.number(), segment: z.string().nullable() }).nullable(),
  options: z.object({ horizonDays: z.number(), from: z.string().nullable(), to: z.string().nullable() }),
  report: backtestReportSchema,
});

export const fitResponseSchema = z.object({
  reportId: z.number(),
  scorecard: z.object({ id: z.number(), version: z.number(), segment: z.string().nullable(), active: z.boolean(), definition: scorecardDefinitionSchema }),
  fit: z.object({
    observations: z.number(),
    churned: z.number(),
    measures: z.array(
      z.object({ key: z.string(), label: z.string(), feature: z.string(), weight: z.number(), direction: z.string(), auc: z.number(), coverage: z.number() }),
    ),
    dropped: z.array(z.object({ key: z.string(), reason: z.string() })),
    calibration: z.object({ intercept: z.number(), slope: z.number() }),
    validation: z.object({
      crossValidatedAuc: z.object({ mean: z.number().nullable(), sd: z.number().nullable(), folds: z.array(z.number().nullable()) }),
      temporal: z.object({ trainUntil: z.string(), trainAuc: z.number().nullable(), testAuc: z.number().nullable(), testObservations: z.number() }),
    }),
  }),
  backtest: backtestReportSchema,
});
