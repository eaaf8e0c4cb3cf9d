import { z } from 'zod';
import { encodeCursor, feedCursorSchema } from '../../http/cursor.js';
import { DomainError, notFound } from '../../lib/errors.js';
import type { Router } from '../../http/route.js';
import { EVENT_TYPES, FORMATS } from '../../outbox/events.js';
import { privateHostProblem } from '../../outbox/destinations.js';
import { type DeliveryInfo, listDeliveries } from '../../outbox/delivery-log.js';
import { enqueueTestEvent, replayDelivery } from '../../outbox/outbox.js';
import {
  createSubscription,
  deleteSubscription,
  findSubscription,
  listSubscriptions,
  rotateSubscriptionSecret,
  type SubscriptionInfo,
  updateSubscription,
} from './subscriptions.js';

/* ---- request schemas ---- */

const hasNul = (s: string) => s.includes('\u0000');

/** http(s) only, no user:password part (it would show in listings), at most 2048 characters. */
export function urlProblem(value: string): string | undefined {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    return 'must be an absolute http:// or https:// URL';
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') return 'must be an http:// or https:// URL';
  if (!url.hostname) return 'must name a host';
  if (url.username || url.password) return 'must not contain a user name or password; receivers verify the signature instead';
  if (url.hash) return 'must not contain a #fragment';
  return undefined;
}

/** An http(s) destination URL as outgoing webhooks and chat channels accept it. */
export const destinationUrlSchema = z
  .string()
  .trim()
  .min(1)
  .max(2048)
  .superRefine((value, ctx) => {
    const problem = urlProblem(value);
    if (problem) ctx.addIssue({ code: 'custom', message: problem });
  });

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

const createBodySchema = z.strictObject({
  url: urlSchema,
  eventTypes: eventTypesSchema,
  format: formatSchema.default('standard'),
  description: textSchema(500).meta({ description: 'What this subscription is for' }),
  ownerContact: textSchema(500).meta({ description: 'Who to tell when it breaks (free text)', example: 'cs-ops@example.com' }),
  active: z.boolean().default(true),
});

const updateBodySchema = z
  .strictObject({
    url: urlSchema.optional(),
    eventTypes: eventTypesSchema.optional(),
    format: formatSchema.optional(),
    description: textSchema(500),
    ownerContact: textSchema(500),
    active: z.boolean().optional().meta({ description: '`true` re-activates a disabled subscription and clears its `disabledReason`' }),
  })
  .refine((body) => Object.values(body).some((v) => v !== undefined), 'send at least one field to change');

const rotateBodySchema = z.strictObject({
  overlapHours: z
    .number()
    .min(0)
    .max(168)
    .default(24)
    .meta({ description: 'How long the old secret keeps signing beside the new one (default 24; 0 retires it at once)' }),
});

const idParams = z.object({ id: z.coerce.number().int().positive().max(2 ** 53 - 1) });

const deliveriesQuery = z.object({
  limit: z.coerce.number().int().min(1).max(100).default(50),
  cursor: feedCursorSchema.optional(),
  status: z.enum(['pending', 'succeeded', 'failed']).optional(),
});

/* ---- response schemas ---- */

const subscriptionSchema = z
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

const secretField = {
  secret: z.string().meta({ description: 'The `whsec_…` signing secret, shown this once' }),
};

const attemptSchema = z.object({
  attempt: z.number().int(),
  startedAt: z.iso.datetime(),
  finishedAt: z.iso.datetime().nullable(),
  durationMs: z.number().int().nullable(),
  statusCode: z.number().int().nullable(),
  outcome: z.enum(['succeeded', 'failed', 'abandoned']).nullable().meta({ description: 'null while in flight' }),
  error: z.string().nullable(),
});

const deliverySchema = z
  .object({
    id: z.number(),
    subscriptionId: z.number(),
    eventId: z.string().meta({ description: 'The `webhook-id` header of every attempt' }),
    eventType: z.string(),
    status: z.enum(['pending', 'succeeded', 'failed']),
    attemptCount: z.number().int(),
    lastStatusCode: z.number().int().nullable(),
    lastError: z.string().nullable(),
    lastAttemptAt: z.iso.datetime().nullable(),
    nextAttemptAt: z.iso.datetime().nullable(),
    deliveredAt: z.iso.datetime().nullable(),
    replayOf: z.number().nullable(),
    createdAt: z.iso.datetime(),
    attempts: z.array(attemptSchema),
  })
  .meta({ id: 'WebhookDelivery' });

const iso = (d: Date | null) => d?.toISOString() ?? null;

