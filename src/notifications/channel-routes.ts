import { deleteRoute, listRoute } from '../http/resource-routes.js';
import type { Router } from '../http/route.js';
import { DomainError, notFound } from '../lib/errors.js';
import { checkDestination, registerDestinationRoutes } from '../outbox/http.js';
import { createChannel, createRoute, deleteChannel, deleteRoute as deleteChannelRoute, findChannel, listChannels, listRoutes, sendChannelTest, updateChannel } from './channels.js';
import { channelCreateSchema, channelJson, channelPatchSchema, channelSchema, idParams, routeCreateSchema, routeJson, routeSchema } from './schemas.js';

function needsSecret(kind: string, secret: string | null | undefined) {
  if ((kind === 'dingtalk' || kind === 'feishu') && !secret) {
    throw new DomainError('validation_failed', `a ${kind} channel needs the robot's signing secret`, {
      errors: [{ field: 'body.signingSecret', message: `required for ${kind}: turn on signing for the robot and paste its secret` }],
    });
  }
}

/** Team chat channels (what every destination has, and what is theirs) and the routes that feed them events. */
export function registerChannelRoutes(router: Router) {
  const tags = ['notifications'];
  const channels = '/v1/notifications/channels';

  listRoute(router, { path: channels, scope: 'admin', operationId: 'listNotificationChannels', summary: 'Chat channels', tags, schema: channelSchema, what: 'Channels' }, listChannels, channelJson);

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

  registerDestinationRoutes(router, {
    tags,
    base: channels,
    noun: 'notification channel',
    schema: channelSchema,
    json: channelJson,
    find: findChannel,
    remove: deleteChannel,
    subscriptionId: (channel) => channel.subscriptionId,
    sendTest: sendChannelTest,
    inactive: 'is not active; re-enable it first (PATCH active: true)',
    pending: 'this notification is still pending; wait for it to finish',
    docs: {
      get: { operationId: 'getNotificationChannel', summary: 'One chat channel' },
      delete: { operationId: 'deleteNotificationChannel', summary: 'Delete a chat channel with its routes and delivery log', description: 'People who chose it get email again.' },
      test: { operationId: 'testNotificationChannel', summary: 'Send a test message to a channel' },
      deliveries: {
        operationId: 'listNotificationChannelDeliveries',
        summary: "A channel's delivery log",
        description: 'Newest first, every attempt of each delivery; replay one with `POST /v1/notifications/deliveries/{id}/replay`.',
      },
      replay: {
        path: '/v1/notifications/deliveries/{id}/replay',
        noun: 'notification delivery',
        operationId: 'replayNotificationDelivery',
        summary: 'Send a notification again',
        description: 'The same message (same event id, same email Message-ID) as a new delivery with a fresh retry schedule.',
      },
    },
  });

  /* ---- routes ---- */

  listRoute(
    router,
    { path: '/v1/notifications/routes', scope: 'admin', operationId: 'listNotificationRoutes', summary: 'Which events go to which team channel', tags, schema: routeSchema, what: 'Routes' },
    listRoutes,
    routeJson,
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

  deleteRoute(
    router,
    {
      path: '/v1/notifications/routes/{id}',
      scope: 'admin',
      operationId: 'deleteNotificationRoute',
      summary: 'Delete a route',
      tags,
      params: idParams,
      noun: ({ id }) => `notification route ${id}`,
      missing: 'No such route',
    },
    (db, { id }) => deleteChannelRoute(db, id),
  );
}
