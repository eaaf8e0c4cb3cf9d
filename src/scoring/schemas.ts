import { z } from 'zod';
import { externalIdSchema } from '../accounts/schemas.js';
import { feedCursorSchema } from '../http/cursor.js';
import { scorecardDefinitionSchema } from './scorecard.js';

const band = z.enum(['green', 'yellow', 'red']).nullable();

const explanationSchema = z.object({
  key: z.string(),
  label: z.string(),
  group: z.string(),
  raw: z.number().nullable(),
  subScore: z.number().nullable(),
  weight: z.number(),
  effectiveWeight: z.number(),
  points: z.number(),
  status: z.enum(['ok', 'missing', 'no_information']).meta({
    description: '`missing`: no value (see `missingReason`); `no_information`: every account has the same value, so it carries no weight',
  }),
  missingReason: z.enum(['not_connected', 'stale', 'no_value']).nullable().meta({
    description: '`not_connected`: no data of this kind received yet; `stale`: older than the freshness limit; `no_value`: nothing to measure (e.g. no rated tickets)',
  }),
  sentence: z.string(),
});

const attributionSchema = z.object({ key: z.string(), label: z.string(), delta: z.number(), from: z.number(), to: z.number() });

export const healthSchema = z
  .object({
    externalId: z.string(),
    score: z.number().nullable().meta({ description: '0–100; null until some measure has data' }),
    baseScore: z.number().nullable().meta({ description: 'The score before any CSM pulse' }),
    band,
    coverage: z.number().meta({ description: 'Share of the scorecard weight that had data (0–1)' }),
    churnProbability: z.number().nullable().meta({
      description: 'Calibrated probability of churning before renewal, from a fitted scorecard (null for scorecards not fitted to outcomes)',
    }),
    asOf: z.string().optional().meta({ description: 'Set when the score was computed for a past instant (`as_of`)' }),
    scorecard: z.object({ id: z.number(), version: z.number(), segment: z.string().nullable(), name: z.string() }),
    trend: z.object({ days7: z.number().nullable(), days30: z.number().nullable() }),
    pulse: z
      .object({ adjustment: z.number(), reason: z.string(), author: z.string().nullable(), expiresAt: z.string() })
      .nullable(),
    explanation: z.array(explanationSchema),
    attribution: z.object({ since: z.string(), changes: z.array(attributionSchema) }).nullable(),
    computedAt: z.string(),
    updatedAt: z.string(),
    bandChangedAt: z.string().nullable(),
  })
  .meta({ id: 'Health' });

export const healthQuerySchema = z.object({
  as_of: z.iso
    .datetime({ offset: true })
    .refine((s) => Date.parse(s) <= Date.now() + 60_000, 'must not be in the future')
    .optional()
    .meta({ description: 'Compute (not store) the score as of this past instant, from the signals as they stood then' }),
});

export const historyQuerySchema = z.object({
  from: z.iso.datetime({ offset: true }).optional().meta({ description: 'Default: 90 days ago' }),
  to: z.iso.datetime({ offset: true }).optional().meta({ description: 'Default: now' }),
});

export const historySchema = z.object({
  items: z.array(
    z.object({
      takenAt: z.string(),
      day: z.string(),
      reason: z.enum(['daily', 'band_change']),
      score: z.number().nullable(),
      band,
      previousBand: band,
      coverage: z.number().nullable(),
      backfilled: z.boolean().meta({ description: 'Scored afterwards by the history backfill from the signals as they stood then (not seen live)' }),
      changes: z.array(attributionSchema).meta({ description: 'What moved the score since the previous snapshot' }),
    }),
  ),
});

export const feedQuerySchema = z.object({
  updated_since: z.iso.datetime({ offset: true }).optional(),
  as_of: z.iso
    .datetime({ offset: true })
    .refine((s) => Date.parse(s) <= Date.now() + 60_000, 'must not be in the future')
    .optional()
    .meta({
      description:
        'Every account’s score as of this past instant, in account order (not change order): from the stored history where it holds the instant (the UTC midnights of backfilled days), else computed set-based from the signals as they stood then',
    }),
  cursor: feedCursorSchema.optional(),
  limit: z.coerce.number().int().min(1).max(10_000).default(500),
  format: z.enum(['json', 'csv']).default('json'),
  band: z.enum(['green', 'yellow', 'red']).optional().meta({ description: 'Only accounts in this band' }),
  owner: z.string().min(1).max(200).optional().meta({ description: 'Only accounts with this owner' }),
  segment: z.string().min(1).max(100).optional().meta({ description: 'Only accounts in this segment' }),
});

export const feedItemSchema = z.object({
  externalId: z.string(),
  name: z.string(),
  owner: z.string().nullable(),
  segment: z.string().nullable(),
  churnProbability: z.number().nullable(),
  score: z.number().nullable(),
  band,
  coverage: z.number().nullable(),
  scorecardVersion: z.number(),
  scorecardSegment: z.string().nullable(),
  updatedAt: z.string().optional().meta({ description: 'The change feed: when the score last changed' }),
  asOf: z.string().optional().meta({ description: 'With `as_of`: the instant the score is as of' }),
});

export const feedSchema = z.object({
  items: z.array(feedItemSchema),
  nextCursor: z.string().nullable(),
  hasMore: z.boolean(),
});

export const pulseRequestSchema = z.object({
  adjustment: z.number().min(-50).max(50).refine((n) => n !== 0, 'must not be 0'),
  reason: z.string().trim().min(1).max(1000).refine((s) => !s.includes('\u0000'), 'must not contain NUL characters'),
  author: z.string().trim().min(1).max(200).optional(),
  expiresAt: z.iso
    .datetime({ offset: true })
    .refine((s) => Date.parse(s) > Date.now(), 'must be in the future')
    .refine((s) => Date.parse(s) < Date.now() + 366 * 86400e3, 'must be within a year'),
});

export const accountParams = z.object({ externalId: externalIdSchema });

export const scorecardSchema = z
  .object({
    id: z.number(),
    segment: z.string().nullable(),
    version: z.number(),
    active: z.boolean(),
    definition: scorecardDefinitionSchema,
    createdAt: z.string(),
    activatedAt: z.string().nullable(),
  })
  .meta({ id: 'Scorecard' });

export const createScorecardSchema = z.object({
  segment: z.string().trim().min(1).max(100).nullable().default(null).meta({ description: 'null: the default scorecard' }),
  definition: scorecardDefinitionSchema,
});

export const previewResponseSchema = z.object({
  accounts: z.number(),
  bands: z.object({ green: z.number(), yellow: z.number(), red: z.number(), none: z.number() }),
  histogram: z.array(z.object({ from: z.number(), to: z.number(), accounts: z.number() })),
  averageCoverage: z.number().nullable(),
  bandChanges: z.object({
    total: z.number(),
    items: z.array(
      z.object({
        externalId: z.string(),
        currentBand: band,
        previewBand: band,
        currentScore: z.number().nullable(),
        previewScore: z.number().nullable(),
      }),
    ),
  }),
});
