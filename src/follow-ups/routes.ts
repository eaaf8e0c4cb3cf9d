import { z } from 'zod';
import { sqlState } from '../db/errors.js';
import { lagTolerantRead } from '../http/read-routing.js';
import { inTransaction } from '../db/transaction.js';
import { encodeCursor } from '../http/cursor.js';
import { DomainError, notFound } from '../lib/errors.js';
import type { Router } from '../http/route.js';
import { calendarFeed } from './calendar.js';
import { activatePlaybook, createPlaybookVersion, findPlaybook, listPlaybooks, type Playbook } from './playbooks.js';
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
  calendarParams,
  calendarTokenSchema,
  cancelBodySchema,
  completeBodySchema,
  createPlaybookSchema,
  emailParams,
  followUpSchema,
  idParams,
  listQuerySchema,
  listResponseSchema,
  playbookListQuery,
  playbookSchema,
  rescheduleBodySchema,
  teamMemberBodySchema,
  teamMemberSchema,
  WEEKDAYS,
} from './schemas.js';
import {
  deleteTeamMember,
  findTeamMember,
  listTeamMembers,
  memberByCalendarToken,
  rotateCalendarToken,
  type TeamMember,
  upsertTeamMember,
} from './team.js';
import { formatClock } from './working-time.js';

const MAX_RESCHEDULE_DAYS = 730;

const memberJson = (m: TeamMember) => ({
  email: m.email,
  name: m.name,
  timezone: m.timezone,
  workingHours: { start: formatClock(m.workStart), end: formatClock(m.workEnd) },
  workingDays: m.workingDays.map((d) => WEEKDAYS[d - 1]!),
  dailyCapacity: m.dailyCapacity,
  managerEmail: m.managerEmail,
  calendarTokenCreatedAt: m.calendarTokenCreatedAt?.toISOString() ?? null,
  createdAt: m.createdAt.toISOString(),
  updatedAt: m.updatedAt.toISOString(),
});

