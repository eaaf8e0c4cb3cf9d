import type { Hono } from 'hono';
import { sql } from 'kysely';
import { z } from 'zod';
import { createDocument } from 'zod-openapi';
import { pendingMigrations } from '../db/migrations.js';
import type { AppEnv } from '../http/env.js';
import { DomainError } from '../lib/errors.js';
import type { Router } from '../http/route.js';
import { webhookDocuments } from '../webhooks/outbound/payloads.js';

/** Swagger UI's files, served from the installed package so /docs works offline. */
export type DocsAssets = (file: 'swagger-ui.css' | 'swagger-ui-bundle.js') => Promise<string | undefined>;

const DOCS_HTML = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>healthscore API</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<link rel="stylesheet" href="/docs/swagger-ui.css">
</head>
<body>
<div id="ui"></div>
<script src="/docs/swagger-ui-bundle.js"></script>
<script src="/docs/init.js"></script>
</body>
</html>`;

const DOCS_INIT = `window.ui = SwaggerUIBundle({ url: '/openapi.json', dom_id: '#ui', deepLinking: true });`;

const statusSchema = z.object({ status: z.string() });
const readySchema = z.object({ status: z.literal('ready'), database: z.string(), migrations: z.literal('current') });

export function registerSystemRoutes(router: Router, app: Hono<AppEnv>, assets?: DocsAssets) {
  router.route(
    {
      method: 'get',
      path: '/healthz',
      scope: null,
      operationId: 'healthz',
      summary: 'Liveness: the process answers',
      tags: ['system'],
      responses: { 200: { description: 'Alive', schema: statusSchema } },
    },
    (c) => c.json({ status: 'ok' }),
  );

  router.route(
    {
      method: 'get',
      path: '/readyz',
      scope: null,
      operationId: 'readyz',
      summary: 'Readiness: the database answers and its schema is current',
      tags: ['system'],
      responses: { 200: { description: 'Ready', schema: readySchema }, 503: { description: 'Not ready' } },
    },
    async (c) => {
      try {
        await sql`select 1`.execute(c.var.db);
      } catch {
        throw new DomainError('unavailable', 'the database is not reachable');
      }
      const pending = await pendingMigrations(c.var.db);
      if (pending.length > 0) {
        throw new DomainError('unavailable', `migrations pending: ${pending.join(', ')}`, { pending });
      }
      return c.json({ status: 'ready' as const, database: 'reachable', migrations: 'current' as const });
    },
  );

  let document: string | undefined;
  router.route(
    {
      method: 'get',
      path: '/openapi.json',
      scope: null,
      operationId: 'openapi',
      summary: 'This API described in OpenAPI 3.1',
      tags: ['system'],
      responses: { 200: { description: 'The OpenAPI document' } },
    },
    (c) => {
      document ??= JSON.stringify(
        createDocument({
          openapi: '3.1.0',
          info: {
            title: 'healthscore',
            version: '0.1.0',
            description:
              'Customer-success health scores. Authenticate with `Authorization: Bearer hs_…`; errors are RFC 9457 problem+json.',
          },
          components: { securitySchemes: { apiKey: { type: 'http', scheme: 'bearer', description: 'hs_… API key' } } },
          paths: router.paths,
          // What outgoing webhooks send (src/webhooks/outbound/payloads.ts).
          webhooks: webhookDocuments(),
        }, {
          // Requests are validated strictly (src/http/input.ts): an object that says nothing about
          // other keys refuses them, and the document says so.
          override: ({ jsonSchema, zodSchema, io }) => {
            const def = (zodSchema as unknown as { _zod: { def: { type: string; catchall?: unknown } } })._zod.def;
            if (io === 'input' && def.type === 'object' && def.catchall === undefined) jsonSchema.additionalProperties = false;
          },
        }),
      );
      return c.body(document, 200, { 'content-type': 'application/json' });
    },
  );

  // The docs page is not an API operation, so it stays out of the document.
  app.get('/docs', (c) => c.html(DOCS_HTML));
  app.get('/docs/init.js', (c) => c.body(DOCS_INIT, 200, { 'content-type': 'text/javascript' }));
  app.get('/docs/:file{swagger-ui\\.css|swagger-ui-bundle\\.js}', async (c) => {
    const file = c.req.param('file') as Parameters<DocsAssets>[0];
    const body = assets ? await assets(file) : undefined;
    if (body === undefined) throw new DomainError('not_found', `${file} is not bundled with this build`);
    const type = file.endsWith('.css') ? 'text/css' : 'text/javascript';
    return c.body(body, 200, { 'content-type': type, 'cache-control': 'public, max-age=86400' });
  });
}
