import { lagTolerantRead } from '../http/read-routing.js';
import { encodeCursor } from '../http/cursor.js';
import { DomainError, notFound } from '../lib/errors.js';
import { getRoute } from '../http/resource-routes.js';
import type { Router } from '../http/route.js';
import { registerPlaybookRoutes } from './playbook-routes.js';
import {
  type ActionResult,
  assignFollowUp,
  cancelFollowUp,
  completeFollowUp,
  findFollowUp,
  listFollowUps,
  rescheduleFollowUp,
  toFollowUp,
} from './repository.js';
import {
  assignBodySchema,
  cancelBodySchema,
  completeBodySchema,
  followUpSchema,
  idParams,
  listQuerySchema,
  listResponseSchema,
  rescheduleBodySchema,
} from './schemas.js';
import { registerTeamRoutes } from './team-routes.js';

const MAX_RESCHEDULE_DAYS = 730;

/** The follow-up of a successful action, or the problem: 404 unknown, 409 not open. */
function settled(result: ActionResult, id: number, verb: string) {
  if (result.ok) return toFollowUp(result.followUp);
  if (result.reason === 'not_found') throw notFound(`follow-up ${id}`);
  throw new DomainError('conflict', `follow-up ${id} is ${result.status}; only scheduled or missed follow-ups can be ${verb}`, {
    followUpStatus: result.status,
  });
}

const actionResponses = (what: string) => ({
  200: { description: what, schema: followUpSchema },
  404: { description: 'No such follow-up' },
  409: { description: 'The follow-up is done or cancelled' },
});

export function registerFollowUpRoutes(router: Router) {
  const tags = ['follow-ups'];

  router.route(
    {
      method: 'get',
      path: '/v1/follow-ups',
      scope: 'read',
      operationId: 'listFollowUps',
      summary: 'Follow-ups in due order',
      description: 'Keyset pagination by (dueAt, id): pass `nextCursor` back as `cursor` with the same filters.',
      tags,
      request: { query: listQuerySchema },
      responses: { 200: { description: 'A page of follow-ups', schema: listResponseSchema } },
    },
    async (c, { query }) => {
      const page = await lagTolerantRead(c, (db) =>
        listFollowUps(db, {
          assignee: query.assignee,
          status: query.status,
          dueFrom: query.due_from ? new Date(query.due_from) : undefined,
          dueTo: query.due_to ? new Date(query.due_to) : undefined,
          accountExternalId: query.account,
          after: query.cursor ? { dueAt: new Date(query.cursor.seq), id: query.cursor.id } : undefined,
          limit: query.limit,
        }),
      );
      return c.json({
        items: page.items.map(toFollowUp),
        nextCursor: page.last ? encodeCursor({ seq: page.last.dueAt.getTime(), id: page.last.id }) : null,
        hasMore: page.hasMore,
      });
    },
  );

  getRoute(
    router,
    {
      path: '/v1/follow-ups/{id}',
      scope: 'read',
      operationId: 'getFollowUp',
      summary: 'A follow-up',
      tags,
      params: idParams,
      schema: followUpSchema,
      what: 'The follow-up',
      noun: ({ id }) => `follow-up ${id}`,
      missing: 'No such follow-up',
    },
    (db, { id }) => findFollowUp(db, id),
    toFollowUp,
  );

  router.route(
    {
      method: 'post',
      path: '/v1/follow-ups/{id}/complete',
      scope: 'write',
      operationId: 'completeFollowUp',
      summary: 'Record the outcome of a follow-up',
      description:
        'A scheduled or missed follow-up becomes `done`. An `unresolved` outcome when an earlier follow-up on the same problem (same account and cause) also ended unresolved escalates to the assignee’s manager and emits `follow_up.overdue` ("second unresolved follow-up").',
      tags,
      request: { params: idParams, body: completeBodySchema },
      responses: actionResponses('The completed follow-up'),
    },
    async (c, { params, body }) =>
      c.json(settled(await completeFollowUp(c.var.db, params.id, { outcome: body.outcome, notes: body.notes || null }), params.id, 'completed')),
  );

  router.route(
    {
      method: 'post',
      path: '/v1/follow-ups/{id}/reschedule',
      scope: 'write',
      operationId: 'rescheduleFollowUp',
      summary: 'Move a follow-up’s due time',
      description:
        'The time is moved forward to the assignee’s next working moment when it falls outside their working hours. A missed follow-up is scheduled again; `follow_up.due` fires again at the new time.',
      tags,
      request: { params: idParams, body: rescheduleBodySchema },
      rules: [{ field: 'body.dueAt', rule: `must not be in the past, nor more than ${MAX_RESCHEDULE_DAYS} days ahead (422)` }],
      responses: { ...actionResponses('The rescheduled follow-up'), 422: { description: 'The time is in the past or more than two years ahead' } },
    },
    async (c, { params, body }) => {
      const dueAt = new Date(body.dueAt);
      const now = Date.now();
      if (dueAt.getTime() < now - 60_000) throw new DomainError('unprocessable', 'dueAt is in the past');
      if (dueAt.getTime() > now + MAX_RESCHEDULE_DAYS * 86_400_000) {
        throw new DomainError('unprocessable', `dueAt is more than ${MAX_RESCHEDULE_DAYS} days ahead`);
      }
      return c.json(settled(await rescheduleFollowUp(c.var.db, params.id, dueAt), params.id, 'rescheduled'));
    },
  );

  router.route(
    {
      method: 'post',
      path: '/v1/follow-ups/{id}/cancel',
      scope: 'write',
      operationId: 'cancelFollowUp',
      summary: 'Cancel a follow-up',
      description: 'It stays in calendar feeds with STATUS:CANCELLED so subscribed calendars drop it.',
      tags,
      request: { params: idParams, body: cancelBodySchema },
      responses: actionResponses('The cancelled follow-up'),
    },
    async (c, { params, body }) => c.json(settled(await cancelFollowUp(c.var.db, params.id, body.reason || null), params.id, 'cancelled')),
  );

  router.route(
    {
      method: 'post',
      path: '/v1/follow-ups/{id}/assign',
      scope: 'write',
      operationId: 'assignFollowUp',
      summary: 'Give a follow-up to someone else',
      description: 'The due time stays unless it falls outside the new assignee’s working hours; then it moves to their next working moment.',
      tags,
      request: { params: idParams, body: assignBodySchema },
      responses: actionResponses('The reassigned follow-up'),
    },
    async (c, { params, body }) => c.json(settled(await assignFollowUp(c.var.db, params.id, body.assignee), params.id, 'reassigned')),
  );

  /* ---- team ---- */

  registerTeamRoutes(router);
  registerPlaybookRoutes(router);
}
