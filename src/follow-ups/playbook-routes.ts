import { z } from 'zod';
import { inTransaction } from '../db/transaction.js';
import { createVersionRoute, getRoute } from '../http/resource-routes.js';
import type { Router } from '../http/route.js';
import { notFound } from '../lib/errors.js';
import { activatePlaybook, createPlaybookVersion, findPlaybook, listPlaybooks, type Playbook } from './playbooks.js';
import { createPlaybookSchema, idParams, playbookListQuery, playbookSchema } from './schemas.js';

const playbookJson = (p: Playbook) => ({
  id: p.id,
  key: p.key,
  version: p.version,
  active: p.active,
  definition: p.definition,
  createdAt: p.createdAt.toISOString(),
  activatedAt: p.activatedAt?.toISOString() ?? null,
});

/** Playbook versions: list, read, create the next, activate one. */
export function registerPlaybookRoutes(router: Router) {
  const playbookTags = ['playbooks'];

  router.route(
    {
      method: 'get',
      path: '/v1/admin/playbooks',
      scope: 'admin',
      operationId: 'listPlaybooks',
      summary: 'Playbook versions (the shipped defaults are installed on first use)',
      tags: playbookTags,
      request: { query: playbookListQuery },
      responses: { 200: { description: 'Versions by key', schema: z.object({ items: z.array(playbookSchema) }) } },
    },
    async (c, { query }) => c.json({ items: (await listPlaybooks(c.var.db, query.key)).map(playbookJson) }),
  );

  getRoute(
    router,
    {
      path: '/v1/admin/playbooks/{id}',
      scope: 'admin',
      operationId: 'getPlaybook',
      summary: 'A playbook version',
      tags: playbookTags,
      params: idParams,
      schema: playbookSchema,
      what: 'The version',
      noun: ({ id }) => `playbook ${id}`,
      missing: 'No such version',
    },
    (db, { id }) => findPlaybook(db, id),
    playbookJson,
  );

  createVersionRoute(
    router,
    {
      path: '/v1/admin/playbooks',
      scope: 'admin',
      operationId: 'createPlaybook',
      summary: 'Create the next version of a playbook (inactive until activated)',
      description: 'Follow-ups already created keep their version; the key is what makes re-runs create nothing twice.',
      tags: playbookTags,
      body: createPlaybookSchema,
      schema: playbookSchema,
    },
    (db, body) => createPlaybookVersion(db, body.key, body.definition),
    playbookJson,
  );

  router.route(
    {
      method: 'post',
      path: '/v1/admin/playbooks/{id}/activate',
      scope: 'admin',
      operationId: 'activatePlaybook',
      summary: 'Make a version the active one of its key',
      description: 'To switch a playbook off, create a version with `enabled: false` and activate it.',
      tags: playbookTags,
      request: { params: idParams },
      responses: { 200: { description: 'The active version', schema: playbookSchema }, 404: { description: 'No such version' } },
    },
    async (c, { params }) => {
      const playbook = await inTransaction(c.var.db, (trx) => activatePlaybook(trx, params.id));
      if (!playbook) throw notFound(`playbook ${params.id}`);
      return c.json(playbookJson(playbook));
    },
  );
}
