/** @jsxImportSource hono/jsx */
import { budgetNow, listWatchList } from '../../alerts/watch-list.js';
import type { Hono } from 'hono';
import { sql } from 'kysely';
import { z } from 'zod';
import { acknowledgeAlert, assignAlert, resolveAlert, snoozeAlert } from '../../alerts/actions.js';
import { alertQuery, toAlert } from '../../alerts/repository.js';
import type { MessageKey } from '../../i18n/index.js';
import { may } from '../../people/roles.js';
import { done, formOf, noticeOf, PageError, requirePermission, type WebContextOf, type WebEnv } from '../context.js';
import { CsrfField, Layout } from '../layout.js';
import { inboxToken } from '../live/routes.js';

const VIEWS = ['mine', 'pool', 'accounts', 'all'] as const;
type View = (typeof VIEWS)[number];
const OUTCOMES = ['saved', 'churned', 'false_alarm'] as const;

/** Unresolved alerts of a view, by severity (critical first), then renewal date, then age. */
async function inboxAlerts(c: WebContextOf, view: View) {
  const me = c.var.web.person!.email;
  let query = alertQuery(c.var.db).select(['ac.renewal_date', 'ac.arr', 'ac.currency']).where('al.status', '<>', 'resolved');
  if (view === 'mine') query = query.where('al.assignee', '=', me);
  if (view === 'accounts') query = query.where('ac.owner', '=', me);
  if (view === 'pool') {
    query = query.where((eb) => eb.or([eb('al.assignee', 'is', null), eb('al.assignee', 'in', eb.selectFrom('retention_pool').select('member'))]));
  }
  const rows = await query
    .orderBy(sql`case al.severity when 'critical' then 0 when 'high' then 1 when 'medium' then 2 else 3 end`)
    .orderBy(sql`ac.renewal_date asc nulls last`)
    .orderBy('al.opened_at')
    .limit(200)
    .execute();
  return rows.map((r) => ({ ...toAlert(r), renewalDate: r.renewal_date, arr: r.arr, currency: r.currency }));
}

async function assignees(c: WebContextOf): Promise<string[]> {
  const [pool, people] = await Promise.all([
    c.var.db.selectFrom('retention_pool').select('member').execute(),
    c.var.db.selectFrom('people').select('email').where(sql<boolean>`roles && array['retention','manager']::text[]`).where('disabled_at', 'is', null).execute(),
  ]);
  return [...new Set([...pool.map((p) => p.member), ...people.map((p) => p.email)])].sort();
}

const idParam = (c: WebContextOf) => {
  const id = Number(c.req.param('id'));
  if (!Number.isSafeInteger(id) || id <= 0) throw new PageError(404, 'error.notFound');
  return id;
};

