import { z } from 'zod';
import { sqlState } from '../db/errors.js';
import { lagTolerantRead } from '../http/read-routing.js';
import { inTransaction } from '../db/transaction.js';
import { encodeCursor } from '../http/cursor.js';
import { toCsv } from '../http/csv.js';
import { DomainError, notFound } from '../lib/errors.js';
import type { Router } from '../http/route.js';
import { findAccountId } from '../accounts/repository.js';
import { negotiateLocale } from '../i18n/index.js';
import { addPulse, getHealth, getHealthAsOf, getHealthHistory, healthFeed } from './health.js';
import { healthAsOfFeed } from './as-of-feed.js';
import { previewScorecard } from './preview.js';
import { recompute } from './recompute.js';
import {
  accountParams,
  createScorecardSchema,
  feedQuerySchema,
  feedSchema,
  healthQuerySchema,
  healthSchema,
  historyQuerySchema,
  historySchema,
  previewResponseSchema,
  pulseRequestSchema,
  scorecardSchema,
} from './schemas.js';
import { activateScorecard, createScorecardVersion, findScorecard, listScorecards, type Scorecard } from './scorecards.js';
import type { Context } from 'hono';
import type { AppEnv } from '../http/env.js';

const toJson = (card: Scorecard) => ({
  ...card,
  createdAt: card.createdAt.toISOString(),
  activatedAt: card.activatedAt?.toISOString() ?? null,
});

async function accountIdOf(c: Context<AppEnv>, externalId: string) {
  const id = await findAccountId(c.var.db, externalId);
  if (id === undefined) throw notFound(`account ${externalId}`);
  return id;
}

const FEED_COLUMNS = ['externalId', 'name', 'owner', 'segment', 'score', 'band', 'coverage', 'churnProbability', 'scorecardVersion', 'scorecardSegment'] as const;

/** The bulk as-of read of GET /v1/health (see its description). */
async function asOfFeedResponse(c: Context<AppEnv>, query: z.infer<typeof feedQuerySchema> & { as_of: string }) {
  if (query.updated_since) {
    throw new DomainError('validation_failed', '`updated_since` and `as_of` do not go together', {
      errors: [{ field: 'query.updated_since', message: 'not with as_of' }],
    });
  }
  // Computed pages read signals into temporary tables: the primary, not a replica.
  const page = await healthAsOfFeed(c.var.db, {
    at: new Date(query.as_of),
    afterId: query.cursor?.id,
    limit: query.limit,
    band: query.band,
    owner: query.owner,
    segment: query.segment,
  });
  const nextCursor = page.lastId !== undefined ? encodeCursor({ seq: 0, id: page.lastId }) : null;
  if (query.format === 'csv') {
    return c.body(`\uFEFF${toCsv(page.items, [...FEED_COLUMNS, 'asOf'])}`, 200, {
      'content-type': 'text/csv; charset=utf-8',
      'x-next-cursor': nextCursor ?? '',
      'x-has-more': String(page.hasMore),
    });
  }
  return c.json({ items: page.items, nextCursor, hasMore: page.hasMore });
}

