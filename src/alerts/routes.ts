import type { Context } from 'hono';
import { z } from 'zod';
import { sqlState } from '../db/errors.js';
import { lagTolerantRead } from '../http/read-routing.js';
import { inTransaction } from '../db/transaction.js';
import { encodeCursor } from '../http/cursor.js';
import type { AppEnv } from '../http/env.js';
import { DomainError, notFound } from '../lib/errors.js';
import type { Router } from '../http/route.js';
import { acknowledgeAlert, assignAlert, getAlert, resolveAlert, snoozeAlert } from './actions.js';
import { addPoolMember, listPool, removePoolMember } from './pool.js';
import { listAlerts, outcomeSummary } from './repository.js';
import { activateRuleSet, createRuleSetVersion, findRuleSet, listRuleSets, type RuleSet } from './rules.js';
import {
  alertDetailSchema,
  alertIdParams,
  alertListSchema,
  assignSchema,
  createRuleSetSchema,
  listQuerySchema,
  outcomesQuerySchema,
  outcomesSchema,
  poolMemberParams,
  poolSchema,
  resolveSchema,
  ruleSetIdParams,
  ruleSetSchema,
  snoozeSchema,
} from './schemas.js';

const actor = (c: Context<AppEnv>) => c.var.principal?.name ?? 'unknown';

const ruleSetJson = (set: RuleSet) => ({
  ...set,
  createdAt: set.createdAt.toISOString(),
  activatedAt: set.activatedAt?.toISOString() ?? null,
});

const tags = ['alerts'];

