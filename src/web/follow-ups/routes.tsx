/** @jsxImportSource hono/jsx */
import type { Hono } from 'hono';
import { z } from 'zod';
import {
  type ActionResult,
  assignFollowUp,
  cancelFollowUp,
  completeFollowUp,
  type FollowUpWithAccount,
  listFollowUps,
  rescheduleFollowUp,
} from '../../follow-ups/repository.js';
import { findTeamMember, listTeamMembers, rotateCalendarToken, upsertTeamMember } from '../../follow-ups/team.js';
import type { MessageKey } from '../../i18n/index.js';
import { may } from '../../people/roles.js';
import { done, formOf, noticeOf, PageError, requirePermission, type WebContextOf, type WebEnv } from '../context.js';
import { followUpAssignees, scheduledLoad } from './queries.js';
import { CsrfField, Layout } from '../layout.js';
import { Choice } from '../forms.js';

const COMPLETE_OUTCOMES = ['resolved', 'unresolved', 'no_answer'] as const;

const idParam = (c: WebContextOf) => {
  const id = Number(c.req.param('id'));
  if (!Number.isSafeInteger(id) || id <= 0) throw new PageError(404, 'error.notFound');
  return id;
};

function check(result: ActionResult) {
  if (!result.ok) throw result.reason === 'not_found' ? new PageError(404, 'error.notFound') : new PageError(409, 'error.conflict');
}

/** `YYYY-MM-DDTHH:mm` (a datetime-local field, read as UTC). */
const utcMinute = z
  .string()
  .regex(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}$/)
  .transform((s) => new Date(`${s}:00Z`))
  .refine((d) => !Number.isNaN(d.getTime()));

function FollowUpActions({ c, f, back }: { c: WebContextOf; f: FollowUpWithAccount; back: string }) {
  const webc = c.var.web;
  const { t } = webc.tr;
  const dueLocal = f.due_at.toISOString().slice(0, 16);
  return (
    <details>
      <summary>{t('followUps.actions')}</summary>
      <form method="post" action={`/follow-ups/${f.id}/complete`} class="row">
        <CsrfField web={webc} />
        <input type="hidden" name="back" value={back} />
        <Choice label={t('inbox.outcome')} name="outcome" options={COMPLETE_OUTCOMES} text={(o) => t(`fuOutcome.${o}` as MessageKey)} />
        <label>
          {t('followUps.notes')} <input type="text" name="notes" maxlength={4000} size={30} />
        </label>
        <button type="submit">{t('followUps.complete')}</button>
      </form>
      <form method="post" action={`/follow-ups/${f.id}/reschedule`} class="row">
        <CsrfField web={webc} />
        <input type="hidden" name="back" value={back} />
        <label>
          {t('followUps.newTime')} <input type="datetime-local" name="dueAt" value={dueLocal} required />
        </label>
        <button type="submit" class="secondary">
          {t('followUps.reschedule')}
        </button>
      </form>
      <form method="post" action={`/follow-ups/${f.id}/cancel`} class="row">
        <CsrfField web={webc} />
        <input type="hidden" name="back" value={back} />
        <label>
          {t('followUps.cancelReason')} <input type="text" name="reason" maxlength={500} />
        </label>
        <button type="submit" class="secondary">
          {t('followUps.cancel')}
        </button>
      </form>
    </details>
  );
}

function FollowUpTable({ c, rows, back, actions, assignTo }: { c: WebContextOf; rows: FollowUpWithAccount[]; back: string; actions: boolean; assignTo?: string[] }) {
  const webc = c.var.web;
  const tr = webc.tr;
  const { t } = tr;
  const zh = webc.locale !== 'en';
  if (rows.length === 0) return <p class="muted">{t('followUps.none')}</p>;
  return (
    <table>
      <thead>
        <tr>
          <th scope="col">{t('col.due')}</th>
          <th scope="col">{t('col.kind')}</th>
          <th scope="col">{t('col.account')}</th>
          <th scope="col">{t('col.title')}</th>
          <th scope="col">{t('col.assignee')}</th>
          {actions || assignTo ? <th scope="col">{t('col.actions')}</th> : null}
        </tr>
      </thead>
      <tbody>
        {rows.map((f) => (
          <tr data-follow-up-id={String(f.id)}>
            <td>{tr.dateTime(f.due_at)}</td>
            <td>{t(`kind.${f.kind}` as MessageKey)}</td>
            <td>
              <a href={`/accounts/${encodeURIComponent(f.external_id)}`}>{f.account_name}</a>
            </td>
            <td lang={zh ? 'en' : undefined}>
              {f.title}
              <div class="muted">{f.reason}</div>
            </td>
            <td>{f.assignee ?? t('common.unassigned')}</td>
            {actions || assignTo ? (
              <td>
                {assignTo ? (
                  <form method="post" action={`/follow-ups/${f.id}/assign`} class="row">
                    <CsrfField web={webc} />
                    <input type="hidden" name="back" value={back} />
                    <label>
                      {t('dispatch.reassignTo')}{' '}
                      <select name="assignee">
                        {assignTo.map((p) => (
                          <option value={p} selected={p === f.assignee}>
                            {p}
                          </option>
                        ))}
                      </select>
                    </label>
                    <button type="submit" class="secondary">
                      {t('dispatch.reassign')}
                    </button>
                  </form>
                ) : null}
                {actions ? <FollowUpActions c={c} f={f} back={back} /> : null}
              </td>
            ) : null}
          </tr>
        ))}
      </tbody>
    </table>
  );
}