export function registerScoringRoutes(router: Router) {
  router.route(
    {
      method: 'get',
      path: '/v1/accounts/{externalId}/health',
      scope: 'read',
      operationId: 'getHealth',
      summary: "An account's health: score, band, coverage, trend and the explanation of every measure",
      tags: ['health'],
      description:
        'With `as_of`, the score is computed (not stored) as of that past instant by the same SQL as the live score, from the signals as they stood then: windows end there, tickets and contracts are read in the state they had.',
      request: { params: accountParams, query: healthQuerySchema },
      responses: { 200: { description: 'Health', schema: healthSchema }, 404: { description: 'No such account, or not scored yet' } },
    },
    async (c, { params, query }) => {
      const accountId = await accountIdOf(c, params.externalId);
      const locale = negotiateLocale(c.req.header('accept-language'));
      c.header('vary', 'Accept-Language');
      if (query.as_of) {
        const at = new Date(query.as_of);
        const past = await getHealthAsOf(c.var.db, accountId, at, locale);
        if (!past) throw new DomainError('not_found', `account ${params.externalId} had nothing to score as of ${query.as_of}`);
        return c.json({ externalId: params.externalId, asOf: at.toISOString(), ...past });
      }
      const health = await getHealth(c.var.db, accountId, locale);
      if (!health) throw new DomainError('not_found', `account ${params.externalId} has not been scored yet; scores follow its signals within seconds`);
      return c.json({ externalId: params.externalId, ...health });
    },
  );

  router.route(
    {
      method: 'get',
      path: '/v1/accounts/{externalId}/health/history',
      scope: 'read',
      operationId: 'getHealthHistory',
      summary: 'Daily and band-change snapshots, each with what moved the score since the one before',
      tags: ['health'],
      request: { params: accountParams, query: historyQuerySchema },
      responses: { 200: { description: 'Snapshots, oldest first', schema: historySchema } },
    },
    async (c, { params, query }) => {
      const to = query.to ? new Date(query.to) : new Date();
      const from = query.from ? new Date(query.from) : new Date(to.getTime() - 90 * 86400e3);
      if (from > to) throw new DomainError('validation_failed', '`from` is after `to`', { errors: [{ field: 'query.from', message: 'must not be after `to`' }] });
      c.header('vary', 'Accept-Language');
      const locale = negotiateLocale(c.req.header('accept-language'));
      return c.json({ items: await getHealthHistory(c.var.db, await accountIdOf(c, params.externalId), from, to, locale) });
    },
  );

  router.route(
    {
      method: 'post',
      path: '/v1/accounts/{externalId}/health/pulse',
      scope: 'write',
      operationId: 'addPulse',
      summary: "Adjust an account's score by hand, with a reason and an expiry",
      description: 'The account is rescored at once; the pulse shows in the explanation until it expires.',
      tags: ['health'],
      request: { params: accountParams, body: pulseRequestSchema },
      responses: { 201: { description: 'The account’s health with the pulse applied', schema: healthSchema } },
    },
    async (c, { params, body }) => {
      const accountId = await accountIdOf(c, params.externalId);
      await inTransaction(c.var.db, async (trx) => {
        await addPulse(trx, accountId, { adjustment: body.adjustment, reason: body.reason, author: body.author ?? c.var.principal?.name ?? null, expiresAt: body.expiresAt });
        await recompute(trx, { accountIds: [accountId], after: c.var.afterScoring });
      });
      const health = await getHealth(c.var.db, accountId);
      if (!health) throw new DomainError('unprocessable', 'the account has no data to score yet, so a pulse cannot apply');
      return c.json({ externalId: params.externalId, ...health }, 201);
    },
  );

  router.route(
    {
      method: 'get',
      path: '/v1/health',
      scope: 'read',
      operationId: 'healthFeed',
      summary: 'CRM sync feed: scores in the order they changed, or every account as of a past instant',
      description:
        'Ordered by change. Keep `nextCursor` and call again to receive only what changed since: paging while scores change never misses an account’s latest score (an account changed behind your cursor comes round again). `format=csv` returns the same page as CSV with the next cursor in the `x-next-cursor` header.\n\n' +
        'With `as_of`: every account’s score as of that past instant, in account order (a bulk read instead of one `GET /v1/accounts/{id}/health?as_of=` per account), from the stored score history where it holds the instant (the UTC midnight ending each backfilled day) and computed set-based otherwise; the CSV starts with a UTF-8 byte order mark. A cursor belongs to the mode that issued it.',
      tags: ['health'],
      request: { query: feedQuerySchema },
      responses: { 200: { description: 'A page of scores (`format=csv`: the same page as CSV)', schema: feedSchema, also: { 'text/csv': z.string() } } },
    },
    async (c, { query }) => {
      if (query.as_of) return asOfFeedResponse(c, { ...query, as_of: query.as_of });
      const page = await lagTolerantRead(
        c,
        (db) =>
          healthFeed(db, {
            after: query.cursor,
            updatedSince: query.updated_since,
            limit: query.limit,
            band: query.band,
            owner: query.owner,
            segment: query.segment,
          }),
        { feed: { name: 'health_scores', after: query.cursor?.seq } },
      );
      const nextCursor = page.last ? encodeCursor(page.last) : null;
      if (query.format === 'csv') {
        const columns = ['externalId', 'name', 'owner', 'segment', 'score', 'band', 'coverage', 'churnProbability', 'scorecardVersion', 'scorecardSegment', 'updatedAt'] as const;
        return c.body(toCsv(page.items, columns), 200, {
          'content-type': 'text/csv; charset=utf-8',
          'x-next-cursor': nextCursor ?? '',
          'x-has-more': String(page.hasMore),
        });
      }
      return c.json({ items: page.items, nextCursor, hasMore: page.hasMore });
    },
  );

  router.route(
    {
      method: 'get',
      path: '/v1/scorecards',
      scope: 'read',
      operationId: 'listScorecards',
      summary: 'Scorecard versions',
      tags: ['scorecards'],
      request: { query: z.object({ segment: z.string().max(100).optional().meta({ description: 'Only this segment; `default` for the default' }) }) },
      responses: { 200: { description: 'Scorecards', schema: z.object({ items: z.array(scorecardSchema) }) } },
    },
    async (c, { query }) => {
      const segment = query.segment === undefined ? undefined : query.segment === 'default' ? null : query.segment;
      return c.json({ items: (await listScorecards(c.var.db, segment)).map(toJson) });
    },
  );

  router.route(
    {
      method: 'get',
      path: '/v1/scorecards/{id}',
      scope: 'read',
      operationId: 'getScorecard',
      summary: 'A scorecard version',
      tags: ['scorecards'],
      request: { params: z.object({ id: z.coerce.number().int().positive().max(2 ** 53 - 1) }) },
      responses: { 200: { description: 'The scorecard', schema: scorecardSchema } },
    },
    async (c, { params }) => {
      const card = await findScorecard(c.var.db, params.id);
      if (!card) throw notFound(`scorecard ${params.id}`);
      return c.json(toJson(card));
    },
  );

  router.route(
    {
      method: 'post',
      path: '/v1/scorecards',
      scope: 'admin',
      operationId: 'createScorecard',
      summary: 'Create the next version of a segment’s scorecard (inactive until activated)',
      tags: ['scorecards'],
      request: { body: createScorecardSchema },
      responses: { 201: { description: 'Created', schema: scorecardSchema } },
    },
    async (c, { body }) => {
      try {
        return c.json(toJson(await createScorecardVersion(c.var.db, body.segment, body.definition)), 201);
      } catch (err) {
        if (sqlState(err) === '23505') throw new DomainError('conflict', 'another version was created at the same time; retry');
        throw err;
      }
    },
  );

  router.route(
    {
      method: 'post',
      path: '/v1/scorecards/{id}/activate',
      scope: 'admin',
      operationId: 'activateScorecard',
      summary: 'Make a version its segment’s active scorecard',
      description: 'The accounts it applies to are queued for rescoring; the rescoring job recomputes them in the background.',
      tags: ['scorecards'],
      request: { params: z.object({ id: z.coerce.number().int().positive().max(2 ** 53 - 1) }) },
      responses: { 200: { description: 'The active scorecard', schema: scorecardSchema } },
    },
    async (c, { params }) => {
      const card = await inTransaction(c.var.db, async (trx) => {
        const activated = await activateScorecard(trx, params.id);
        if (!activated) throw notFound(`scorecard ${params.id}`);
        return activated;
      });
      return c.json(toJson(card));
    },
  );

  router.route(
    {
      method: 'post',
      path: '/v1/scorecards/preview',
      scope: 'read',
      operationId: 'previewScorecard',
      summary: 'What-if: score a draft scorecard against current data without saving it',
      tags: ['scorecards'],
      request: { body: createScorecardSchema },
      responses: { 200: { description: 'Distribution and band changes', schema: previewResponseSchema } },
    },
    async (c, { body }) => c.json(await previewScorecard(c.var.db, body.segment, body.definition)),
  );
}
