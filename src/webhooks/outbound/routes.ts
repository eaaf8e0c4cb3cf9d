import { z } from 'zod';
import type { Router } from '../../http/route.js';
import { notFound } from '../../lib/errors.js';
import { checkDestination, idParams, registerDestinationRoutes } from '../../outbox/http.js';
import { enqueueTestEvent } from '../../outbox/outbox.js';
import { createBodySchema, rotateBodySchema, secretField, subscriptionJson, subscriptionSchema, updateBodySchema } from './schemas.js';
import {
  createSubscription,
  deleteSubscription,
  findSubscription,
  listSubscriptions,
  rotateSubscriptionSecret,
  updateSubscription,
} from './subscriptions.js';

/** Outgoing webhook subscriptions: what is theirs (create, list, change, rotate) and what every destination has. */
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

  registerDestinationRoutes(router, {
    tags,
    base,
    noun: 'webhook subscription',
    schema: subscriptionSchema,
    json: subscriptionJson,
    find: findSubscription,
    remove: deleteSubscription,
    subscriptionId: (subscription) => subscription.id,
    sendTest: enqueueTestEvent,
    inactive: 'is not active; re-activate it first (PATCH active: true)',
    pending: 'a delivery of this event to this subscription is still pending; wait for it to finish',
    docs: {
      get: { operationId: 'getWebhookSubscription', summary: 'Get a webhook subscription' },
      delete: { operationId: 'deleteWebhookSubscription', summary: 'Delete a webhook subscription', description: 'Its pending deliveries and its delivery log go with it.' },
      test: {
        operationId: 'testWebhookSubscription',
        summary: 'Send a test event',
        description: 'Enqueues a `webhook.test` event for this subscription only; watch its delivery log for the outcome.',
      },
      deliveries: {
        operationId: 'listWebhookDeliveries',
        summary: "A subscription's delivery log",
        description: 'Newest first, with every attempt of each delivery. Keyset pagination: pass `nextCursor` back as `cursor`.',
      },
      replay: {
        path: '/v1/webhooks/deliveries/{id}/replay',
        noun: 'webhook delivery',
        operationId: 'replayWebhookDelivery',
        summary: 'Send a delivery again',
        description:
          'Enqueues the same event for the same subscription as a new delivery. It carries the same `webhook-id`, so a receiver that already processed it can recognise it.',
      },
    },
  });
}