async function renderAgenda(c: WebContextOf, calendarUrl?: string) {
  const person = requirePermission(c, 'followups');
  const webc = c.var.web;
  const { t } = webc.tr;
  const now = new Date();
  const endOfToday = new Date(`${now.toISOString().slice(0, 10)}T23:59:59.999Z`);
  const weekEnd = new Date(endOfToday.getTime() + 6 * 86400e3);
  const page = await listFollowUps(c.var.db, { assignee: person.email, status: ['scheduled'], dueTo: weekEnd, limit: 300 });
  const overdue = page.items.filter((f) => f.due_at < now);
  const today = page.items.filter((f) => f.due_at >= now && f.due_at <= endOfToday);
  const week = page.items.filter((f) => f.due_at > endOfToday);
  const canWork = may(person.roles, 'work_followups');
  return c.html(
    <Layout web={webc} title={t('followUps.title')} path="/follow-ups" notice={noticeOf(c)}>
      <h1>{t('followUps.title')}</h1>
      <section class="cards" aria-label={t('followUps.summary')}>
        <div class="card">
          <div class="label">{t('followUps.overdue')}</div>
          <div class="big">{overdue.length}</div>
        </div>
        <div class="card">
          <div class="label">{t('followUps.today')}</div>
          <div class="big">{today.length}</div>
        </div>
        <div class="card">
          <div class="label">{t('followUps.thisWeek')}</div>
          <div class="big">{week.length}</div>
        </div>
      </section>
      {(
        [
          ['followUps.overdue', overdue, 'h-overdue'],
          ['followUps.today', today, 'h-today'],
          ['followUps.thisWeek', week, 'h-week'],
        ] as const
      ).map(([label, rows, id]) => (
        <section class="panel" aria-labelledby={id}>
          <h2 id={id}>{t(label)}</h2>
          <FollowUpTable c={c} rows={rows} back="/follow-ups" actions={canWork} />
        </section>
      ))}
      <section class="panel" aria-labelledby="h-calendar">
        <h2 id="h-calendar">{t('followUps.calendar')}</h2>
        <p class="muted">{t('followUps.calendarHelp')}</p>
        {calendarUrl ? (
          <p>
            <code data-testid="calendar-url">{calendarUrl}</code>
          </p>
        ) : null}
        <form method="post" action="/follow-ups/calendar" class="row">
          <CsrfField web={webc} />
          <button type="submit" class="secondary">
            {t('followUps.calendarCreate')}
          </button>
        </form>
      </section>
    </Layout>,
  );
}

