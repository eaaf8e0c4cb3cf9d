import type { Context } from 'hono';
import { z } from 'zod';
import { inTransaction } from '../db/transaction.js';
import type { AppEnv } from '../http/env.js';
import { DomainError, notFound } from '../http/problem.js';
import type { Router } from '../http/route.js';
import { parseFilter } from './filter.js';
import {
  addMembers,
  createGroup,
  createUser,
  deleteGroup,
  deleteUser,
  findGroup,
  findUser,
  groupExists,
  idOf,
  LIST_SCHEMA,
  listGroups,
  listUsers,
  removeMembers,
  renameGroup,
  updateUser,
  type UserFields,
} from './repository.js';

const SCIM_TYPE = 'application/scim+json';
const tags = ['scim'];

const scim = (c: Context<AppEnv>, body: unknown, status: 200 | 201 = 200, headers: Record<string, string> = {}) =>
  c.body(JSON.stringify(body), status, { 'content-type': SCIM_TYPE, ...headers });

const resource = z.looseObject({}).meta({ description: 'A SCIM resource (RFC 7643)' });
const listResponse = z.looseObject({ schemas: z.array(z.string()), totalResults: z.number(), startIndex: z.number(), itemsPerPage: z.number(), Resources: z.array(resource) });

const listQuery = z.object({
  filter: z.string().max(1000).optional().meta({ description: 'One clause `attribute eq "value"`' }),
  startIndex: z.coerce.number().int().min(1).max(1_000_000_000).default(1),
  count: z.coerce.number().int().min(0).max(200).default(100),
  attributes: z.string().max(1000).optional(),
  excludedAttributes: z.string().max(1000).optional(),
});
const oneQuery = z.object({ attributes: z.string().max(1000).optional(), excludedAttributes: z.string().max(1000).optional() });
const idParams = z.object({ id: z.string().min(1).max(20) });

const nameSchema = z.looseObject({ formatted: z.string().max(500).optional(), givenName: z.string().max(200).optional(), familyName: z.string().max(200).optional() });
const emailSchema = z.looseObject({ value: z.string().max(320), primary: z.union([z.boolean(), z.string()]).optional(), type: z.string().max(50).optional() });
const userBody = z.looseObject({
  schemas: z.array(z.string()).optional(),
  userName: z.string().min(3).max(320),
  externalId: z.string().max(500).nullable().optional(),
  displayName: z.string().max(500).optional(),
  name: nameSchema.optional(),
  emails: z.array(emailSchema).max(20).optional(),
  active: z.union([z.boolean(), z.enum(['true', 'false', 'True', 'False'])]).optional(),
});
const memberRef = z.looseObject({ value: z.string().max(20) });
const groupBody = z.looseObject({
  schemas: z.array(z.string()).optional(),
  displayName: z.string().trim().min(1).max(500),
  externalId: z.string().max(500).nullable().optional(),
  members: z.array(memberRef).max(10_000).optional(),
});
const patchBody = z.looseObject({
  schemas: z.array(z.string()).optional(),
  Operations: z
    .array(z.looseObject({ op: z.string().regex(/^(add|replace|remove)$/i, 'must be add, replace or remove'), path: z.string().max(500).optional(), value: z.unknown().optional() }))
    .min(1)
    .max(1000),
});

const truthy = (v: unknown) => v === true || (typeof v === 'string' && v.toLowerCase() === 'true');
const nameOf = (body: { displayName?: string; name?: { formatted?: string; givenName?: string; familyName?: string } }) =>
  body.displayName || body.name?.formatted || [body.name?.givenName, body.name?.familyName].filter(Boolean).join(' ') || undefined;

function userFields(body: z.infer<typeof userBody>): UserFields {
  return { userName: body.userName, externalId: body.externalId ?? null, displayName: nameOf(body) ?? null, active: body.active === undefined ? true : truthy(body.active) };
}

