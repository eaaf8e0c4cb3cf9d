/**
 * The outbox over HTTP, for the features that own destinations (outgoing webhook subscriptions, notification
 * channels): the private-address check of a destination URL, the delivery log with its cursor, replay, and the
 * operations every destination has alike (get, delete, send a test, list its deliveries). Each feature keeps
 * what is its own: create, list and change.
 */
import type { Kysely } from 'kysely';
import { z } from 'zod';
import type { Database } from '../db/schema.js';
import { encodeCursor, feedCursorSchema } from '../http/cursor.js';
import { deleteRoute, getRoute } from '../http/resource-routes.js';
import type { Router } from '../http/route.js';
import { DomainError, notFound } from '../lib/errors.js';
import { type DeliveryInfo, listDeliveries } from './delivery-log.js';
import { privateHostProblem } from './destinations.js';
import { replayDelivery } from './outbox.js';

type Db = Kysely<Database>;

/** Unless WEBHOOK_ALLOW_PRIVATE_URLS: no destination on this machine or a private network. */
export function checkDestination(c: { var: { allowPrivateWebhookUrls: boolean } }, url: string | undefined) {
  if (url === undefined || c.var.allowPrivateWebhookUrls) return;
  const problem = privateHostProblem(new URL(url));
  if (problem) {
    throw new DomainError('validation_failed', `url ${problem}; set WEBHOOK_ALLOW_PRIVATE_URLS=true for receivers on a private network`, {
      errors: [{ field: 'body.url', message: problem }],
    });
  }
}

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

export const idParams = z.object({ id: z.coerce.number().int().positive().max(2 ** 53 - 1) });

export const deliveriesQuery = z.object({
  limit: z.coerce.number().int().min(1).max(100).default(50),
  cursor: feedCursorSchema.optional(),
  status: z.enum(['pending', 'succeeded', 'failed']).optional(),
});

const attemptSchema = z.object({
  attempt: z.number().int(),
  startedAt: z.iso.datetime(),
  finishedAt: z.iso.datetime().nullable(),
  durationMs: z.number().int().nullable(),
  statusCode: z.number().int().nullable(),
  outcome: z.enum(['succeeded', 'failed', 'abandoned']).nullable().meta({ description: 'null while in flight' }),
  error: z.string().nullable(),
});

export const deliverySchema = z
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

export const deliveryPageSchema = z.object({ items: z.array(deliverySchema), nextCursor: z.string().nullable() });

const iso = (d: Date | null) => d?.toISOString() ?? null;

export const deliveryJson = (d: DeliveryInfo) => ({
  ...d,
  lastAttemptAt: iso(d.lastAttemptAt),
  nextAttemptAt: iso(d.nextAttemptAt),
  deliveredAt: iso(d.deliveredAt),
  createdAt: d.createdAt.toISOString(),
  attempts: d.attempts.map((a) => ({ ...a, startedAt: a.startedAt.toISOString(), finishedAt: iso(a.finishedAt) })),
});

/** One page of a destination's delivery log, newest first, as the API answers it. */
export async function deliveryPage(db: Db, subscriptionId: number, query: z.output<typeof deliveriesQuery>) {
  const page = await listDeliveries(db, subscriptionId, { limit: query.limit, beforeId: query.cursor?.id, status: query.status });
  return {
    items: page.items.map(deliveryJson),
    nextCursor: page.nextBeforeId === null ? null : encodeCursor({ seq: 0, id: page.nextBeforeId }),
  };
}

type OperationDocs = { operationId: string; summary: string; description?: string };

