import { z } from 'zod';
import { inTransaction } from '../db/transaction.js';
import { DomainError, notFound } from '../http/problem.js';
import type { Router } from '../http/route.js';
import { eraseAccount, exportAccount } from './account.js';
import { erasePerson, exportPerson } from './person.js';

const tablesSchema = z.record(z.string(), z.array(z.record(z.string(), z.unknown()))).meta({ description: 'Rows by table (or table.column for a person)' });
const emailParams = z.object({ email: z.string().min(3).max(320).regex(/^[^@\s/]+@[^@\s/]+$/, 'must be an email address') });
const externalIdParams = z.object({ externalId: z.string().min(1).max(200) });

export function registerErasureRoutes(router: Router) {
  const tags = ['privacy'];
  router.route(
    {
      method: 'get',
      path: '/v1/accounts/{externalId}/export',
      scope: 'admin',
      operationId: 'exportAccountData',
      summary: 'Everything stored about one account, as JSON (before an erasure, or for a data-protection request)',
      description: 'Every row of every table that names the account (read from the database catalogue, so no table is forgotten), the payloads of outgoing events about it, and stored API responses that quote it.',
      tags,
      request: { params: externalIdParams },
      responses: { 200: { description: 'The account’s data', schema: z.object({ externalId: z.string(), exportedAt: z.string(), tables: tablesSchema }) }, 404: { description: 'No such account' } },
    },
    async (c, { params }) => {
      const tables = await exportAccount(c.var.db, params.externalId);
      if (!tables) throw notFound(`account ${params.externalId}`);
      return c.json({ externalId: params.externalId, exportedAt: new Date().toISOString(), tables });
    },
  );

  router.route(
    {
      method: 'get',
      path: '/v1/people/{email}/export',
      scope: 'admin',
      operationId: 'exportPersonData',
      summary: 'Everything stored about one person (who signs in), as JSON',
      tags,
      request: { params: emailParams },
      responses: { 200: { description: 'The person’s data (never password or token hashes)', schema: z.object({ email: z.string(), exportedAt: z.string(), tables: tablesSchema }) }, 404: { description: 'No such person' } },
    },
    async (c, { params }) => {
      const tables = await exportPerson(c.var.db, params.email);
      if (!tables) throw notFound(`person ${params.email}`);
      return c.json({ email: params.email.toLowerCase(), exportedAt: new Date().toISOString(), tables });
    },
  );

  router.route(
    {
      method: 'delete',
      path: '/v1/people/{email}',
      scope: 'admin',
      operationId: 'erasePerson',
      summary: 'Erase a person (erase=true): their alerts and follow-ups go back to the pools, their address is removed everywhere',
      tags,
      request: { params: emailParams, query: z.object({ erase: z.literal('true').meta({ description: 'Must be true: erasure cannot be undone' }) }) },
      responses: { 200: { description: 'Erased; what was cleared, by table.column', schema: z.object({ erased: z.literal(true), cleared: z.record(z.string(), z.number()) }) }, 404: { description: 'No such person' } },
    },
    async (c, { params }) => {
      const result = await inTransaction(c.var.db, (trx) => erasePerson(trx, params.email, c.var.audit));
      if (!result) throw notFound(`person ${params.email}`);
      return c.json({ erased: true as const, cleared: result.cleared });
    },
  );
}

/** The erase=true branch of DELETE /v1/accounts/{externalId} (src/accounts/routes.ts): admin only, one transaction. */
export async function eraseAccountRequest(c: Parameters<Parameters<Router['route']>[1]>[0], externalId: string) {
  const principal = c.var.principal;
  if (!principal || !principal.scopes.includes('admin')) throw new DomainError('forbidden', "erasing an account needs the 'admin' scope", { requiredScope: 'admin' });
  const result = await inTransaction(c.var.db, (trx) => eraseAccount(trx, externalId, c.var.audit));
  if (!result) throw notFound(`account ${externalId}`);
  return c.json({ erased: true as const, deleted: result.deleted });
}
