import { z } from 'zod';
import type { Router } from '../http/route.js';
import { ROLES } from '../people/roles.js';
import { listGroupMappings, replaceGroupMappings } from './repository.js';

const mappingSchema = z
  .object({
    group: z.string().trim().min(1).max(500).meta({ description: "A group name as the identity provider's groups claim (or SCIM) sends it" }),
    roles: z.array(z.enum(ROLES)).min(1).max(ROLES.length),
  })
  .meta({ id: 'SsoGroupMapping' });

const mappingsSchema = z.object({ items: z.array(mappingSchema).max(1000) });

export function registerSsoRoutes(router: Router) {
  router.route(
    {
      method: 'get',
      path: '/v1/admin/sso/group-roles',
      scope: 'admin',
      operationId: 'listSsoGroupRoles',
      summary: 'Which roles each identity-provider group grants',
      tags: ['admin'],
      responses: { 200: { description: 'The mapping', schema: mappingsSchema } },
    },
    async (c) => c.json({ items: await listGroupMappings(c.var.db) }),
  );

  router.route(
    {
      method: 'put',
      path: '/v1/admin/sso/group-roles',
      scope: 'admin',
      operationId: 'replaceSsoGroupRoles',
      summary: 'Replace the group → roles mapping',
      description: 'People get the roles of all their mapped groups at their next sign-in (or at once when SCIM sends their groups). A person in no mapped group gets no access.',
      tags: ['admin'],
      request: {
        body: mappingsSchema.refine((b) => new Set(b.items.map((i) => i.group)).size === b.items.length, { message: 'each group once', path: ['items'] }),
      },
      responses: { 200: { description: 'The mapping now', schema: mappingsSchema } },
    },
    async (c, { body }) => {
      await replaceGroupMappings(c.var.db, body.items);
      return c.json({ items: await listGroupMappings(c.var.db) });
    },
  );
}
