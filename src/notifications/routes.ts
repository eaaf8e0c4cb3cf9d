import { z } from 'zod';
import { encodeCursor, feedCursorSchema } from '../http/cursor.js';
import { DomainError, notFound } from '../lib/errors.js';
import type { Router } from '../http/route.js';
import { privateHostProblem } from '../outbox/destinations.js';
import { listDeliveries, replayDelivery } from '../webhooks/outbound/repository.js';
import { createChannel, createRoute, deleteChannel, deleteRoute, findChannel, listChannels, listRoutes, sendChannelTest, updateChannel } from './channels.js';
import { buildDigest } from './digest.js';
import { emailSubscriptions } from './outbox.js';
import { findPreferences, loadPreferences, resetPreferences, savePreferences, setEmailActive } from './preferences.js';
import {
  channelCreateSchema,
  channelJson,
  channelPatchSchema,
  channelSchema,
  emailParams,
  idParams,
  preferencesBodySchema,
  preferencesJson,
  preferencesSchema,
  previewSchema,
  routeCreateSchema,
  routeJson,
  routeSchema,
} from './schemas.js';
import { DEFAULT_BASE_URL } from './send.js';
import { renderEmail, renderMessage } from './templates.js';

/**
 * Notifications API: people's preferences, chat channels and their routes,
 * delivery logs and replay. The web app's profile and admin pages call the
 * same repository functions.
 */

function checkDestination(c: { var: { allowPrivateWebhookUrls: boolean } }, url: string | undefined) {
  if (url === undefined || c.var.allowPrivateWebhookUrls) return;
  const problem = privateHostProblem(new URL(url));
  if (problem) {
    throw new DomainError('validation_failed', `url ${problem}; set WEBHOOK_ALLOW_PRIVATE_URLS=true for receivers on a private network`, {
      errors: [{ field: 'body.url', message: problem }],
    });
  }
}

function needsSecret(kind: string, secret: string | null | undefined) {
  if ((kind === 'dingtalk' || kind === 'feishu') && !secret) {
    throw new DomainError('validation_failed', `a ${kind} channel needs the robot's signing secret`, {
      errors: [{ field: 'body.signingSecret', message: `required for ${kind}: turn on signing for the robot and paste its secret` }],
    });
  }
}

const deliveriesQuery = z.object({
  limit: z.coerce.number().int().min(1).max(100).default(50),
  cursor: feedCursorSchema.optional(),
  status: z.enum(['pending', 'succeeded', 'failed']).optional(),
});

const deliveryPage = z.object({ items: z.array(z.record(z.string(), z.unknown())), nextCursor: z.string().nullable() });

const deliveryJson = (d: Awaited<ReturnType<typeof listDeliveries>>['items'][number]) => ({
  ...d,
  lastAttemptAt: d.lastAttemptAt?.toISOString() ?? null,
  nextAttemptAt: d.nextAttemptAt?.toISOString() ?? null,
  deliveredAt: d.deliveredAt?.toISOString() ?? null,
  createdAt: d.createdAt.toISOString(),
  attempts: d.attempts.map((a) => ({ ...a, startedAt: a.startedAt.toISOString(), finishedAt: a.finishedAt?.toISOString() ?? null })),
});

