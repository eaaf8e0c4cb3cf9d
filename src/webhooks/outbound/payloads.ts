import { z } from 'zod';
import type { ZodOpenApiPathsObject } from 'zod-openapi';
import { EVENT_TYPES, type EventType } from '../../outbox/events.js';

/**
 * What outgoing webhooks carry, published in /openapi.json under `webhooks`
 * (OpenAPI 3.1): the Standard Webhooks envelope and, per event type, the
 * fields `data` always has. Receivers should ignore fields they do not know:
 * `data` may grow, so its objects are open.
 */
const account = z.looseObject({ externalId: z.string(), name: z.string() }).meta({ id: 'WebhookAccount' });
const band = z.enum(['green', 'yellow', 'red']);

const healthBandChanged = z.looseObject({
  account,
  score: z.number(),
  band,
  previousBand: band.nullable(),
});

const churnRisk = z.looseObject({
  account,
  alert: z.looseObject({ id: z.number().int(), ruleKey: z.string(), severity: z.string(), status: z.string() }),
  change: z.looseObject({ action: z.string(), actor: z.string(), at: z.string(), details: z.record(z.string(), z.unknown()) }),
});

const followUp = z.looseObject({
  followUpId: z.number().int(),
  account,
  kind: z.string(),
  title: z.string(),
  reason: z.string(),
  cause: z.looseObject({ type: z.string(), ref: z.string() }),
  playbook: z.looseObject({ key: z.string(), version: z.number().int() }),
  assignee: z.string().nullable(),
  dueAt: z.string(),
  status: z.string(),
});

const test = z.looseObject({ subscriptionId: z.number().int(), message: z.string() });

const DATA: Record<EventType, z.ZodType> = {
  'health.band_changed': healthBandChanged,
  'churn_risk.opened': churnRisk,
  'churn_risk.updated': churnRisk,
  'churn_risk.resolved': churnRisk,
  'follow_up.created': followUp,
  'follow_up.due': followUp,
  'follow_up.overdue': followUp,
  'webhook.test': test,
};

/** The envelope of one event type (format `standard`). */
export const webhookEnvelopeSchema = (type: EventType) =>
  z.object({
    type: z.literal(type),
    timestamp: z.iso.datetime().meta({ description: 'When the event happened; the same on every retry' }),
    data: DATA[type],
  });

/** The `webhooks` section of the OpenAPI document. */
export function webhookDocuments(): ZodOpenApiPathsObject {
  return Object.fromEntries(
    EVENT_TYPES.map((type) => [
      type,
      {
        post: {
          operationId: `webhook_${type.replace(/\W/g, '_')}`,
          summary: `${type} (Standard Webhooks: webhook-id, webhook-timestamp and webhook-signature headers)`,
          tags: ['webhooks'],
          requestBody: { required: true, content: { 'application/json': { schema: webhookEnvelopeSchema(type) } } },
          responses: { 200: { description: 'Any 2xx acknowledges the delivery; anything else is retried' } },
        },
      },
    ]),
  );
}
