import { z } from 'zod';
import { notFound } from '../../lib/errors.js';
import type { Router } from '../../http/route.js';
import {
  DEFAULT_ROTATION_OVERLAP_HOURS,
  deleteWebhookSource,
  ensureWebhookSource,
  listWebhookSources,
  MAX_ROTATION_OVERLAP_HOURS,
  rotateWebhookSecret,
  SOURCE_NAME_PATTERN,
  type WebhookSourceInfo,
} from './repository.js';

const sourceInfoSchema = z
  .object({
    name: z.string(),
    createdAt: z.iso.datetime(),
    secretCount: z.number().int().meta({ description: 'Live (not expired) secrets' }),
    secrets: z
      .array(z.object({ id: z.number(), createdAt: z.iso.datetime(), expiresAt: z.iso.datetime().nullable() }))
      .meta({ description: 'Live secrets, oldest first: ids and expiry only, never their values' }),
  })
  .meta({ id: 'WebhookSource' });

const newSecretFields = {
  secret: z.string().meta({ description: 'The new `whsec_…` secret, shown this once: give it to the sender' }),
  secretId: z.number(),
};

const sourceParams = z.object({
  source: z
    .string()
    .regex(SOURCE_NAME_PATTERN, 'must be 1 to 63 lower-case letters, digits, `_` or `-`, starting with a letter or digit')
    .meta({ example: 'helpdesk' }),
});

const rotateBodySchema = z.object({
  expiresInHours: z
    .number()
    .min(0)
    .max(MAX_ROTATION_OVERLAP_HOURS)
    .optional()
    .meta({ description: `How long the older secrets keep verifying; default ${DEFAULT_ROTATION_OVERLAP_HOURS}, 0 retires them at once` }),
});

const toJson = (info: WebhookSourceInfo) => ({
  name: info.name,
  createdAt: info.createdAt.toISOString(),
  secretCount: info.secrets.length,
  secrets: info.secrets.map((s) => ({ id: s.id, createdAt: s.createdAt.toISOString(), expiresAt: s.expiresAt?.toISOString() ?? null })),
});

export function registerWebhookSourceRoutes(router: Router) {
  const tags = ['admin'];

  router.route(
    {
      method: 'get',
      path: '/v1/admin/webhook-sources',
      scope: 'admin',
      operationId: 'listWebhookSources',
      summary: 'List inbound webhook sources (never their secrets)',
      tags,
      responses: { 200: { description: 'Sources', schema: z.object({ items: z.array(sourceInfoSchema) }) } },
    },
    async (c) => c.json({ items: (await listWebhookSources(c.var.db)).map(toJson) }),
  );

  router.route(
    {
      method: 'put',
      path: '/v1/admin/webhook-sources/{source}',
      scope: 'admin',
      operationId: 'putWebhookSource',
      summary: 'Create an inbound webhook source',
      description:
        'Creates the source with a fresh signing secret and returns the secret this once (201). ' +
        'Idempotent: for an existing source the answer is 200 without a secret; rotate to get a new one.',
      tags,
      request: { params: sourceParams },
      responses: {
        200: { description: 'Already exists', schema: sourceInfoSchema },
        201: { description: 'Created, with its secret', schema: sourceInfoSchema.extend(newSecretFields) },
      },
    },
    async (c, { params }) => {
      const { created, source, secret } = await ensureWebhookSource(c.var.db, params.source);
      if (!created || !secret) return c.json(toJson(source), 200);
      return c.json({ ...toJson(source), secret: secret.value, secretId: secret.id }, 201);
    },
  );

  router.route(
    {
      method: 'post',
      path: '/v1/admin/webhook-sources/{source}/secrets',
      scope: 'admin',
      operationId: 'rotateWebhookSecret',
      idempotent: false,
      summary: "Rotate a source's signing secret",
      description:
        `Adds a new secret and returns it this once. The older secrets keep verifying for \`expiresInHours\` (default ${DEFAULT_ROTATION_OVERLAP_HOURS}) ` +
        'so the sender can switch without dropping deliveries; an earlier expiry they already have is kept. Send `{}` for the default.',
      tags,
      request: { params: sourceParams, body: rotateBodySchema },
      responses: {
        201: {
          description: 'The new secret',
          schema: sourceInfoSchema.extend({ ...newSecretFields, oldSecretsExpireAt: z.iso.datetime() }),
        },
        404: { description: 'No such source' },
      },
    },
    async (c, { params, body }) => {
      const rotated = await rotateWebhookSecret(c.var.db, params.source, body.expiresInHours ?? DEFAULT_ROTATION_OVERLAP_HOURS);
      if (!rotated) throw notFound(`webhook source ${params.source}`);
      return c.json(
        {
          ...toJson(rotated.source),
          secret: rotated.secret.value,
          secretId: rotated.secret.id,
          oldSecretsExpireAt: rotated.oldSecretsExpireAt.toISOString(),
        },
        201,
      );
    },
  );

  router.route(
    {
      method: 'delete',
      path: '/v1/admin/webhook-sources/{source}',
      scope: 'admin',
      operationId: 'deleteWebhookSource',
      summary: 'Delete an inbound webhook source',
      description: 'Its secrets and its record of processed webhook ids go with it; deliveries to it are refused from then on.',
      tags,
      request: { params: sourceParams },
      responses: { 204: { description: 'Deleted' }, 404: { description: 'No such source' } },
    },
    async (c, { params }) => {
      if (!(await deleteWebhookSource(c.var.db, params.source))) throw notFound(`webhook source ${params.source}`);
      return c.body(null, 204);
    },
  );
}
