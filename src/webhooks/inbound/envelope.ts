import { z } from 'zod';
import type { SignalName } from '../../signals/ingest.js';
import { MAX_SIGNAL_BATCH, signalBatchResponseSchema } from '../../signals/schemas.js';

/** Envelope `type` → the signal kind it carries, and the item field that names it. */
export const EVENT_TYPES = {
  'usage.events': { kind: 'usage', idField: 'eventId' },
  'tickets.upserted': { kind: 'tickets', idField: 'ticketId' },
  'surveys.responses': { kind: 'surveys', idField: 'responseId' },
  'contracts.upserted': { kind: 'contracts', idField: 'contractId' },
} as const satisfies Record<string, { kind: SignalName; idField: string }>;

export type EventType = keyof typeof EVENT_TYPES;
const EVENT_TYPE_NAMES = Object.keys(EVENT_TYPES) as [EventType, ...EventType[]];

/**
 * The body of a delivery. Items are validated one by one by the intake
 * pipeline, exactly as in `POST /v1/<kind>/batch`. Other top-level fields
 * (Standard Webhooks' suggested `timestamp`, say) are ignored.
 */
export const envelopeSchema = z
  .object({
    type: z.enum(EVENT_TYPE_NAMES).meta({ description: 'Which signal kind `data` holds' }),
    data: z
      .array(z.unknown())
      .min(1)
      .max(MAX_SIGNAL_BATCH)
      .meta({ description: `Up to ${MAX_SIGNAL_BATCH} items, each exactly an item of the matching /v1/<kind>/batch request` }),
    createMissingAccounts: z
      .boolean()
      .optional()
      .meta({ description: 'Create placeholder accounts for unknown account ids instead of rejecting the items' }),
  })
  .meta({ id: 'InboundWebhookEnvelope' });

export type Envelope = z.output<typeof envelopeSchema>;

export const appliedResponseSchema = signalBatchResponseSchema
  .extend({
    webhookId: z.string(),
    duplicate: z.literal(false),
    type: z.enum(EVENT_TYPE_NAMES),
  })
  .meta({ description: 'Applied: per-item results as from /v1/<kind>/batch' });

export const duplicateResponseSchema = z
  .object({ webhookId: z.string(), duplicate: z.literal(true) })
  .meta({ description: 'This webhook-id was already processed; nothing was applied' });

export const deliveryResponseSchema = z.union([appliedResponseSchema, duplicateResponseSchema]);