export function registerNotificationRoutes(router: Router, options: { baseUrl?: string } = {}) {
  const tags = ['notifications'];
  const people = '/v1/notifications/people';
  const channels = '/v1/notifications/channels';

  router.route(
    {
      method: 'get',
      path: people,
      scope: 'read',
      operationId: 'listNotificationPreferences',
      summary: "Every team member's notification preferences",
      description: 'Members who never saved preferences show the defaults (`saved: false`).',
      tags,
      responses: { 200: { description: 'Preferences', schema: z.object({ items: z.array(preferencesSchema) }) } },
    },
    async (c) => c.json({ items: [...(await loadPreferences(c.var.db)).values()].map(preferencesJson) }),
  );

  router.route(
    {
      method: 'get',
      path: `${people}/{email}`,
      scope: 'read',
      operationId: 'getNotificationPreferences',
      summary: "A team member's notification preferences",
      tags,
      request: { params: emailParams },
      responses: { 200: { description: 'Preferences', schema: preferencesSchema }, 404: { description: 'Not a team member' } },
    },
    async (c, { params }) => {
      const p = await findPreferences(c.var.db, params.email);
      if (!p) throw notFound(`team member ${params.email}`);
      return c.json(preferencesJson(p));
    },
  );

  router.route(
    {
      method: 'patch',
      path: `${people}/{email}`,
      scope: 'write',
      operationId: 'updateNotificationPreferences',
      summary: "Change a team member's notification preferences",
      description: 'Fields not sent keep their value (the defaults until the first save).',
      tags,
      request: { params: emailParams, body: preferencesBodySchema },
      responses: { 200: { description: 'Preferences', schema: preferencesSchema }, 404: { description: 'Not a team member' } },
    },
    async (c, { params, body }) => {
      const { emailActive, ...rest } = body;
      if (emailActive !== undefined) {
        if (!(await findPreferences(c.var.db, params.email))) throw notFound(`team member ${params.email}`);
        await setEmailActive(c.var.db, params.email, emailActive);
        if (Object.values(rest).every((v) => v === undefined)) return c.json(preferencesJson((await findPreferences(c.var.db, params.email))!));
      }
      const result = await savePreferences(c.var.db, params.email, {
        events: body.events,
        channelId: body.channelId,
        language: body.language,
        timezone: body.timezone,
        quietHours: body.quietHours,
        digestMinute: body.digestTime,
        digestDays: body.digestDays,
      });
      if (result === 'no_member') throw notFound(`team member ${params.email}`);
      if (result === 'no_channel') {
        throw new DomainError('validation_failed', 'no such channel, or it is another person’s own channel', {
          errors: [{ field: 'body.channelId', message: 'must be a team channel or this person’s own channel' }],
        });
      }
      return c.json(preferencesJson(result));
    },
  );

  router.route(
    {
      method: 'delete',
      path: `${people}/{email}`,
      scope: 'write',
      operationId: 'resetNotificationPreferences',
      summary: "Reset a team member's notification preferences to the defaults",
      tags,
      request: { params: emailParams },
      responses: { 200: { description: 'The defaults', schema: preferencesSchema }, 404: { description: 'Not a team member' } },
    },
    async (c, { params }) => {
      await resetPreferences(c.var.db, params.email);
      const p = await findPreferences(c.var.db, params.email);
      if (!p) throw notFound(`team member ${params.email}`);
      return c.json(preferencesJson(p));
    },
  );

  router.route(
    {
      method: 'get',
      path: `${people}/{email}/digest`,
      scope: 'read',
      operationId: 'previewNotificationDigest',
      summary: "Preview a team member's daily digest as of now",
      description: 'The email the digest would be (subject, text and HTML), in the person’s language and time zone. Sends nothing.',
      tags,
      request: { params: emailParams },
      responses: { 200: { description: 'The rendered digest', schema: previewSchema }, 404: { description: 'Not a team member' } },
    },
    async (c, { params }) => {
      const p = await findPreferences(c.var.db, params.email);
      if (!p) throw notFound(`team member ${params.email}`);
      const digest = await buildDigest(c.var.db, p, new Date());
      const message = renderMessage(
        { kind: 'daily_digest', language: p.language, timezone: p.timezone, recipient: { email: p.email, name: p.name }, digest },
        options.baseUrl ?? DEFAULT_BASE_URL,
      );
      return c.json(renderEmail(message));
    },
  );

  router.route(
    {
      method: 'get',
      path: `${people}/{email}/deliveries`,
      scope: 'admin',
      operationId: 'listNotificationEmailDeliveries',
      summary: "The delivery log of a team member's email notifications",
      tags,
      request: { params: emailParams, query: deliveriesQuery },
      responses: { 200: { description: 'Deliveries, newest first', schema: deliveryPage }, 404: { description: 'Not a team member' } },
    },
    async (c, { params, query }) => {
      const p = await findPreferences(c.var.db, params.email);
      if (!p) throw notFound(`team member ${params.email}`);
      const sub = (await emailSubscriptions(c.var.db, [p.email])).get(p.email)!;
      const page = await listDeliveries(c.var.db, sub.id, { limit: query.limit, beforeId: query.cursor?.id, status: query.status });
      return c.json({ items: page.items.map(deliveryJson), nextCursor: page.nextBeforeId === null ? null : encodeCursor({ seq: 0, id: page.nextBeforeId }) });
    },
  );

  /* ---- channels ---- */

  router.route(
    {
      method: 'get',
      path: channels,
      scope: 'admin',
      operationId: 'listNotificationChannels',
      summary: 'Chat channels',
      tags,
      responses: { 200: { description: 'Channels', schema: z.object({ items: z.array(channelSchema) }) } },
    },
    async (c) => c.json({ items: (await listChannels(c.var.db)).map(channelJson) }),
  );

  router.route(
    {
      method: 'post',
      path: channels,
      scope: 'admin',
      operationId: 'createNotificationChannel',
      summary: 'Add a chat channel (Slack, Teams, WeCom, DingTalk, Feishu)',
      description: 'The URL and signing secret are never shown again; only the host is.',
      tags,
      idempotent: false,
      request: { body: channelCreateSchema },
      responses: { 201: { description: 'The channel', schema: channelSchema }, 409: { description: 'The name is taken' } },
    },
    async (c, { body }) => {
      checkDestination(c, body.url);
      needsSecret(body.kind, body.signingSecret);
      const result = await createChannel(c.var.db, { ...body, owner: body.owner ?? null });
      if (result === 'name_taken') throw new DomainError('conflict', `a channel named ${body.name} exists`);
      if (result === 'no_member') {
        throw new DomainError('validation_failed', 'the owner is not a team member', { errors: [{ field: 'body.owner', message: 'must be a team member' }] });
      }
      return c.json(channelJson(result), 201);
    },
  );

  router.route(
    {
      method: 'get',
      path: `${channels}/{id}`,
      scope: 'admin',
      operationId: 'getNotificationChannel',
      summary: 'One chat channel',
      tags,
      request: { params: idParams },
      responses: { 200: { description: 'The channel', schema: channelSchema }, 404: { description: 'No such channel' } },
    },
    async (c, { params }) => {
      const channel = await findChannel(c.var.db, params.id);
      if (!channel) throw notFound(`notification channel ${params.id}`);
      return c.json(channelJson(channel));
    },
  );

  router.route(
    {
      method: 'patch',
      path: `${channels}/{id}`,
      scope: 'admin',
      operationId: 'updateNotificationChannel',
      summary: 'Change a chat channel; `active: true` re-enables a disabled one',
      tags,
      request: { params: idParams, body: channelPatchSchema },
      responses: { 200: { description: 'The channel', schema: channelSchema }, 404: { description: 'No such channel' }, 409: { description: 'The name is taken' } },
    },
    async (c, { params, body }) => {
      checkDestination(c, body.url);
      const current = await findChannel(c.var.db, params.id);
      if (!current) throw notFound(`notification channel ${params.id}`);
      if (body.signingSecret === null) needsSecret(current.kind, null);
      const result = await updateChannel(c.var.db, params.id, body);
      if (!result) throw notFound(`notification channel ${params.id}`);
      if (result === 'name_taken') throw new DomainError('conflict', `a channel named ${body.name} exists`);
      return c.json(channelJson(result));
    },
  );

  router.route(
    {
      method: 'delete',
      path: `${channels}/{id}`,
      scope: 'admin',
      operationId: 'deleteNotificationChannel',
      summary: 'Delete a chat channel with its routes and delivery log',
      description: 'People who chose it get email again.',
      tags,
      request: { params: idParams },
      responses: { 204: { description: 'Deleted' }, 404: { description: 'No such channel' } },
    },
    async (c, { params }) => {
      if (!(await deleteChannel(c.var.db, params.id))) throw notFound(`notification channel ${params.id}`);
      return c.body(null, 204);
    },
  );

  router.route(
    {
      method: 'post',
      path: `${channels}/{id}/test`,
      scope: 'admin',
      operationId: 'testNotificationChannel',
      summary: 'Send a test message to a channel',
      tags,
      request: { params: idParams },
      responses: {
        202: { description: 'Enqueued', schema: z.object({ eventId: z.string(), deliveryId: z.number() }) },
        404: { description: 'No such channel' },
        409: { description: 'The channel is not active' },
      },
    },
    async (c, { params }) => {
      const result = await sendChannelTest(c.var.db, params.id);
      if (result === 'not_found') throw notFound(`notification channel ${params.id}`);
      if (result === 'inactive') throw new DomainError('conflict', `notification channel ${params.id} is not active; re-enable it first (PATCH active: true)`);
      return c.json(result, 202);
    },
  );

  router.route(
    {
      method: 'get',
      path: `${channels}/{id}/deliveries`,
      scope: 'admin',
      operationId: 'listNotificationChannelDeliveries',
      summary: "A channel's delivery log",
      description: 'Newest first, every attempt of each delivery; replay one with `POST /v1/notifications/deliveries/{id}/replay`.',
      tags,
      request: { params: idParams, query: deliveriesQuery },
      responses: { 200: { description: 'Deliveries', schema: deliveryPage }, 404: { description: 'No such channel' } },
    },
    async (c, { params, query }) => {
      const channel = await findChannel(c.var.db, params.id);
      if (!channel) throw notFound(`notification channel ${params.id}`);
      const page = await listDeliveries(c.var.db, channel.subscriptionId, { limit: query.limit, beforeId: query.cursor?.id, status: query.status });
      return c.json({ items: page.items.map(deliveryJson), nextCursor: page.nextBeforeId === null ? null : encodeCursor({ seq: 0, id: page.nextBeforeId }) });
    },
  );

  router.route(
    {
      method: 'post',
      path: '/v1/notifications/deliveries/{id}/replay',
      scope: 'admin',
      operationId: 'replayNotificationDelivery',
      summary: 'Send a notification again',
      description: 'The same message (same event id, same email Message-ID) as a new delivery with a fresh retry schedule.',
      tags,
      request: { params: idParams },
      responses: {
        202: { description: 'The new delivery', schema: z.record(z.string(), z.unknown()) },
        404: { description: 'No such delivery' },
        409: { description: 'Still pending, or the channel is not active' },
      },
    },
    async (c, { params }) => {
      const result = await replayDelivery(c.var.db, params.id);
      if (result === 'not_found') throw notFound(`notification delivery ${params.id}`);
      if (result === 'pending') throw new DomainError('conflict', 'this notification is still pending; wait for it to finish');
      if (result === 'inactive') throw new DomainError('conflict', 'the channel of this delivery is not active; re-enable it first');
      return c.json(deliveryJson(result), 202);
    },
  );

  /* ---- routes ---- */

  router.route(
    {
      method: 'get',
      path: '/v1/notifications/routes',
      scope: 'admin',
      operationId: 'listNotificationRoutes',
      summary: 'Which events go to which team channel',
      tags,
      responses: { 200: { description: 'Routes', schema: z.object({ items: z.array(routeSchema) }) } },
    },
    async (c) => c.json({ items: (await listRoutes(c.var.db)).map(routeJson) }),
  );

  router.route(
    {
      method: 'post',
      path: `${channels}/{id}/routes`,
      scope: 'admin',
      operationId: 'createNotificationRoute',
      summary: 'Send a team channel the events matching event type, segment and severity',
      description: 'Example: `{"eventTypes":["alert_opened"],"segments":["enterprise"],"severities":["critical"]}`.',
      tags,
      request: { params: idParams, body: routeCreateSchema },
      responses: { 201: { description: 'The route', schema: routeSchema }, 404: { description: 'No such channel' }, 409: { description: 'A person’s own channel takes no routes' } },
    },
    async (c, { params, body }) => {
      const result = await createRoute(c.var.db, params.id, body);
      if (result === 'no_channel') throw notFound(`notification channel ${params.id}`);
      if (result === 'personal') throw new DomainError('conflict', 'this is a person’s own channel; routes are for team channels');
      return c.json(routeJson(result), 201);
    },
  );

  router.route(
    {
      method: 'delete',
      path: '/v1/notifications/routes/{id}',
      scope: 'admin',
      operationId: 'deleteNotificationRoute',
      summary: 'Delete a route',
      tags,
      request: { params: idParams },
      responses: { 204: { description: 'Deleted' }, 404: { description: 'No such route' } },
    },
    async (c, { params }) => {
      if (!(await deleteRoute(c.var.db, params.id))) throw notFound(`notification route ${params.id}`);
      return c.body(null, 204);
    },
  );
}
