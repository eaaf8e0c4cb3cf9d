import { z } from 'zod';
import { externalIdSchema } from '../accounts/schemas.js';
import { keysetCursorSchema } from '../http/cursor.js';
import { dayNotInFuture, FUTURE_MESSAGE } from '../http/schemas.js';

export const OUTCOME_KINDS = ['renewed', 'churned', 'cancelled', 'downgraded'] as const;
export type OutcomeKind = (typeof OUTCOME_KINDS)[number];
/** The kinds that count as churn when scores are judged. */
export const CHURN_KINDS: readonly OutcomeKind[] = ['churned', 'cancelled'];

const noNul = (s: string) => !s.includes('\u0000');

/** An imported renewal outcome (batch and CSV); contract and lifecycle outcomes are recorded by themselves. */
export const outcomeItemSchema = z.object({
  outcomeId: z.string().min(1).max(200).refine(noNul, 'must not contain NUL characters').meta({ description: 'Unique per account; re-sending it is harmless' }),
  account: externalIdSchema,
  kind: z.enum(OUTCOME_KINDS),
  occurredOn: z.iso.date().refine(dayNotInFuture, FUTURE_MESSAGE).meta({ description: 'The renewal date, or when the customer said so if earlier' }),
  contractId: z.string().min(1).max(200).refine(noNul, 'must not contain NUL characters').nullish(),
  arr: z.number().min(0).max(1e13).nullish(),
});
export type OutcomeItem = z.infer<typeof outcomeItemSchema>;

/** (occurredOn, account id, outcome key) of the last outcome of a page. */
const cursorSchema = keysetCursorSchema(['string', 'int', 'string']);

export const outcomeListQuerySchema = z.object({
  from: z.iso.date().optional().meta({ description: 'Outcomes on or after this day' }),
  to: z.iso.date().optional().meta({ description: 'Outcomes on or before this day' }),
  kind: z.enum(OUTCOME_KINDS).optional(),
  cursor: cursorSchema.optional(),
  limit: z.coerce.number().int().min(1).max(5000).default(500),
});

export const outcomeSchema = z
  .object({
    account: z.string(),
    outcomeKey: z.string().meta({ description: '`contract:<id>`, `lifecycle`, or the id of an imported outcome' }),
    kind: z.enum(OUTCOME_KINDS),
    churned: z.boolean().meta({ description: 'Counts as churn when scores are judged (churned, cancelled)' }),
    occurredOn: z.string(),
    contractId: z.string().nullable(),
    arr: z.number().nullable(),
    source: z.enum(['contract', 'lifecycle', 'import']),
    recordedAt: z.string(),
  })
  .meta({ id: 'Outcome' });

export const outcomeListSchema = z.object({ items: z.array(outcomeSchema), nextCursor: z.string().nullable(), hasMore: z.boolean() });