const playbookJson = (p: Playbook) => ({
  id: p.id,
  key: p.key,
  version: p.version,
  active: p.active,
  definition: p.definition,
  createdAt: p.createdAt.toISOString(),
  activatedAt: p.activatedAt?.toISOString() ?? null,
});

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

  router.route(
    {
      method: 'get',
      path: '/v1/follow-ups/{id}',
      scope: 'read',
      operationId: 'getFollowUp',
      summary: 'A follow-up',
      tags,
      request: { params: idParams },
      responses: { 200: { description: 'The follow-up', schema: followUpSchema }, 404: { description: 'No such follow-up' } },
    },
    async (c, { params }) => {
      const row = await findFollowUp(c.var.db, params.id);
      if (!row) throw notFound(`follow-up ${params.id}`);
      return c.json(toFollowUp(row));
    },
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

  const teamTags = ['team'];

  router.route(
    {
      method: 'get',
      path: '/v1/admin/team',
      scope: 'admin',
      operationId: 'listTeamMembers',
      summary: 'Team members with their working hours, capacity and manager',
      tags: teamTags,
      responses: { 200: { description: 'Members by email', schema: z.object({ items: z.array(teamMemberSchema) }) } },
    },
    async (c) => c.json({ items: (await listTeamMembers(c.var.db)).map(memberJson) }),
  );

  router.route(
    {
      method: 'get',
      path: '/v1/admin/team/{email}',
      scope: 'admin',
      operationId: 'getTeamMember',
      summary: 'A team member',
      tags: teamTags,
      request: { params: emailParams },
      responses: { 200: { description: 'The member', schema: teamMemberSchema }, 404: { description: 'Not in the team table' } },
    },
    async (c, { params }) => {
      const member = await findTeamMember(c.var.db, params.email);
      if (!member) throw notFound(`team member ${params.email}`);
      return c.json(memberJson(member));
    },
  );

  router.route(
    {
      method: 'put',
      path: '/v1/admin/team/{email}',
      scope: 'admin',
      operationId: 'upsertTeamMember',
      summary: 'Create or replace a team member',
      description:
        'Anyone not in this table works the defaults: the account’s time zone (or UTC), 09:00–17:00, Monday to Friday, 8 follow-ups a day, no manager. The calendar URL survives a replace.',
      tags: teamTags,
      request: { params: emailParams, body: teamMemberBodySchema },
      responses: {
        200: { description: 'Replaced', schema: teamMemberSchema },
        201: { description: 'Created', schema: teamMemberSchema },
      },
    },
    async (c, { params, body }) => {
      const { member, created } = await upsertTeamMember(c.var.db, params.email, {
        name: body.name,
        timezone: body.timezone ?? null,
        workStart: body.workingHours.start,
        workEnd: body.workingHours.end,
        workingDays: body.workingDays,
        dailyCapacity: body.dailyCapacity,
        managerEmail: body.managerEmail ?? null,
      });
      return c.json(memberJson(member), created ? 201 : 200);
    },
  );

  router.route(
    {
      method: 'delete',
      path: '/v1/admin/team/{email}',
      scope: 'admin',
      operationId: 'deleteTeamMember',
      summary: 'Remove a team member',
      description: 'Their follow-ups keep the assignee; they are scheduled with the defaults from now on. The calendar URL stops working.',
      tags: teamTags,
      request: { params: emailParams },
      responses: { 204: { description: 'Removed' }, 404: { description: 'Not in the team table' } },
    },
    async (c, { params }) => {
      if (!(await deleteTeamMember(c.var.db, params.email))) throw notFound(`team member ${params.email}`);
      return c.body(null, 204);
    },
  );

  router.route(
    {
      method: 'post',
      path: '/v1/admin/team/{email}/calendar-token',
      scope: 'admin',
      operationId: 'rotateCalendarToken',
      summary: 'Issue a new secret calendar URL for a member (the old one stops working)',
      description:
        'Returns the URL once; only a SHA-256 of its token is stored. The URL is built from this request’s origin: behind a proxy, replace the origin with the public one.',
      tags: teamTags,
      request: { params: emailParams },
      responses: { 201: { description: 'The new URL', schema: calendarTokenSchema }, 404: { description: 'Not in the team table' } },
    },
    async (c, { params }) => {
      const issued = await rotateCalendarToken(c.var.db, params.email);
      if (!issued) throw notFound(`team member ${params.email}`);
      c.header('cache-control', 'no-store');
      return c.json({ url: `${new URL(c.req.url).origin}/v1/calendar/${issued.token}.ics`, createdAt: issued.createdAt.toISOString() }, 201);
    },
  );

  router.route(
    {
      method: 'get',
      path: '/v1/calendar/{file}',
      scope: null,
      operationId: 'followUpCalendar',
      summary: 'A team member’s follow-ups as an iCalendar feed (secret URL, no API key)',
      description:
        'The URL `/v1/calendar/<token>.ics` is the credential: anyone holding it can read the feed, so share it like a password and rotate it when it leaks. Follow-ups due from 30 days ago to 90 days ahead; times in UTC; cancelled ones carry STATUS:CANCELLED.',
      tags: teamTags,
      request: { params: calendarParams },
      responses: {
        200: { description: 'The feed', schema: z.string(), contentType: 'text/calendar' },
        404: { description: 'Unknown or rotated token' },
      },
    },
    async (c, { params }) => {
      const token = params.file.endsWith('.ics') ? params.file.slice(0, -4) : '';
      const member = token ? await memberByCalendarToken(c.var.db, token) : undefined;
      if (!member) throw new DomainError('not_found', 'no calendar at this address');
      const body = await calendarFeed(c.var.db, member);
      return c.body(body, 200, {
        'content-type': 'text/calendar; charset=utf-8',
        'content-disposition': 'inline; filename="follow-ups.ics"',
        'cache-control': 'private, max-age=300',
        'referrer-policy': 'no-referrer',
        'x-robots-tag': 'noindex',
      });
    },
  );

  /* ---- playbooks ---- */

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

  router.route(
    {
      method: 'get',
      path: '/v1/admin/playbooks/{id}',
      scope: 'admin',
      operationId: 'getPlaybook',
      summary: 'A playbook version',
      tags: playbookTags,
      request: { params: idParams },
      responses: { 200: { description: 'The version', schema: playbookSchema }, 404: { description: 'No such version' } },
    },
    async (c, { params }) => {
      const playbook = await findPlaybook(c.var.db, params.id);
      if (!playbook) throw notFound(`playbook ${params.id}`);
      return c.json(playbookJson(playbook));
    },
  );

  router.route(
    {
      method: 'post',
      path: '/v1/admin/playbooks',
      scope: 'admin',
      operationId: 'createPlaybook',
      summary: 'Create the next version of a playbook (inactive until activated)',
      description: 'Follow-ups already created keep their version; the key is what makes re-runs create nothing twice.',
      tags: playbookTags,
      request: { body: createPlaybookSchema },
      responses: { 201: { description: 'Created', schema: playbookSchema }, 409: { description: 'Another version was created at the same time' } },
    },
    async (c, { body }) => {
      try {
        return c.json(playbookJson(await createPlaybookVersion(c.var.db, body.key, body.definition)), 201);
      } catch (err) {
        if (sqlState(err) === '23505') throw new DomainError('conflict', 'another version was created at the same time; retry');
        throw err;
      }
    },
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