/** What differs between two kinds of destination; the operations themselves are the same. */
export interface DestinationResource<T> {
  tags: string[];
  /** The collection's path: `/v1/webhooks/subscriptions`. */
  base: string;
  /** In messages: `webhook subscription 7 was not found`. */
  noun: string;
  schema: z.ZodType;
  json: (resource: T) => unknown;
  find: (db: Db, id: number) => Promise<T | undefined>;
  remove: (db: Db, id: number) => Promise<boolean>;
  /** The outbox subscription whose deliveries are this destination's. */
  subscriptionId: (resource: T) => number;
  sendTest: (db: Db, id: number) => Promise<{ eventId: string; deliveryId: number } | 'not_found' | 'inactive' | 'pending'>;
  /** The 409 of a test or replay to a destination that is switched off. */
  inactive: string;
  /** The 409 of a replay while a delivery of the same event is still pending. */
  pending: string;
  docs: {
    get: OperationDocs;
    delete: OperationDocs;
    test: OperationDocs;
    deliveries: OperationDocs;
    /** `noun`: of a delivery in messages, `webhook delivery`. */
    replay: OperationDocs & { path: string; noun: string };
  };
}

/** GET and DELETE `{base}/{id}`, POST `{base}/{id}/test`, GET `{base}/{id}/deliveries`, POST replay. */
export function registerDestinationRoutes<T>(router: Router, r: DestinationResource<T>) {
  const { tags } = r;
  const missing = { 404: { description: `No such ${r.noun}` } };
  const found = async (db: Db, id: number) => {
    const resource = await r.find(db, id);
    if (!resource) throw notFound(`${r.noun} ${id}`);
    return resource;
  };

  const named = { tags, scope: 'admin' as const, params: idParams, noun: ({ id }: { id: number }) => `${r.noun} ${id}`, missing: `No such ${r.noun}` };
  getRoute(router, { ...named, path: `${r.base}/{id}`, ...r.docs.get, schema: r.schema, what: `The ${r.noun}` }, (db, { id }) => r.find(db, id), r.json);
  deleteRoute(router, { ...named, path: `${r.base}/{id}`, ...r.docs.delete }, (db, { id }) => r.remove(db, id));

  router.route(
    {
      method: 'post',
      path: `${r.base}/{id}/test`,
      scope: 'admin',
      tags,
      ...r.docs.test,
      request: { params: idParams },
      responses: {
        202: { description: 'Enqueued', schema: z.object({ eventId: z.string(), deliveryId: z.number() }) },
        ...missing,
        409: { description: `The ${r.noun} is not active` },
      },
    },
    async (c, { params }) => {
      const result = await r.sendTest(c.var.db, params.id);
      if (result === 'not_found') throw notFound(`${r.noun} ${params.id}`);
      if (result === 'inactive' || result === 'pending') throw new DomainError('conflict', `${r.noun} ${params.id} ${r.inactive}`);
      return c.json(result, 202);
    },
  );

  router.route(
    {
      method: 'get',
      path: `${r.base}/{id}/deliveries`,
      scope: 'admin',
      tags,
      ...r.docs.deliveries,
      request: { params: idParams, query: deliveriesQuery },
      responses: { 200: { description: 'Deliveries, newest first', schema: deliveryPageSchema }, ...missing },
    },
    async (c, { params, query }) => c.json(await deliveryPage(c.var.db, r.subscriptionId(await found(c.var.db, params.id)), query)),
  );

  const { path: replayPath, noun: deliveryNoun, ...replayDocs } = r.docs.replay;
  router.route(
    {
      method: 'post',
      path: replayPath,
      scope: 'admin',
      tags,
      ...replayDocs,
      request: { params: idParams },
      responses: {
        202: { description: 'The new delivery', schema: deliverySchema },
        404: { description: 'No such delivery' },
        409: { description: `The ${r.noun} is not active, or this event is still pending for it` },
      },
    },
    async (c, { params }) => {
      const result = await replayDelivery(c.var.db, params.id);
      if (result === 'not_found') throw notFound(`${deliveryNoun} ${params.id}`);
      if (result === 'pending') throw new DomainError('conflict', r.pending);
      if (result === 'inactive') throw new DomainError('conflict', `the ${r.noun} of this delivery ${r.inactive}`);
      return c.json(deliveryJson(result), 202);
    },
  );
}
