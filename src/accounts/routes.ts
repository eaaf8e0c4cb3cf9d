import { z } from 'zod';
import type { Router } from '../http/route.js';
import { isRejected, writeIsolated } from '../db/isolation.js';
import { lagTolerantRead } from '../http/read-routing.js';
import { DomainError, notFound } from '../lib/errors.js';
import { encodeCursor } from '../http/cursor.js';
import { checkValue } from '../http/input.js';
import { archiveAccount, findAccount, listAccounts, upsertAccounts } from './repository.js';
import {
  type AccountInput,
  accountFieldsSchema,
  accountInputSchema,
  accountSchema,
  batchRequestSchema,
  batchResponseSchema,
  externalIdParams,
  listQuerySchema,
  listResponseSchema,
  MAX_BATCH_ACCOUNTS,
  type UpsertOutcome,
  upsertResponseSchema,
} from './schemas.js';
import type { Kysely } from 'kysely';
import type { Database } from '../db/schema.js';

type ItemResult = { index: number; externalId: string | null; result: UpsertOutcome | 'error'; errors?: { field: string; message: string }[] };

/** Upserts valid items; outcomes keyed by batch index. */
async function upsertItems(db: Kysely<Database>, items: { index: number; input: AccountInput }[]) {
  const outcomes = await writeIsolated(db, items, async (trx, subset) => {
    const byId = await upsertAccounts(trx, subset.map((i) => i.input));
    return subset.map((i) => byId.get(i.input.externalId)!);
  });
  return new Map(items.map((item, i) => [item.index, outcomes[i]!]));
}

export function registerAccountRoutes(router: Router) {
  const tags = ['accounts'];

  router.route(
    {
      method: 'put',
      path: '/v1/accounts/{externalId}',
      scope: 'write',
      operationId: 'upsertAccount',
      summary: 'Create or replace an account',
      description: 'Idempotent: sending the same body again reports `unchanged` and writes nothing. Un-archives an archived account.',
      tags,
      request: { params: externalIdParams, body: accountFieldsSchema },
      responses: {
        200: { description: 'Updated or unchanged', schema: upsertResponseSchema },
        201: { description: 'Created', schema: upsertResponseSchema },
      },
    },
    async (c, { params, body }) => {
      const input = { ...body, externalId: params.externalId };
      const outcomes = await upsertItems(c.var.db, [{ index: 0, input }]);
      const outcome = outcomes.get(0)!;
      if (isRejected(outcome)) {
        throw new DomainError('unprocessable', `the database rejected the account (SQLSTATE ${outcome.sqlstate})`);
      }
      const account = (await findAccount(c.var.db, params.externalId))!;
      return c.json({ result: outcome, account }, outcome === 'created' ? 201 : 200);
    },
  );

  router.route(
    {
      method: 'get',
      path: '/v1/accounts/{externalId}',
      scope: 'read',
      operationId: 'getAccount',
      summary: 'Get an account',
      tags,
      request: { params: externalIdParams },
      responses: { 200: { description: 'The account', schema: accountSchema }, 404: { description: 'No such account' } },
    },
    async (c, { params }) => {
      const account = await findAccount(c.var.db, params.externalId);
      if (!account) throw notFound(`account ${params.externalId}`);
      return c.json(account);
    },
  );

  router.route(
    {
      method: 'delete',
      path: '/v1/accounts/{externalId}',
      scope: 'write',
      operationId: 'archiveAccount',
      summary: 'Archive an account',
      description: 'Archived accounts keep their history and leave listings; a PUT brings one back.',
      tags,
      request: { params: externalIdParams },
      responses: { 200: { description: 'The archived account', schema: accountSchema }, 404: { description: 'No such account' } },
    },
    async (c, { params }) => {
      const account = await archiveAccount(c.var.db, params.externalId);
      if (!account) throw notFound(`account ${params.externalId}`);
      return c.json(account);
    },
  );

  router.route(
    {
      method: 'post',
      path: '/v1/accounts/batch',
      scope: 'write',
      operationId: 'upsertAccountsBatch',
      summary: 'Create or replace up to 1,000 accounts',
      description: 'One result per item, in order. Invalid items are reported with their reasons; the valid ones are stored.',
      tags,
      request: { body: batchRequestSchema },
      documentedBody: batchRequestSchema.extend({ items: z.array(accountInputSchema).min(1).max(MAX_BATCH_ACCOUNTS) }),
      responses: { 200: { description: 'Per-item results', schema: batchResponseSchema } },
    },
    async (c, { body }) => {
      const results: ItemResult[] = [];
      const valid: { index: number; input: AccountInput }[] = [];
      const firstIndex = new Map<string, number>();
      body.items.forEach((raw, index) => {
        const parsed = checkValue(accountInputSchema, raw);
        const externalId =
          typeof (raw as { externalId?: unknown } | null)?.externalId === 'string' ? (raw as { externalId: string }).externalId : null;
        if (!parsed.success) {
          const errors = parsed.errors.map((e) => ({ field: e.field || '(item)', message: e.message }));
          results[index] = { index, externalId, result: 'error', errors };
          return;
        }
        const seen = firstIndex.get(parsed.data.externalId);
        if (seen !== undefined) {
          results[index] = {
            index,
            externalId,
            result: 'error',
            errors: [{ field: 'externalId', message: `duplicate of item ${seen} in this batch` }],
          };
          return;
        }
        firstIndex.set(parsed.data.externalId, index);
        valid.push({ index, input: parsed.data });
      });

      const outcomes = await upsertItems(c.var.db, valid);
      for (const { index, input } of valid) {
        const outcome = outcomes.get(index)!;
        results[index] =
          isRejected(outcome)
            ? {
                index,
                externalId: input.externalId,
                result: 'error',
                errors: [{ field: '(item)', message: `rejected by the database (SQLSTATE ${outcome.sqlstate})` }],
              }
            : { index, externalId: input.externalId, result: outcome };
      }
      const summary = { created: 0, updated: 0, unchanged: 0, error: 0 };
      for (const r of results) summary[r.result] += 1;
      return c.json({ summary, results });
    },
  );

  router.route(
    {
      method: 'get',
      path: '/v1/accounts',
      scope: 'read',
      operationId: 'listAccounts',
      summary: 'List accounts in change order',
      description:
        'Keyset pagination in the order rows last changed. Paging never skips a row while others change; a row changed behind your cursor appears again later, so a sync loop that keeps the last `nextCursor` sees every change.',
      tags,
      request: { query: listQuerySchema },
      responses: { 200: { description: 'A page of accounts', schema: listResponseSchema } },
    },
    async (c, { query }) => {
      const page = await lagTolerantRead(
        c,
        (db) =>
          listAccounts(db, {
            segment: query.segment,
            owner: query.owner,
            tier: query.tier,
            updatedSince: query.updated_since,
            includeArchived: query.include_archived,
            after: query.cursor,
            limit: query.limit,
          }),
        { feed: { name: 'accounts', after: query.cursor?.seq } },
      );
      return c.json({
        items: page.accounts,
        nextCursor: page.last ? encodeCursor(page.last) : null,
        hasMore: page.hasMore,
      });
    },
  );
}