/** The user fields a PatchOp changes, as Entra ID and Okta send them (path or value object; booleans as strings too). */
function userPatch(ops: z.infer<typeof patchBody>['Operations']): Partial<UserFields> {
  const fields: Partial<UserFields> = {};
  const apply = (path: string, value: unknown, op: string) => {
    const p = path.toLowerCase();
    if (p === 'active') fields.active = op === 'remove' ? false : truthy(value);
    else if (p === 'username' && typeof value === 'string') fields.userName = value;
    else if (p === 'externalid') fields.externalId = op === 'remove' ? null : typeof value === 'string' ? value : null;
    else if ((p === 'displayname' || p === 'name.formatted') && typeof value === 'string') fields.displayName = value;
    else if (p === 'name' && value && typeof value === 'object') fields.displayName = nameOf({ name: value as never }) ?? fields.displayName;
    // Other attributes (title, addresses, phone numbers…) are not kept here; accepting them keeps the IdP's sync going.
  };
  for (const o of ops) {
    const op = o.op.toLowerCase();
    if (o.path) apply(o.path, o.value, op);
    else if (o.value && typeof o.value === 'object') for (const [k, v] of Object.entries(o.value)) apply(k, v, op);
  }
  return fields;
}

const MEMBER_FILTER = /^members\[\s*value\s+eq\s+"([^"]*)"\s*\]$/i;
const memberValues = (value: unknown): string[] =>
  (Array.isArray(value) ? value : value ? [value] : []).map((m) => (m && typeof m === 'object' && 'value' in m ? String((m as { value: unknown }).value) : String(m)));