export function registerAlertRoutes(router: Router) {
  router.route(
    {
      method: 'get',
      path: '/v1/alerts',
      scope: 'read',
      operationId: 'listAlerts',
      summary: 'Churn-risk alerts, newest first',
      description: 'Filter by status, severity, assignee, rule or account; page with `nextCursor`.',
      tags,
      request: { query: listQuerySchema },
      responses: { 200: { description: 'A page of alerts', schema: alertListSchema } },
    },
    async (c, { query }) => {
      const page = await lagTolerantRead(c, (db) =>
        listAlerts(db, {
          status: query.status,
          severity: query.severity,
          assignee: query.assignee,
          unassigned: query.unassigned === 'true',
          rule: query.rule,
          account: query.account,
          before: query.cursor?.id,
          limit: query.limit,
        }),
      );
      return c.json({
        items: page.items,
        nextCursor: page.hasMore && page.last !== null ? encodeCursor({ seq: page.last, id: page.last }) : null,
        hasMore: page.hasMore,
      });
    },
  );

  // Before /v1/alerts/{id}, which would otherwise take "outcomes" for an id.
  router.route(
    {
      method: 'get',
      path: '/v1/alerts/outcomes',
      scope: 'read',
      operationId: 'alertOutcomes',
      summary: 'Per rule: alerts and the outcomes specialists recorded, for judging the rules',
      tags,
      request: { query: outcomesQuerySchema },
      responses: { 200: { description: 'Counts per rule', schema: outcomesSchema } },
    },
    async (c, { query }) => c.json({ items: await outcomeSummary(c.var.db, query.since ? new Date(query.since) : undefined) }),
  );

  router.route(
    {
      method: 'get',
      path: '/v1/alerts/{id}',
      scope: 'read',
      operationId: 'getAlert',
      summary: 'An alert with its history',
      tags,
      request: { params: alertIdParams },
      responses: { 200: { description: 'The alert', schema: alertDetailSchema }, 404: { description: 'No such alert' } },
    },
    async (c, { params }) => {
      const alert = await getAlert(c.var.db, params.id);
      if (!alert) throw notFound(`alert ${params.id}`);
      return c.json(alert);
    },
  );

  const actionResponses = {
    200: { description: 'The alert with its history', schema: alertDetailSchema },
    404: { description: 'No such alert' },
    409: { description: 'The alert is resolved' },
  };

  router.route(
    {
      method: 'post',
      path: '/v1/alerts/{id}/acknowledge',
      scope: 'write',
      operationId: 'acknowledgeAlert',
      summary: 'Acknowledge an alert (open or snoozed → acknowledged)',
      tags,
      request: { params: alertIdParams },
      responses: actionResponses,
    },
    async (c, { params }) => c.json(await acknowledgeAlert(c.var.db, params.id, actor(c))),
  );

  router.route(
    {
      method: 'post',
      path: '/v1/alerts/{id}/snooze',
      scope: 'write',
      operationId: 'snoozeAlert',
      summary: 'Snooze an alert until a time; it is open again after that',
      tags,
      request: { params: alertIdParams, body: snoozeSchema },
      responses: actionResponses,
    },
    async (c, { params, body }) => c.json(await snoozeAlert(c.var.db, params.id, new Date(body.until), actor(c), body.note)),
  );

  router.route(
    {
      method: 'post',
      path: '/v1/alerts/{id}/assign',
      scope: 'write',
      operationId: 'assignAlert',
      summary: 'Assign an alert to someone (until the account’s retention owner changes)',
      tags,
      request: { params: alertIdParams, body: assignSchema },
      responses: actionResponses,
    },
    async (c, { params, body }) => c.json(await assignAlert(c.var.db, params.id, body.assignee, actor(c), body.note)),
  );

  router.route(
    {
      method: 'post',
      path: '/v1/alerts/{id}/resolve',
      scope: 'write',
      operationId: 'resolveAlert',
      summary: 'Resolve an alert with its outcome (or record the outcome of one that resolved itself)',
      tags,
      request: { params: alertIdParams, body: resolveSchema },
      responses: actionResponses,
    },
    async (c, { params, body }) => c.json(await resolveAlert(c.var.db, params.id, body.outcome, body.note, actor(c))),
  );

  // Rule sets.
  router.route(
    {
      method: 'get',
      path: '/v1/alert-rules',
      scope: 'read',
      operationId: 'listAlertRuleSets',
      summary: 'Alert rule-set versions (the shipped default is version 1)',
      tags,
      responses: { 200: { description: 'Rule sets, oldest first', schema: z.object({ items: z.array(ruleSetSchema) }) } },
    },
    async (c) => c.json({ items: (await listRuleSets(c.var.db)).map(ruleSetJson) }),
  );

  router.route(
    {
      method: 'get',
      path: '/v1/alert-rules/{id}',
      scope: 'read',
      operationId: 'getAlertRuleSet',
      summary: 'An alert rule-set version',
      tags,
      request: { params: ruleSetIdParams },
      responses: { 200: { description: 'The rule set', schema: ruleSetSchema }, 404: { description: 'No such rule set' } },
    },
    async (c, { params }) => {
      const set = await findRuleSet(c.var.db, params.id);
      if (!set) throw notFound(`alert rule set ${params.id}`);
      return c.json(ruleSetJson(set));
    },
  );

  router.route(
    {
      method: 'post',
      path: '/v1/alert-rules',
      scope: 'admin',
      operationId: 'createAlertRuleSet',
      summary: 'Create the next rule-set version (inactive until activated)',
      tags,
      request: { body: createRuleSetSchema },
      responses: { 201: { description: 'Created', schema: ruleSetSchema }, 409: { description: 'Another version was created at the same time' } },
    },
    async (c, { body }) => {
      try {
        return c.json(ruleSetJson(await createRuleSetVersion(c.var.db, body.definition, actor(c))), 201);
      } catch (err) {
        if (sqlState(err) === '23505') throw new DomainError('conflict', 'another version was created at the same time; retry');
        throw err;
      }
    },
  );

  router.route(
    {
      method: 'post',
      path: '/v1/alert-rules/{id}/activate',
      scope: 'admin',
      operationId: 'activateAlertRuleSet',
      summary: 'Make a version the active rule set',
      description:
        'Alerts follow at the next evaluation (a rescoring of the account or the sweep): rules no longer enabled resolve their alerts as `rule_removed`.',
      tags,
      request: { params: ruleSetIdParams },
      responses: { 200: { description: 'The active rule set', schema: ruleSetSchema }, 404: { description: 'No such rule set' } },
    },
    async (c, { params }) => {
      try {
        const set = await inTransaction(c.var.db, (trx) => activateRuleSet(trx, params.id));
        if (!set) throw notFound(`alert rule set ${params.id}`);
        return c.json(ruleSetJson(set));
      } catch (err) {
        if (sqlState(err) === '23505') throw new DomainError('conflict', 'another version was activated at the same time; retry');
        throw err;
      }
    },
  );

  // The retention pool.
  router.route(
    {
      method: 'get',
      path: '/v1/retention-pool',
      scope: 'read',
      operationId: 'listRetentionPool',
      summary: 'Retention specialists who take alerts of accounts without a retention owner',
      tags,
      responses: { 200: { description: 'Members with their unresolved alerts', schema: poolSchema } },
    },
    async (c) => c.json({ items: await listPool(c.var.db) }),
  );

  router.route(
    {
      method: 'put',
      path: '/v1/retention-pool/{member}',
      scope: 'admin',
      operationId: 'addRetentionPoolMember',
      summary: 'Add a member to the retention pool',
      tags,
      request: { params: poolMemberParams },
      responses: { 200: { description: 'Already a member' }, 201: { description: 'Added' } },
    },
    async (c, { params }) => {
      const added = await addPoolMember(c.var.db, params.member, actor(c));
      return c.json({ member: params.member }, added ? 201 : 200);
    },
  );

  router.route(
    {
      method: 'delete',
      path: '/v1/retention-pool/{member}',
      scope: 'admin',
      operationId: 'removeRetentionPoolMember',
      summary: 'Remove a member from the retention pool (their alerts stay with them)',
      tags,
      request: { params: poolMemberParams },
      responses: { 204: { description: 'Removed' }, 404: { description: 'Not a member' } },
    },
    async (c, { params }) => {
      if (!(await removePoolMember(c.var.db, params.member))) throw notFound(`pool member ${params.member}`);
      return c.body(null, 204);
    },
  );
}