export function registerInboxPages(web: Hono<WebEnv>) {
  web.get('/inbox', async (c) => {
    const person = requirePermission(c, 'inbox');
    const view: View = (VIEWS as readonly string[]).includes(c.req.query('view') ?? '') ? (c.req.query('view') as View) : person.roles.includes('retention') ? 'mine' : person.roles.includes('csm') ? 'accounts' : 'all';
    const webc = c.var.web;
    const tr = webc.tr;
    const { t } = tr;
    const canWork = may(person.roles, 'work_alerts');
    const [token, alerts, people, watch] = await Promise.all([
      inboxToken(c.var.db),
      inboxAlerts(c, view),
      canWork ? assignees(c) : Promise.resolve([]),
      Promise.all([budgetNow(c.var.db), listWatchList(c.var.db, 50)]).then(([budget, list]) => ({ budget, ...list })),
    ]);
    const zh = webc.locale !== 'en';
    const back = `/inbox?view=${view}`;
    const tomorrow = new Date(Date.now() + 86400e3).toISOString().slice(0, 10);
    return c.html(
      <Layout web={webc} title={t('inbox.title')} path="/inbox" live={`/live/inbox?since=${encodeURIComponent(token)}`} notice={noticeOf(c)}>
        <h1>{t('inbox.title')}</h1>
        <nav aria-label={t('inbox.views')} class="row">
          {VIEWS.map((v) => (
            <a href={`/inbox?view=${v}`} class={v === view ? 'button' : 'button secondary'} aria-current={v === view ? 'page' : undefined}>
              {t(`inbox.view.${v}` as MessageKey)}
            </a>
          ))}
        </nav>
        <section id="inbox-list" data-live-region class="panel" aria-label={t('inbox.title')}>
          <p class="muted" data-testid="inbox-count">
            {t('inbox.count', { n: alerts.length })}
          </p>
          <table>
            <thead>
              <tr>
                <th scope="col">{t('col.severity')}</th>
                <th scope="col">{t('col.account')}</th>
                <th scope="col">{t('col.rule')}</th>
                <th scope="col">{t('col.status')}</th>
                <th scope="col">{t('col.assignee')}</th>
                <th scope="col">{t('col.renewal')}</th>
                <th scope="col">{t('col.opened')}</th>
                {canWork ? <th scope="col">{t('col.actions')}</th> : null}
              </tr>
            </thead>
            <tbody>
              {alerts.length === 0 ? (
                <tr>
                  <td colspan={8} class="muted">
                    {t('inbox.empty')}
                  </td>
                </tr>
              ) : null}
              {alerts.map((a) => (
                <tr data-alert-id={String(a.id)}>
                  <td class={`sev-${a.severity}`}>{t(`severity.${a.severity}` as MessageKey)}</td>
                  <td>
                    <a href={`/accounts/${encodeURIComponent(a.account.externalId)}`}>{a.account.name}</a>
                    <div class="muted">{tr.money(a.arr, a.currency)}</div>
                  </td>
                  <td>
                    <span class="mono">{a.ruleKey}</span>
                    {a.reasons.length ? (
                      <div class="muted" lang={zh ? 'en' : undefined}>
                        {a.reasons.join('; ')}
                      </div>
                    ) : null}
                  </td>
                  <td>
                    {t(`alertStatus.${a.status}` as MessageKey)}
                    {a.snoozedUntil ? <div class="muted">{t('inbox.until', { date: tr.dateTime(a.snoozedUntil) })}</div> : null}
                  </td>
                  <td>{a.assignee ?? t('common.unassigned')}</td>
                  <td>{tr.date(a.renewalDate)}</td>
                  <td>{tr.dateTime(a.openedAt)}</td>
                  {canWork ? (
                    <td>
                      {a.status !== 'acknowledged' ? (
                        <form method="post" action={`/inbox/${a.id}/acknowledge`} class="row">
                          <CsrfField web={webc} />
                          <input type="hidden" name="back" value={back} />
                          <button type="submit" class="secondary">
                            {t('inbox.acknowledge')}
                          </button>
                        </form>
                      ) : null}
                      <details>
                        <summary>{t('inbox.more')}</summary>
                        <form method="post" action={`/inbox/${a.id}/snooze`} class="row">
                          <CsrfField web={webc} />
                          <input type="hidden" name="back" value={back} />
                          <label>
                            {t('inbox.snoozeUntil')} <input type="date" name="until" min={tomorrow} value={tomorrow} required />
                          </label>
                          <button type="submit" class="secondary">
                            {t('inbox.snooze')}
                          </button>
                        </form>
                        <form method="post" action={`/inbox/${a.id}/assign`} class="row">
                          <CsrfField web={webc} />
                          <input type="hidden" name="back" value={back} />
                          <label>
                            {t('col.assignee')}{' '}
                            <select name="assignee">
                              {people.map((p) => (
                                <option value={p} selected={p === a.assignee}>
                                  {p}
                                </option>
                              ))}
                            </select>
                          </label>
                          <button type="submit" class="secondary">
                            {t('inbox.assign')}
                          </button>
                        </form>
                        <form method="post" action={`/inbox/${a.id}/resolve`} class="row">
                          <CsrfField web={webc} />
                          <input type="hidden" name="back" value={back} />
                          <label>
                            {t('inbox.outcome')}{' '}
                            <select name="outcome">
                              {OUTCOMES.map((o) => (
                                <option value={o}>{t(`outcome.${o}` as MessageKey)}</option>
                              ))}
                            </select>
                          </label>
                          <label>
                            {t('inbox.note')} <input type="text" name="note" maxlength={1000} />
                          </label>
                          <button type="submit">{t('inbox.resolve')}</button>
                        </form>
                      </details>
                    </td>
                  ) : null}
                </tr>
              ))}
            </tbody>
          </table>
        </section>
        <section class="panel" aria-labelledby="watch-title" data-testid="watch-list">
          <h2 id="watch-title">{t('inbox.watch.title')}</h2>
          <p class="muted">
            {watch.budget.limit === null
              ? t('inbox.watch.noBudget')
              : t('inbox.watch.intro', { alerted: watch.budget.alertedAccounts, limit: watch.budget.limit, n: watch.total })}
          </p>
          {watch.items.length ? (
            <table>
              <thead>
                <tr>
                  <th scope="col">{t('col.account')}</th>
                  <th scope="col">{t('col.rule')}</th>
                  <th scope="col">{t('inbox.watch.loss')}</th>
                  <th scope="col">{t('inbox.watch.since')}</th>
                </tr>
              </thead>
              <tbody>
                {watch.items.map((w) => (
                  <tr>
                    <td>
                      <a href={`/accounts/${encodeURIComponent(w.account.externalId)}`}>{w.account.name}</a>
                    </td>
                    <td>
                      <span class="mono">{w.ruleKey}</span>
                      {w.reasons.length ? (
                        <div class="muted" lang={zh ? 'en' : undefined}>
                          {w.reasons.slice(0, 2).join('; ')}
                        </div>
                      ) : null}
                    </td>
                    <td>{tr.money(w.expectedLoss, null)}</td>
                    <td>{tr.dateTime(w.since)}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          ) : null}
        </section>
      </Layout>,
    );
  });

  const act = (name: string, run: (c: WebContextOf, id: number, form: Record<string, string>, actor: string) => Promise<unknown>) =>
    web.post(`/inbox/:id/${name}`, async (c) => {
      const person = requirePermission(c, 'work_alerts');
      const id = idParam(c);
      const form = await formOf(c);
      await run(c, id, form, person.email);
      const back = form.back && /^\/inbox\?view=(mine|pool|accounts|all)$/.test(form.back) ? form.back : '/inbox';
      return done(c, back, 'notice.alertUpdated');
    });

  act('acknowledge', (c, id, _f, actor) => acknowledgeAlert(c.var.db, id, actor));
  act('snooze', (c, id, form, actor) => {
    const until = z.iso.date().safeParse(form.until);
    const at = until.success ? new Date(`${until.data}T00:00:00Z`) : null;
    if (!at || at.getTime() <= Date.now()) throw new PageError(422, 'error.badRequest', c.var.web.tr.t('inbox.badDate'));
    return snoozeAlert(c.var.db, id, at, actor);
  });
  act('assign', (c, id, form, actor) => {
    const assignee = z.email().max(320).safeParse((form.assignee ?? '').trim().toLowerCase());
    if (!assignee.success) throw new PageError(422, 'error.badRequest');
    return assignAlert(c.var.db, id, assignee.data, actor);
  });
  act('resolve', (c, id, form, actor) => {
    const outcome = z.enum(OUTCOMES).safeParse(form.outcome);
    if (!outcome.success) throw new PageError(422, 'error.badRequest');
    const note = (form.note ?? '').trim().slice(0, 1000);
    return resolveAlert(c.var.db, id, outcome.data, note || undefined, actor);
  });
}