const subscriptionJson = (s: SubscriptionInfo) => ({
  ...s,
  disabledAt: iso(s.disabledAt),
  failingSince: iso(s.failingSince),
  previousSecretExpiresAt: iso(s.previousSecretExpiresAt),
  createdAt: s.createdAt.toISOString(),
  updatedAt: s.updatedAt.toISOString(),
});

const deliveryJson = (d: DeliveryInfo) => ({
  ...d,
  lastAttemptAt: iso(d.lastAttemptAt),
  nextAttemptAt: iso(d.nextAttemptAt),
  deliveredAt: iso(d.deliveredAt),
  createdAt: d.createdAt.toISOString(),
  attempts: d.attempts.map((a) => ({ ...a, startedAt: a.startedAt.toISOString(), finishedAt: iso(a.finishedAt) })),
});

/** Unless WEBHOOK_ALLOW_PRIVATE_URLS: no subscription to this machine or a private network. */
function checkDestination(c: { var: { allowPrivateWebhookUrls: boolean } }, url: string | undefined) {
  if (url === undefined || c.var.allowPrivateWebhookUrls) return;
  const problem = privateHostProblem(new URL(url));
  if (problem) {
    throw new DomainError('validation_failed', `url ${problem}; set WEBHOOK_ALLOW_PRIVATE_URLS=true for receivers on a private network`, {
      errors: [{ field: 'body.url', message: problem }],
    });
  }
}

const inactive = (id: number) =>
  new DomainError('conflict', `webhook subscription ${id} is not active; re-activate it first (PATCH active: true)`);