export function registerScimRoutes(router: Router) {
  const listResponses = { 200: { description: 'A ListResponse', schema: listResponse, contentType: SCIM_TYPE } };

  router.route(
    { method: 'get', path: '/scim/v2/ServiceProviderConfig', scope: 'scim', operationId: 'scimServiceProviderConfig', summary: 'SCIM: what this service supports', tags, responses: { 200: { description: 'RFC 7643 §5', schema: resource, contentType: SCIM_TYPE } } },
    (c) =>
      scim(c, {
        schemas: ['urn:ietf:params:scim:schemas:core:2.0:ServiceProviderConfig'],
        patch: { supported: true },
        bulk: { supported: false, maxOperations: 0, maxPayloadSize: 0 },
        filter: { supported: true, maxResults: 200 },
        changePassword: { supported: false },
        sort: { supported: false },
        etag: { supported: false },
        authenticationSchemes: [{ type: 'oauthbearertoken', name: 'Bearer token', description: 'An API key with the scim scope', primary: true }],
      }),
  );

  router.route(
    { method: 'get', path: '/scim/v2/Users', scope: 'scim', operationId: 'scimListUsers', summary: 'SCIM: list or find users (filter userName, externalId, emails.value, displayName, id)', tags, request: { query: listQuery }, responses: listResponses },
    async (c, { query }) => {
      const filter = parseFilter(query.filter, ['userName', 'externalId', 'emails.value', 'displayName', 'id']);
      const page = await listUsers(c.var.db, filter, query.startIndex, query.count);
      return scim(c, { schemas: [LIST_SCHEMA], totalResults: page.total, startIndex: query.startIndex, itemsPerPage: page.resources.length, Resources: page.resources });
    },
  );

  router.route(
    { method: 'get', path: '/scim/v2/Users/{id}', scope: 'scim', operationId: 'scimGetUser', summary: 'SCIM: one user', tags, request: { params: idParams, query: oneQuery }, responses: { 200: { description: 'The user', schema: resource, contentType: SCIM_TYPE } } },
    async (c, { params }) => {
      const id = idOf(params.id);
      const user = id ? await findUser(c.var.db, id) : undefined;
      if (!user) throw notFound(`user ${params.id}`);
      return scim(c, user);
    },
  );

  router.route(
    { method: 'post', path: '/scim/v2/Users', scope: 'scim', operationId: 'scimCreateUser', summary: 'SCIM: provision a user (a person with no role until a mapped group grants one)', tags, request: { body: userBody }, responses: { 201: { description: 'Created', schema: resource, contentType: SCIM_TYPE }, 409: { description: 'userName or externalId taken (scimType uniqueness)' } } },
    async (c, { body }) => {
      const id = await inTransaction(c.var.db, (trx) => createUser(trx, userFields(body)));
      return scim(c, await findUser(c.var.db, id), 201, { location: `/scim/v2/Users/${id}` });
    },
  );

  router.route(
    { method: 'put', path: '/scim/v2/Users/{id}', scope: 'scim', operationId: 'scimReplaceUser', summary: 'SCIM: replace a user', tags, request: { params: idParams, body: userBody }, responses: { 200: { description: 'The user', schema: resource, contentType: SCIM_TYPE } } },
    async (c, { params, body }) => {
      const id = idOf(params.id);
      if (!id || !(await inTransaction(c.var.db, (trx) => updateUser(trx, id, userFields(body))))) throw notFound(`user ${params.id}`);
      return scim(c, await findUser(c.var.db, id));
    },
  );

  router.route(
    {
      method: 'patch',
      path: '/scim/v2/Users/{id}',
      scope: 'scim',
      operationId: 'scimPatchUser',
      summary: 'SCIM: change a user (replace active=false deactivates: sessions end, open alerts and follow-ups go back to the pools)',
      tags,
      request: { params: idParams, body: patchBody },
      responses: { 200: { description: 'The user', schema: resource, contentType: SCIM_TYPE } },
    },
    async (c, { params, body }) => {
      const id = idOf(params.id);
      if (!id || !(await inTransaction(c.var.db, (trx) => updateUser(trx, id, userPatch(body.Operations))))) throw notFound(`user ${params.id}`);
      return scim(c, await findUser(c.var.db, id));
    },
  );

  router.route(
    { method: 'delete', path: '/scim/v2/Users/{id}', scope: 'scim', operationId: 'scimDeleteUser', summary: 'SCIM: deprovision a user (their work goes back to the pools, then the person is removed)', tags, request: { params: idParams }, responses: { 204: { description: 'Removed' } } },
    async (c, { params }) => {
      const id = idOf(params.id);
      if (!id || !(await inTransaction(c.var.db, (trx) => deleteUser(trx, id)))) throw notFound(`user ${params.id}`);
      return c.body(null, 204);
    },
  );

  router.route(
    { method: 'get', path: '/scim/v2/Groups', scope: 'scim', operationId: 'scimListGroups', summary: 'SCIM: list or find groups (filter displayName, externalId, id)', tags, request: { query: listQuery }, responses: listResponses },
    async (c, { query }) => {
      const filter = parseFilter(query.filter, ['displayName', 'externalId', 'id']);
      const withMembers = !/\bmembers\b/i.test(query.excludedAttributes ?? '');
      const page = await listGroups(c.var.db, filter, query.startIndex, query.count, withMembers);
      return scim(c, { schemas: [LIST_SCHEMA], totalResults: page.total, startIndex: query.startIndex, itemsPerPage: page.resources.length, Resources: page.resources });
    },
  );

  router.route(
    { method: 'get', path: '/scim/v2/Groups/{id}', scope: 'scim', operationId: 'scimGetGroup', summary: 'SCIM: one group', tags, request: { params: idParams, query: oneQuery }, responses: { 200: { description: 'The group', schema: resource, contentType: SCIM_TYPE } } },
    async (c, { params, query }) => {
      const id = idOf(params.id);
      const group = id ? await findGroup(c.var.db, id, !/\bmembers\b/i.test(query.excludedAttributes ?? '')) : undefined;
      if (!group) throw notFound(`group ${params.id}`);
      return scim(c, group);
    },
  );

  router.route(
    { method: 'post', path: '/scim/v2/Groups', scope: 'scim', operationId: 'scimCreateGroup', summary: 'SCIM: create a group (its name is what the group mapping matches)', tags, request: { body: groupBody }, responses: { 201: { description: 'Created', schema: resource, contentType: SCIM_TYPE }, 409: { description: 'displayName or externalId taken' } } },
    async (c, { body }) => {
      const id = await inTransaction(c.var.db, (trx) => createGroup(trx, body.displayName, body.externalId ?? null, memberValues(body.members)));
      return scim(c, await findGroup(c.var.db, id), 201, { location: `/scim/v2/Groups/${id}` });
    },
  );

  router.route(
    { method: 'put', path: '/scim/v2/Groups/{id}', scope: 'scim', operationId: 'scimReplaceGroup', summary: 'SCIM: replace a group and its members', tags, request: { params: idParams, body: groupBody }, responses: { 200: { description: 'The group', schema: resource, contentType: SCIM_TYPE } } },
    async (c, { params, body }) => {
      const id = idOf(params.id);
      const ok =
        id &&
        (await inTransaction(c.var.db, async (trx) => {
          if (!(await groupExists(trx, id))) return false;
          await renameGroup(trx, id, { displayName: body.displayName, externalId: body.externalId ?? null });
          await removeMembers(trx, id, undefined);
          await addMembers(trx, id, memberValues(body.members));
          return true;
        }));
      if (!ok) throw notFound(`group ${params.id}`);
      return scim(c, await findGroup(c.var.db, id));
    },
  );

  router.route(
    { method: 'patch', path: '/scim/v2/Groups/{id}', scope: 'scim', operationId: 'scimPatchGroup', summary: 'SCIM: add or remove members, rename', tags, request: { params: idParams, body: patchBody }, responses: { 200: { description: 'The group', schema: resource, contentType: SCIM_TYPE } } },
    async (c, { params, body }) => {
      const id = idOf(params.id);
      const ok =
        id &&
        (await inTransaction(c.var.db, async (trx) => {
          if (!(await groupExists(trx, id))) return false;
          for (const o of body.Operations) {
            const op = o.op.toLowerCase();
            const path = o.path ?? '';
            const one = MEMBER_FILTER.exec(path);
            if (one && op === 'remove') await removeMembers(trx, id, [one[1]!]);
            else if (path.toLowerCase() === 'members') {
              if (op === 'add') await addMembers(trx, id, memberValues(o.value));
              else if (op === 'remove') await removeMembers(trx, id, o.value === undefined ? undefined : memberValues(o.value));
              else {
                await removeMembers(trx, id, undefined);
                await addMembers(trx, id, memberValues(o.value));
              }
            } else if (path.toLowerCase() === 'displayname' && typeof o.value === 'string') await renameGroup(trx, id, { displayName: o.value });
            else if (path.toLowerCase() === 'externalid') await renameGroup(trx, id, { externalId: typeof o.value === 'string' ? o.value : null });
            else if (!path && o.value && typeof o.value === 'object') {
              const v = o.value as { displayName?: unknown; externalId?: unknown; members?: unknown };
              if (typeof v.displayName === 'string') await renameGroup(trx, id, { displayName: v.displayName });
              if (typeof v.externalId === 'string') await renameGroup(trx, id, { externalId: v.externalId });
              if (v.members !== undefined) {
                if (op === 'replace') await removeMembers(trx, id, undefined);
                await addMembers(trx, id, memberValues(v.members));
              }
            } else throw new DomainError('validation_failed', `unsupported operation ${o.op} ${path}`, { scimType: 'invalidPath' });
          }
          return true;
        }));
      if (!ok) throw notFound(`group ${params.id}`);
      // RFC 7644 §3.5.2: 200 with the resource (or 204); Entra and Okta accept either.
      return scim(c, await findGroup(c.var.db, id));
    },
  );

  router.route(
    { method: 'delete', path: '/scim/v2/Groups/{id}', scope: 'scim', operationId: 'scimDeleteGroup', summary: 'SCIM: delete a group (its members lose the roles it granted)', tags, request: { params: idParams }, responses: { 204: { description: 'Deleted' } } },
    async (c, { params }) => {
      const id = idOf(params.id);
      if (!id || !(await inTransaction(c.var.db, (trx) => deleteGroup(trx, id)))) throw notFound(`group ${params.id}`);
      return c.body(null, 204);
    },
  );
}
