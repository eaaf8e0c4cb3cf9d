import { z } from 'zod';

export const fieldErrorSchema = z.object({
  field: z.string().meta({ example: 'body.seats' }),
  message: z.string(),
  code: z.string().optional(),
});

// Loose: a problem may carry extensions (`allow`, `pending`, `retryAfterSeconds`…), as RFC 9457 allows.
export const problemSchema = z
  .looseObject({
    type: z.string().meta({ example: '/problems/validation-failed' }),
    title: z.string(),
    status: z.number().int(),
    code: z.string().meta({ example: 'validation_failed' }),
    detail: z.string(),
    instance: z.string().optional(),
    requestId: z.string(),
    errors: z.array(fieldErrorSchema).optional(),
  })
  .meta({ id: 'Problem', description: 'RFC 9457 problem details' });

export const limitSchema = z.coerce.number().int().min(1).max(1000).default(100);

/**
 * Data dated in the future, one rule for every route that takes it (signals,
 * contracts, outcomes; batch, CSV and webhooks alike): more than a day ahead
 * (a day of slack for time zones and clock skew) is an error at the sender.
 */
export const FUTURE_MESSAGE = 'is more than a day in the future';
const SLACK_MS = 24 * 3600 * 1000;
/** An instant (ISO 8601) at most a day ahead. */
export const notInFuture = (iso: string) => !(Date.parse(iso) > Date.now() + SLACK_MS);
/** A calendar day (YYYY-MM-DD) no later than the UTC day a day from now. */
export const dayNotInFuture = (day: string) => day <= new Date(Date.now() + SLACK_MS).toISOString().slice(0, 10);
