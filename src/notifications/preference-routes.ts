import { getRoute, listRoute } from '../http/resource-routes.js';
import type { Router } from '../http/route.js';
import { DomainError, notFound } from '../lib/errors.js';
import { deliveriesQuery, deliveryPage, deliveryPageSchema } from '../outbox/http.js';
import { buildDigest } from './digest.js';
import { emailSubscriptions } from './outbox.js';
import { findPreferences, loadPreferences, resetPreferences, savePreferences, setEmailActive } from './preferences.js';
import { emailParams, preferenceChanges, preferencesBodySchema, preferencesJson, preferencesSchema, previewSchema } from './schemas.js';
import { DEFAULT_BASE_URL } from './send.js';
import { renderEmail, renderMessage } from './templates.js';

/** A team member's notification preferences, their digest preview and their email delivery log. */
export function registerPreferenceRoutes(router: Router, options: { baseUrl?: string } = {}) {
  const tags = ['notifications'];
  const people = '/v1/notifications/people';

  listRoute(
    router,
    {
      path: people,
      scope: 'read',
      operationId: 'listNotificationPreferences',
      summary: "Every team member's notification preferences",
      description: 'Members who never saved preferences show the defaults (`saved: false`).',
      tags,
      schema: preferencesSchema,
      what: 'Preferences',
    },
    async (db) => (await loadPreferences(db)).values(),
    preferencesJson,
  );

  getRoute(
    router,
    {
      path: `${people}/{email}`,
      scope: 'read',
      operationId: 'getNotificationPreferences',
      summary: "A team member's notification preferences",
      tags,
      params: emailParams,
      schema: preferencesSchema,
      what: 'Preferences',
      noun: ({ email }) => `team member ${email}`,
      missing: 'Not a team member',
    },
    (db, { email }) => findPreferences(db, email),
    preferencesJson,
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
      const result = await savePreferences(c.var.db, params.email, preferenceChanges(body));
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
      responses: { 200: { description: 'Deliveries, newest first', schema: deliveryPageSchema }, 404: { description: 'Not a team member' } },
    },
    async (c, { params, query }) => {
      const p = await findPreferences(c.var.db, params.email);
      if (!p) throw notFound(`team member ${params.email}`);
      const sub = (await emailSubscriptions(c.var.db, [p.email])).get(p.email)!;
      return c.json(await deliveryPage(c.var.db, sub.id, query));
    },
  );
}
