import { z } from 'zod';
import { EVENT_TYPES, FORMATS } from '../../outbox/events.js';
import { destinationUrlSchema } from '../../outbox/http.js';
import type { SubscriptionInfo } from './subscriptions.js';

/* ---- request schemas ---- */

const hasNul = (s: string) => s.includes('\u0000');

const urlSchema = destinationUrlSchema.meta({ description: 'Where deliveries are POSTed', example: 'https://hooks.example.com/healthscore' });

const eventTypesSchema = z
  .array(z.enum(EVENT_TYPES))
  .min(1)
  .max(EVENT_TYPES.length * 2)
  .transform((types) => [...new Set(types)])
  .meta({ description: 'Event types to deliver' });

const textSchema = (max: number) =>
  z
    .string()
    .trim()
    .max(max)
    .refine((s) => !hasNul(s), 'must not contain NUL characters')
    .transform((s) => (s === '' ? null : s))
    .nullish();

const formatSchema = z
  .enum(FORMATS)
  .meta({ description: '`standard`: the Standard Webhooks JSON envelope `{type, timestamp, data}`. `slack`: a Slack incoming-webhook message `{text, blocks}`.' });

export const createBodySchema = z.strictObject({
  url: urlSchema,
  eventTypes: eventTypesSchema,
  format: formatSchema.default('standard'),
  description: textSchema(500).meta({ description: 'What this subscription is for' }),
  ownerContact: textSchema(500).meta({ description: 'Who to tell when it breaks (free text)', example: 'cs-ops@example.com' }),
  active: z.boolean().default(true),
});

export const updateBodySchema = z
  .strictObject({
    url: urlSchema.optional(),
    eventTypes: eventTypesSchema.optional(),
    format: formatSchema.optional(),
    description: textSchema(500),
    ownerContact: textSchema(500),
    active: z.boolean().optional().meta({ description: '`true` re-activates a disabled subscription and clears its `disabledReason`' }),
  })
  .refine((body) => Object.values(body).some((v) => v !== undefined), 'send at least one field to change');

export const rotateBodySchema = z.strictObject({
  overlapHours: z
    .number()
    .min(0)
    .max(168)
    .default(24)
    .meta({ description: 'How long the old secret keeps signing beside the new one (default 24; 0 retires it at once)' }),
});

/* ---- response schemas ---- */

export const subscriptionSchema = z
  .object({
    id: z.number(),
    url: z.string(),
    eventTypes: z.array(z.enum(EVENT_TYPES)),
    format: z.enum(FORMATS),
    description: z.string().nullable(),
    ownerContact: z.string().nullable(),
    active: z.boolean(),
    disabledReason: z.string().nullable().meta({ description: 'Why it stopped: 410 Gone, days of failures, or deactivated through the API' }),
    disabledAt: z.iso.datetime().nullable(),
    failingSince: z.iso.datetime().nullable().meta({ description: 'First failure since the last success; null while healthy' }),
    previousSecretExpiresAt: z.iso.datetime().nullable().meta({ description: 'Until then deliveries carry a second signature made with the previous secret' }),
    createdAt: z.iso.datetime(),
    updatedAt: z.iso.datetime(),
  })
  .meta({ id: 'WebhookSubscription' });

export const secretField = {
  secret: z.string().meta({ description: 'The `whsec_…` signing secret, shown this once' }),
};

const iso = (d: Date | null) => d?.toISOString() ?? null;

export const subscriptionJson = (s: SubscriptionInfo) => ({
  ...s,
  disabledAt: iso(s.disabledAt),
  failingSince: iso(s.failingSince),
  previousSecretExpiresAt: iso(s.previousSecretExpiresAt),
  createdAt: s.createdAt.toISOString(),
  updatedAt: s.updatedAt.toISOString(),
});
