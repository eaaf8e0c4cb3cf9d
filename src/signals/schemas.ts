import type { Kysely } from 'kysely';
import { z } from 'zod';
import { externalIdSchema } from '../accounts/schemas.js';
import type { Database } from '../db/schema.js';
import { FUTURE_MESSAGE, notInFuture } from '../http/schemas.js';

const noNul = (s: string) => !s.includes('\u0000');
const naturalId = z.string().min(1).max(200).refine(noNul, 'must not contain NUL characters');
const text = (max: number) => z.string().max(max).refine(noNul, 'must not contain NUL characters');
const instant = z.iso.datetime({ offset: true });


export const usageEventSchema = z.object({
  eventId: naturalId.meta({ description: 'Unique per account; re-sending it is harmless' }),
  account: externalIdSchema,
  occurredAt: instant.refine(notInFuture, FUTURE_MESSAGE),
  metric: z.string().min(1).max(100).refine(noNul, 'must not contain NUL characters').meta({ example: 'report.exported' }),
  quantity: z.number().finite().min(0).max(1e12).default(1),
  userId: text(200).min(1).nullish(),
});
export type UsageEvent = z.infer<typeof usageEventSchema>;

export const TICKET_STATUSES = ['new', 'open', 'pending', 'solved', 'closed'] as const;
export const TICKET_PRIORITIES = ['low', 'normal', 'high', 'urgent'] as const;

export const ticketSchema = z.object({
  ticketId: naturalId,
  account: externalIdSchema,
  subject: text(500).nullish(),
  status: z.enum(TICKET_STATUSES),
  priority: z.enum(TICKET_PRIORITIES),
  kind: text(50).min(1).nullish().meta({ description: "The help desk's ticket type; `complaint` counts as a complaint", example: 'complaint' }),
  openedAt: instant,
  firstResponseAt: instant.nullish(),
  solvedAt: instant.nullish(),
  reopenCount: z.number().int().min(0).max(10_000).default(0),
  escalated: z.boolean().default(false),
  slaBreached: z.boolean().default(false),
  satisfaction: z.enum(['good', 'bad']).nullish(),
  updatedAt: instant.meta({ description: "The help desk's last-modified time: an older update never overwrites a newer one" }),
});
export type Ticket = z.infer<typeof ticketSchema>;

const SURVEY_RANGES = { nps: [0, 10], csat: [1, 5], ces: [1, 7] } as const;

export const surveyResponseSchema = z
  .object({
    responseId: naturalId,
    account: externalIdSchema,
    kind: z.enum(['nps', 'csat', 'ces']),
    score: z.number().int(),
    comment: text(5000).nullish(),
    respondent: text(200).nullish(),
    respondedAt: instant.refine(notInFuture, FUTURE_MESSAGE),
  })
  .superRefine((value, ctx) => {
    const [min, max] = SURVEY_RANGES[value.kind];
    if (value.score < min || value.score > max) {
      ctx.addIssue({ code: 'custom', path: ['score'], message: `${value.kind} scores run from ${min} to ${max}` });
    }
  });
export type SurveyResponse = z.infer<typeof surveyResponseSchema>;

export const CONTRACT_STATUSES = ['active', 'renewed', 'churned', 'cancelled', 'downgraded'] as const;

export const contractSchema = z
  .object({
    contractId: naturalId,
    account: externalIdSchema,
    startDate: z.iso.date(),
    endDate: z.iso.date().meta({ description: 'Renewal date' }),
    arr: z.number().min(0).max(1e13).multipleOf(0.01),
    currency: z.string().regex(/^[A-Z]{3}$/, 'must be an ISO 4217 code such as USD').nullish(),
    seats: z.number().int().min(0).max(10_000_000).nullish(),
    autoRenew: z.boolean().default(false),
    status: z.enum(CONTRACT_STATUSES),
    paymentStatus: z.enum(['current', 'overdue']).default('current'),
    updatedAt: instant
      .refine(notInFuture, FUTURE_MESSAGE)
      .nullish()
      .meta({ description: 'When the contract last changed at the source: dates its history and renewal outcome (default: when received)' }),
  })
  .refine((c) => c.endDate >= c.startDate, { path: ['endDate'], message: 'must not be before startDate' });
export type Contract = z.infer<typeof contractSchema>;

export const MAX_SIGNAL_BATCH = 5000;

export const signalBatchRequestSchema = z.object({
  items: z.array(z.unknown()).min(1).max(MAX_SIGNAL_BATCH),
});

export const ingestQuerySchema = z.object({
  create_missing_accounts: z
    .enum(['true', 'false'])
    .transform((v) => v === 'true')
    .optional()
    .meta({ description: 'Create placeholder accounts for unknown account ids instead of rejecting the items' }),
});

export const ITEM_OUTCOMES = ['created', 'updated', 'unchanged', 'stale', 'error'] as const;
export type ItemOutcome = (typeof ITEM_OUTCOMES)[number];

export type WriteOutcome = Exclude<ItemOutcome, 'error'>;

/** Writes resolved items in one statement and returns one outcome per row, in order. */
export type SignalWriter<T> = (db: Kysely<Database>, rows: { accountId: number; item: T }[]) => Promise<WriteOutcome[]>;

export const signalBatchResponseSchema = z.object({
  summary: z.record(z.enum(ITEM_OUTCOMES), z.number()),
  results: z.array(
    z.object({
      index: z.number().int(),
      id: z.string().nullable().meta({ description: 'The item’s natural id' }),
      result: z.enum(ITEM_OUTCOMES).meta({
        description: '`unchanged`: already stored as sent; `stale`: older than the stored version, ignored',
      }),
      errors: z.array(z.object({ field: z.string(), message: z.string() })).optional(),
    }),
  ),
});