export function registerFollowUpPages(web: Hono<WebEnv>) {
  web.get('/follow-ups', (c) => renderAgenda(c));

  web.post('/follow-ups/calendar', async (c) => {
    const person = requirePermission(c, 'followups');
    if (!(await findTeamMember(c.var.db, person.email))) {
      await upsertTeamMember(c.var.db, person.email, {
        name: person.name,
        timezone: null,
        workStart: 540,
        workEnd: 1020,
        workingDays: [1, 2, 3, 4, 5],
        dailyCapacity: 8,
        managerEmail: null,
      });
    }
    const issued = await rotateCalendarToken(c.var.db, person.email);
    if (!issued) throw new PageError(404, 'error.notFound');
    // Shown once, on this response (only a hash is stored).
    return renderAgenda(c, `${new URL(c.req.url).origin}/v1/calendar/${issued.token}.ics`);
  });
  const act = (name: string, permission: 'work_followups' | 'reassign_followups', run: (c: WebContextOf, id: number, form: Record<string, string>) => Promise<ActionResult>) =>
    web.post(`/follow-ups/:id/${name}`, async (c) => {
      requirePermission(c, permission);
      const id = idParam(c);
      const form = await formOf(c);
      check(await run(c, id, form));
      const back = form.back === '/dispatch' ? '/dispatch' : '/follow-ups';
      return done(c, back, 'notice.followUpUpdated');
    });

  act('complete', 'work_followups', (c, id, form) => {
    const outcome = z.enum(COMPLETE_OUTCOMES).safeParse(form.outcome);
    if (!outcome.success) throw new PageError(422, 'error.badRequest');
    const notes = (form.notes ?? '').trim().slice(0, 4000);
    return completeFollowUp(c.var.db, id, { outcome: outcome.data, notes: notes || null });
  });
  act('reschedule', 'work_followups', (c, id, form) => {
    const due = utcMinute.safeParse(form.dueAt);
    if (!due.success || due.data.getTime() < Date.now() - 60_000) throw new PageError(422, 'error.badRequest', c.var.web.tr.t('followUps.badTime'));
    return rescheduleFollowUp(c.var.db, id, due.data);
  });
  act('cancel', 'work_followups', (c, id, form) => cancelFollowUp(c.var.db, id, (form.reason ?? '').trim().slice(0, 500) || null));
  act('assign', 'reassign_followups', (c, id, form) => {
    const assignee = z.email().max(320).safeParse((form.assignee ?? '').trim().toLowerCase());
    if (!assignee.success) throw new PageError(422, 'error.badRequest');
    return assignFollowUp(c.var.db, id, assignee.data);
  });

  web.get('/dispatch', async (c) => {
    requirePermission(c, 'dispatch');
    const webc = c.var.web;
    const tr = webc.tr;
    const { t } = tr;
    const start = new Date(`${new Date().toISOString().slice(0, 10)}T00:00:00Z`);
    const days = Array.from({ length: 7 }, (_, i) => new Date(start.getTime() + i * 86400e3).toISOString().slice(0, 10));
    const end = new Date(start.getTime() + 7 * 86400e3);
    const [load, members, people, upcoming] = await Promise.all([
      scheduledLoad(c.var.db, start, end),
      listTeamMembers(c.var.db),
      followUpAssignees(c.var.db),
      listFollowUps(c.var.db, { status: ['scheduled'], dueTo: end, limit: 200 }),
    ]);
    const capacity = new Map(members.map((m) => [m.email, m.dailyCapacity]));
    const assignees = [...new Set([...members.map((m) => m.email), ...people, ...load.map((r) => r.assignee ?? '')])].filter(Boolean).sort();
    const count = new Map(load.map((r) => [`${r.assignee ?? ''}|${r.day}`, r.n]));
    const unassigned = days.map((d) => count.get(`|${d}`) ?? 0);
    const dayLabel = new Intl.DateTimeFormat(webc.locale, { weekday: 'short', month: 'numeric', day: 'numeric', timeZone: 'UTC' });
    return c.html(
      <Layout web={webc} title={t('dispatch.title')} path="/dispatch" notice={noticeOf(c)}>
        <h1>{t('dispatch.title')}</h1>
        <section class="panel" aria-labelledby="h-load">
          <h2 id="h-load">{t('dispatch.load')}</h2>
          <table>
            <thead>
              <tr>
                <th scope="col">{t('col.assignee')}</th>
                {days.map((d) => (
                  <th scope="col" class="num">
                    {dayLabel.format(new Date(`${d}T00:00:00Z`))}
                  </th>
                ))}
              </tr>
            </thead>
            <tbody>
              {assignees.map((a) => (
                <tr>
                  <th scope="row">{a}</th>
                  {days.map((d) => {
                    const n = count.get(`${a}|${d}`) ?? 0;
                    const cap = capacity.get(a) ?? 8;
                    return <td class={`num${n > cap ? ' sev-high' : ''}`}>{n > cap ? t('dispatch.over', { n, cap }) : String(n)}</td>;
                  })}
                </tr>
              ))}
              <tr>
                <th scope="row">{t('common.unassigned')}</th>
                {unassigned.map((n) => (
                  <td class="num">{n}</td>
                ))}
              </tr>
            </tbody>
          </table>
        </section>
        <section class="panel" aria-labelledby="h-upcoming">
          <h2 id="h-upcoming">{t('dispatch.upcoming')}</h2>
          <FollowUpTable c={c} rows={upcoming.items} back="/dispatch" actions={false} assignTo={assignees} />
        </section>
      </Layout>,
    );
  });
}
