import { z } from 'zod';
import { deleteRoute, getRoute, listRoute } from '../http/resource-routes.js';
import type { Router } from '../http/route.js';
import { DomainError, notFound } from '../lib/errors.js';
import { calendarFeed } from './calendar.js';
import { calendarParams, calendarTokenSchema, emailParams, teamMemberBodySchema, teamMemberSchema, WEEKDAYS } from './schemas.js';
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

/** The team table (working hours, capacity, manager) and each member's calendar feed. */
export function registerTeamRoutes(router: Router) {
  const teamTags = ['team'];

  listRoute(
    router,
    { path: '/v1/admin/team', scope: 'admin', operationId: 'listTeamMembers', summary: 'Team members with their working hours, capacity and manager', tags: teamTags, schema: teamMemberSchema, what: 'Members by email' },
    listTeamMembers,
    memberJson,
  );

  const member = { path: '/v1/admin/team/{email}', scope: 'admin' as const, tags: teamTags, params: emailParams, noun: ({ email }: { email: string }) => `team member ${email}`, missing: 'Not in the team table' };
  getRoute(router, { ...member, operationId: 'getTeamMember', summary: 'A team member', schema: teamMemberSchema, what: 'The member' }, (db, { email }) => findTeamMember(db, email), memberJson);

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

  deleteRoute(
    router,
    {
      ...member,
      operationId: 'deleteTeamMember',
      summary: 'Remove a team member',
      description: 'Their follow-ups keep the assignee; they are scheduled with the defaults from now on. The calendar URL stops working.',
    },
    (db, { email }) => deleteTeamMember(db, email),
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
}