export function registerOutboundWebhookRoutes(router: Router) {
  const tags = ['webhooks'];
  const base = '/v1/webhooks/subscriptions';

  router.route(
    {
      method: 'post',
      path: base,
      scope: 'admin',
      operationId: 'createWebhookSubscription',
      summary: 'Subscribe a URL to events',
      description: 'The response carries the signing `secret`; it is shown this once. Receivers verify deliveries with it (Standard Webhooks).',
      tags,
      request: { body: createBodySchema },
      responses: { 201: { description: 'Created', schema: subscriptionSchema.extend(secretField) } },
    },
    async (c, { body }) => {
      checkDestination(c, body.url);
      const { subscription, secret } = await createSubscription(c.var.db, body);
      return c.json({ ...subscriptionJson(subscription), secret }, 201);
    },
  );

  router.route(
    {
      method: 'get',
      path: base,
      scope: 'admin',
      operationId: 'listWebhookSubscriptions',
      summary: 'List webhook subscriptions (never their secrets)',
      description: 'Disabled subscriptions show `active: false` with `disabledReason` and `disabledAt`.',
      tags,
      request: { query: z.object({ active: z.enum(['true', 'false']).transform((v) => v === 'true').optional() }) },
      responses: { 200: { description: 'Subscriptions', schema: z.object({ items: z.array(subscriptionSchema) }) } },
    },
    async (c, { query }) => c.json({ items: (await listSubscriptions(c.var.db, { active: query.active })).map(subscriptionJson) }),
  );

  router.route(
    {
      method: 'get',
      path: `${base}/{id}`,
      scope: 'admin',
      operationId: 'getWebhookSubscription',
      summary: 'Get a webhook subscription',
      tags,
      request: { params: idParams },
      responses: { 200: { description: 'The subscription', schema: subscriptionSchema }, 404: { description: 'No such subscription' } },
    },
    async (c, { params }) => {
      const subscription = await findSubscription(c.var.db, params.id);
      if (!subscription) throw notFound(`webhook subscription ${params.id}`);
      return c.json(subscriptionJson(subscription));
    },
  );

  router.route(
    {
      method: 'patch',
      path: `${base}/{id}`,
      scope: 'admin',
      operationId: 'updateWebhookSubscription',
      summary: 'Change a webhook subscription',
      description:
        'Changes the fields sent. `active: false` pauses deliveries (they are held, not dropped); `active: true` resumes them and clears `disabledReason`.',
      tags,
      request: { params: idParams, body: updateBodySchema },
      responses: { 200: { description: 'The subscription', schema: subscriptionSchema }, 404: { description: 'No such subscription' } },
    },
    async (c, { params, body }) => {
      checkDestination(c, body.url);
      const subscription = await updateSubscription(c.var.db, params.id, body);
      if (!subscription) throw notFound(`webhook subscription ${params.id}`);
      return c.json(subscriptionJson(subscription));
    },
  );

  router.route(
    {
      method: 'delete',
      path: `${base}/{id}`,
      scope: 'admin',
      operationId: 'deleteWebhookSubscription',
      summary: 'Delete a webhook subscription',
      description: 'Its pending deliveries and its delivery log go with it.',
      tags,
      request: { params: idParams },
      responses: { 204: { description: 'Deleted' }, 404: { description: 'No such subscription' } },
    },
    async (c, { params }) => {
      if (!(await deleteSubscription(c.var.db, params.id))) throw notFound(`webhook subscription ${params.id}`);
      return c.body(null, 204);
    },
  );

  router.route(
    {
      method: 'post',
      path: `${base}/{id}/secret`,
      scope: 'admin',
      operationId: 'rotateWebhookSubscriptionSecret',
      summary: "Rotate a subscription's signing secret",
      description:
        'Returns a new secret this once. For `overlapHours` (default 24) every delivery carries two signatures, one per secret, so the receiver can switch without rejecting anything. Send `{}` for the default.',
      tags,
      request: { params: idParams, body: rotateBodySchema },
      responses: { 201: { description: 'The new secret', schema: subscriptionSchema.extend(secretField) }, 404: { description: 'No such subscription' } },
    },
    async (c, { params, body }) => {
      const rotated = await rotateSubscriptionSecret(c.var.db, params.id, body.overlapHours);
      if (!rotated) throw notFound(`webhook subscription ${params.id}`);
      return c.json({ ...subscriptionJson(rotated.subscription), secret: rotated.secret }, 201);
    },
  );

  router.route(
    {
      method: 'get',
      path: `${base}/{id}/deliveries`,
      scope: 'admin',
      operationId: 'listWebhookDeliveries',
      summary: "A subscription's delivery log",
      description: 'Newest first, with every attempt of each delivery. Keyset pagination: pass `nextCursor` back as `cursor`.',
      tags,
      request: { params: idParams, query: deliveriesQuery },
      responses: {
        200: {
          description: 'Deliveries',
          schema: z.object({ items: z.array(deliverySchema), nextCursor: z.string().nullable() }),
        },
        404: { description: 'No such subscription' },
      },
    },
    async (c, { params, query }) => {
      if (!(await findSubscription(c.var.db, params.id))) throw notFound(`webhook subscription ${params.id}`);
      const page = await listDeliveries(c.var.db, params.id, { limit: query.limit, beforeId: query.cursor?.id, status: query.status });
      return c.json({
        items: page.items.map(deliveryJson),
        nextCursor: page.nextBeforeId === null ? null : encodeCursor({ seq: 0, id: page.nextBeforeId }),
      });
    },
  );

  router.route(
    {
      method: 'post',
      path: `${base}/{id}/test`,
      scope: 'admin',
      operationId: 'testWebhookSubscription',
      summary: 'Send a test event',
      description: 'Enqueues a `webhook.test` event for this subscription only; watch its delivery log for the outcome.',
      tags,
      request: { params: idParams },
      responses: {
        202: { description: 'Enqueued', schema: z.object({ eventId: z.string(), deliveryId: z.number() }) },
        404: { description: 'No such subscription' },
        409: { description: 'The subscription is not active' },
      },
    },
    async (c, { params }) => {
      const result = await enqueueTestEvent(c.var.db, params.id);
      if (result === 'not_found') throw notFound(`webhook subscription ${params.id}`);
      if (result === 'inactive' || result === 'pending') throw inactive(params.id);
      return c.json(result, 202);
    },
  );

  router.route(
    {
      method: 'post',
      path: '/v1/webhooks/deliveries/{id}/replay',
      scope: 'admin',
      operationId: 'replayWebhookDelivery',
      summary: 'Send a delivery again',
      description:
        'Enqueues the same event for the same subscription as a new delivery. It carries the same `webhook-id`, so a receiver that already processed it can recognise it.',
      tags,
      request: { params: idParams },
      responses: {
        202: { description: 'The new delivery', schema: deliverySchema },
        404: { description: 'No such delivery' },
        409: { description: 'The subscription is not active, or this event is still pending for it' },
      },
    },
    async (c, { params }) => {
      const result = await replayDelivery(c.var.db, params.id);
      if (result === 'not_found') throw notFound(`webhook delivery ${params.id}`);
      if (result === 'pending') {
        throw new DomainError('conflict', 'a delivery of this event to this subscription is still pending; wait for it to finish');
      }
      if (result === 'inactive') {
        throw new DomainError('conflict', 'the subscription of this delivery is not active; re-activate it first (PATCH active: true)');
      }
      return c.json(deliveryJson(result), 202);
    },
  );
}
