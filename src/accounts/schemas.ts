import { z } from 'zod';
import { feedCursorSchema } from '../http/cursor.js';
import { limitSchema } from '../http/schemas.js';

export const externalIdSchema = z
  .string()
  .min(1)
  .max(200)
  .regex(/^(?!\.\.?$)[^\s/\u0000][^/\u0000]*$/, 'must not start with a space, contain a slash or NUL, or be . or ..')
  .meta({ description: "The CRM's id for the account", example: 'acme-001' });

const isTimeZone = (tz: string) => {
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: tz });
    return true;
  } catch {
    return false;
  }
};

const MAX_ATTRIBUTES_BYTES = 16 * 1024;
// PostgreSQL text cannot hold NUL; refuse it here so it is a 400, not a database error.
const hasNul = (s: string) => s.includes('\u0000');
const shortText = (max = 200) =>
  z.string().trim().min(1).max(max).refine((s) => !hasNul(s), 'must not contain NUL characters');

/** Writable fields of an account; PUT replaces them all (missing optional fields become null). */
export const accountFieldsSchema = z.object({
  name: shortText(300),
  segment: shortText(100).nullish().meta({ description: 'Selects the segment scorecard', example: 'enterprise' }),
  tier: shortText(100).nullish().meta({ example: 'gold' }),
  owner: shortText().nullish().meta({ description: 'The customer success manager', example: 'dana@example.com' }),
  retentionOwner: shortText().nullish().meta({ description: 'Who works churn alerts for this account' }),
  seats: z.number().int().min(0).max(10_000_000).nullish(),
  arr: z.number().min(0).max(1e13).multipleOf(0.01).nullish().meta({ description: 'Annual recurring revenue' }),
  currency: z.string().regex(/^[A-Z]{3}$/, 'must be an ISO 4217 code such as USD').nullish(),
  timezone: z.string().refine(isTimeZone, 'must be an IANA time zone such as Europe/Berlin').nullish(),
  lifecycleStage: shortText(50).nullish().meta({ example: 'adoption' }),
  renewalDate: z.iso.date().nullish(),
  attributes: z
    .record(z.string(), z.unknown())
    .refine((v) => JSON.stringify(v).length <= MAX_ATTRIBUTES_BYTES, `must serialise to at most ${MAX_ATTRIBUTES_BYTES} bytes`)
    .refine((v) => !JSON.stringify(v).includes('\\u0000'), 'must not contain NUL characters')
    .optional(),
});
export type AccountFields = z.infer<typeof accountFieldsSchema>;

export const accountInputSchema = accountFieldsSchema.extend({ externalId: externalIdSchema });
export type AccountInput = z.infer<typeof accountInputSchema>;

export const accountSchema = z
  .object({
    externalId: z.string(),
    name: z.string(),
    segment: z.string().nullable(),
    tier: z.string().nullable(),
    owner: z.string().nullable(),
    retentionOwner: z.string().nullable(),
    seats: z.number().nullable(),
    arr: z.number().nullable(),
    currency: z.string().nullable(),
    timezone: z.string().nullable(),
    lifecycleStage: z.string().nullable(),
    renewalDate: z.string().nullable(),
    attributes: z.record(z.string(), z.unknown()),
    archivedAt: z.string().nullable(),
    createdAt: z.string(),
    updatedAt: z.string(),
  })
  .meta({ id: 'Account' });
export type Account = z.infer<typeof accountSchema>;

export const upsertOutcomeSchema = z.enum(['created', 'updated', 'unchanged']);
export type UpsertOutcome = z.infer<typeof upsertOutcomeSchema>;

export const upsertResponseSchema = z.object({ result: upsertOutcomeSchema, account: accountSchema });

export const MAX_BATCH_ACCOUNTS = 1000;

/** Items are checked one by one in the handler so a bad item never sinks the good ones. */
export const batchRequestSchema = z.object({
  items: z
    .array(z.unknown())
    .min(1)
    .max(MAX_BATCH_ACCOUNTS)
    .meta({ description: `1 to ${MAX_BATCH_ACCOUNTS} accounts (same fields as PUT, plus externalId)` }),
});

export const batchItemResultSchema = z.object({
  index: z.number().int(),
  externalId: z.string().nullable(),
  result: z.enum(['created', 'updated', 'unchanged', 'error']),
  errors: z.array(z.object({ field: z.string(), message: z.string() })).optional(),
});

export const batchResponseSchema = z.object({
  summary: z.object({
    created: z.number(),
    updated: z.number(),
    unchanged: z.number(),
    error: z.number(),
  }),
  results: z.array(batchItemResultSchema),
});

export const listQuerySchema = z.object({
  segment: z.string().max(100).optional(),
  owner: z.string().max(200).optional(),
  tier: z.string().max(100).optional(),
  updated_since: z.iso.datetime({ offset: true }).optional(),
  include_archived: z
    .enum(['true', 'false'])
    .transform((v) => v === 'true')
    .optional(),
  cursor: feedCursorSchema.optional(),
  limit: limitSchema,
});

export const listResponseSchema = z.object({
  items: z.array(accountSchema),
  nextCursor: z.string().nullable().meta({ description: 'Pass as `cursor` to continue; also resumes a finished sync later' }),
  hasMore: z.boolean(),
});

export const externalIdParams = z.object({ externalId: externalIdSchema });
