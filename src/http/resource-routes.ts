import type { Context } from 'hono';
import type { Kysely } from 'kysely';
import { z } from 'zod';
import type { Database } from '../db/schema.js';
import { sqlState } from '../db/errors.js';
import { DomainError, notFound } from '../lib/errors.js';
import type { AppEnv } from './env.js';
import type { Router, RouteSpec } from './route.js';

/**
 * The three operations most resources have, the same way everywhere: a collection answered as `{ items }`, one
 * item by its path parameters or a 404 naming it, and a delete that answers 204 or that 404. A feature passes
 * what is its own (paths, names, the repository call, the JSON of an item); what is left is written once here.
 */
type Db = Kysely<Database>;
type Docs = Pick<RouteSpec<object>, 'path' | 'scope' | 'operationId' | 'summary' | 'description' | 'tags'>;

/** GET a whole collection (no paging) as `{ items }`. */
export function listRoute<T>(
  router: Router,
  spec: Docs & { schema: z.ZodType; what: string },
  list: (db: Db) => Promise<Iterable<T>>,
  json: (item: T) => unknown,
) {
  const { schema, what, ...docs } = spec;
  router.route(
    { method: 'get', ...docs, responses: { 200: { description: what, schema: z.object({ items: z.array(schema) }) } } },
    async (c) => c.json({ items: [...(await list(c.var.db))].map(json) }),
  );
}

/**
 * GET one item named by the path; `noun` says what was not found (`alert rule set 7`). `method: 'delete'` for an
 * operation that answers the item it changed (archiving an account).
 */
export function getRoute<T, P extends z.ZodType>(
  router: Router,
  spec: Docs & { method?: 'get' | 'delete'; params: P; schema: z.ZodType; what: string; noun: (params: z.output<P>) => string; missing?: string },
  find: (db: Db, params: z.output<P>) => Promise<T | undefined>,
  json: (item: T) => unknown,
) {
  const { method = 'get', params: paramsSchema, schema, what, noun, missing = 'Not found', ...docs } = spec;
  router.route(
    { method, ...docs, request: { params: paramsSchema }, responses: { 200: { description: what, schema }, 404: { description: missing } } },
    async (c, { params }) => {
      const item = await find(c.var.db, params as z.output<P>);
      if (item === undefined) throw notFound(noun(params as z.output<P>));
      return c.json(json(item));
    },
  );
}

/** DELETE one item named by the path: 204, or 404 when there was none. */
export function deleteRoute<P extends z.ZodType>(
  router: Router,
  spec: Docs & { params: P; noun: (params: z.output<P>) => string; missing?: string },
  remove: (db: Db, params: z.output<P>) => Promise<boolean>,
) {
  const { params: paramsSchema, noun, missing = 'Not found', ...docs } = spec;
  router.route(
    { method: 'delete', ...docs, request: { params: paramsSchema }, responses: { 204: { description: 'Deleted' }, 404: { description: missing } } },
    async (c, { params }) => {
      if (!(await remove(c.var.db, params as z.output<P>))) throw notFound(noun(params as z.output<P>));
      return c.body(null, 204);
    },
  );
}

/**
 * POST the next version of a versioned resource (scorecards, alert rule sets, playbooks): 201 with it, or 409 when
 * another version was created at the same moment (the unique version number refused ours).
 */
export function createVersionRoute<T, B extends z.ZodType>(
  router: Router,
  spec: Docs & { body: B; schema: z.ZodType },
  create: (db: Db, body: z.output<B>, c: Context<AppEnv>) => Promise<T>,
  json: (item: T) => unknown,
) {
  const { body: bodySchema, schema, ...docs } = spec;
  router.route(
    {
      method: 'post',
      ...docs,
      request: { body: bodySchema },
      responses: { 201: { description: 'Created', schema }, 409: { description: 'Another version was created at the same time' } },
    },
    async (c, { body }) => {
      try {
        return c.json(json(await create(c.var.db, body as z.output<B>, c)), 201);
      } catch (err) {
        if (sqlState(err) === '23505') throw new DomainError('conflict', 'another version was created at the same time; retry');
        throw err;
      }
    },
  );
}
