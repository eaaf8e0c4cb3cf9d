import { z } from 'zod';
import { notFound } from '../lib/errors.js';
import type { Router } from '../http/route.js';
import { SCOPES } from './keys.js';
import { createApiKey, listApiKeys, revokeApiKey } from './repository.js';

const keyInfoSchema = z
  .object({
    id: z.number(),
    name: z.string(),
    prefix: z.string(),
    scopes: z.array(z.enum(SCOPES)),
    createdAt: z.iso.datetime(),
    lastUsedAt: z.iso.datetime().nullable(),
    revokedAt: z.iso.datetime().nullable(),
  })
  .meta({ id: 'ApiKey' });

const createKeySchema = z.object({
  name: z.string().trim().min(1).max(200),
  scopes: z.array(z.enum(SCOPES)).min(1).transform((s) => [...new Set(s)]),
});

const toJson = (info: Awaited<ReturnType<typeof listApiKeys>>[number]) => ({
  ...info,
  createdAt: info.createdAt.toISOString(),
  lastUsedAt: info.lastUsedAt?.toISOString() ?? null,
  revokedAt: info.revokedAt?.toISOString() ?? null,
});

export function registerKeyRoutes(router: Router) {
  const tags = ['admin'];
  router.route(
    {
      method: 'get',
      path: '/v1/admin/keys',
      scope: 'admin',
      operationId: 'listApiKeys',
      summary: 'List API keys (never their secrets)',
      tags,
      responses: { 200: { description: 'Keys', schema: z.object({ items: z.array(keyInfoSchema) }) } },
    },
    async (c) => c.json({ items: (await listApiKeys(c.var.db)).map(toJson) }),
  );

  router.route(
    {
      method: 'post',
      path: '/v1/admin/keys',
      scope: 'admin',
      operationId: 'createApiKey',
      idempotent: false,
      summary: 'Create an API key',
      description: 'The response carries the secret `key`; it is shown this once and stored only as a hash.',
      tags,
      request: { body: createKeySchema },
      responses: { 201: { description: 'Created', schema: keyInfoSchema.extend({ key: z.string() }) } },
    },
    async (c, { body }) => {
      const { key, info } = await createApiKey(c.var.db, body.name, body.scopes);
      return c.json({ ...toJson(info), key }, 201);
    },
  );

  router.route(
    {
      method: 'delete',
      path: '/v1/admin/keys/{id}',
      scope: 'admin',
      operationId: 'revokeApiKey',
      summary: 'Revoke an API key',
      tags,
      request: { params: z.object({ id: z.coerce.number().int().positive().max(2 ** 53 - 1) }) },
      responses: { 204: { description: 'Revoked' }, 404: { description: 'No live key with that id' } },
    },
    async (c, { params }) => {
      if (!(await revokeApiKey(c.var.db, params.id))) throw notFound(`live API key ${params.id}`);
      return c.body(null, 204);
    },
  );
}
