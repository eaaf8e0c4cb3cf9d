/** @jsxImportSource hono/jsx */
import type { Hono } from 'hono';
import { toCsv } from '../http/csv.js';
import { noticeOf, requirePermission, type WebContextOf, type WebEnv } from '../web/context.js';
import { Layout } from '../web/layout.js';
import { type AuditFilter, listAudit } from './repository.js';
import { auditToJson, CSV_COLUMNS } from './routes.js';

const PAGE = 100;
const ACTOR_TYPES = ['person', 'key', 'system'] as const;

/** The page's filters from its query string; anything malformed is ignored, never an error. */
function filterOf(c: WebContextOf, limit: number): AuditFilter & { query: Record<string, string> } {
  const q = (name: string, max: number) => {
    const v = c.req.query(name)?.trim();
    return v && v.length <= max ? v : undefined;
  };
  const date = (name: string) => {
    const v = q(name, 40);
    const d = v ? new Date(v) : undefined;
    return d && !Number.isNaN(d.getTime()) ? d : undefined;
  };
  const actorType = ACTOR_TYPES.find((a) => a === c.req.query('actorType'));
  const after = Number(c.req.query('after'));
  const query = Object.fromEntries(
    (['actorType', 'actorId', 'action', 'targetType', 'targetId', 'from', 'to'] as const).flatMap((k) => {
      const v = q(k, 500);
      return v ? [[k, v]] : [];
    }),
  );
  return {
    actorType,
    actorId: q('actorId', 200),
    action: q('action', 100),
    targetType: q('targetType', 100),
    targetId: q('targetId', 500),
    from: date('from'),
    to: date('to'),
    afterId: Number.isSafeInteger(after) && after > 0 ? after : undefined,
    limit,
    query,
  };
}

const short = (value: unknown) => (value === null || value === undefined ? '—' : JSON.stringify(value).slice(0, 400));

/** /admin/audit (filters, pages, CSV of what the filters select). */
export function registerAuditPages(web: Hono<WebEnv>, options: { retentionDays: number }) {
  web.get('/admin/audit', async (c) => {
    requirePermission(c, 'admin');
    const webc = c.var.web;
    const tr = webc.tr;
    const { t } = tr;
    const filter = filterOf(c, PAGE);
    const page = await listAudit(c.var.db, filter);
    const qs = new URLSearchParams(filter.query).toString();
    return c.html(
      <Layout web={webc} title={t('audit.title')} path="/admin" notice={noticeOf(c)}>
        <p>
          <a href="/admin">← {t('admin.title')}</a>
        </p>
        <h1>{t('audit.title')}</h1>
        <p class="muted">{t('audit.help', { days: options.retentionDays })}</p>
        <form method="get" action="/admin/audit" class="row panel">
          <label>
            {t('audit.actorType')}{' '}
            <select name="actorType">
              <option value="">{t('common.all')}</option>
              {ACTOR_TYPES.map((a) => (
                <option value={a} selected={filter.actorType === a}>
                  {a}
                </option>
              ))}
            </select>
          </label>
          <label>
            {t('audit.action')} <input type="text" name="action" value={filter.query.action ?? ''} maxlength={100} />
          </label>
          <label>
            {t('audit.target')} <input type="text" name="targetType" value={filter.query.targetType ?? ''} maxlength={100} />
          </label>
          <label>
            ID <input type="text" name="targetId" value={filter.query.targetId ?? ''} maxlength={500} />
          </label>
          <label>
            {t('audit.when')} ≥ <input type="date" name="from" value={filter.query.from ?? ''} />
          </label>
          <label>
            {t('audit.when')} &lt; <input type="date" name="to" value={filter.query.to ?? ''} />
          </label>
          <button type="submit">{t('audit.filter')}</button>
          <a href={`/admin/audit.csv${qs ? `?${qs}` : ''}`} data-testid="audit-csv">
            {t('audit.csv')}
          </a>
        </form>
        <div class="panel">
          <table>
            <thead>
              <tr>
                <th scope="col">{t('audit.when')}</th>
                <th scope="col">{t('audit.who')}</th>
                <th scope="col">{t('audit.from')}</th>
                <th scope="col">{t('audit.action')}</th>
                <th scope="col">{t('audit.target')}</th>
                <th scope="col">{t('audit.change')}</th>
              </tr>
            </thead>
            <tbody>
              {page.items.length === 0 ? (
                <tr>
                  <td colspan={6} class="muted">
                    {t('audit.none')}
                  </td>
                </tr>
              ) : null}
              {page.items.map((e) => (
                <tr data-audit={e.action}>
                  <td>{tr.dateTime(e.at)}</td>
                  <td>
                    {e.actorType === 'system'
                      ? t('audit.system')
                      : e.actorType === 'person'
                        ? (e.actorName ?? t('audit.erasedPerson', { id: e.actorId ?? '?' }))
                        : `key ${e.actorName ?? ''} #${e.actorId}`}
                  </td>
                  <td class="mono">
                    {e.ip ?? '—'}
                    <div class="muted">{e.userAgent?.slice(0, 60) ?? ''}</div>
                  </td>
                  <td class="mono">{e.action}</td>
                  <td class="mono">
                    {e.targetType} {e.targetId ?? ''}
                  </td>
                  <td class="mono">
                    <div>{short(e.before)}</div>
                    <div>→ {short(e.after)}</div>
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
          {page.nextAfterId ? (
            <p class="pager">
              <a href={`/admin/audit?${new URLSearchParams({ ...filter.query, after: String(page.nextAfterId) }).toString()}`}>{t('common.nextPage')}</a>
            </p>
          ) : null}
        </div>
      </Layout>,
    );
  });

  web.get('/admin/audit.csv', async (c) => {
    requirePermission(c, 'admin');
    const rows = [];
    let afterId: number | undefined;
    // Everything the filters select, page by page (bounded by the retention).
    for (;;) {
      const page = await listAudit(c.var.db, { ...filterOf(c, 1000), afterId });
      rows.push(...page.items.map(auditToJson));
      if (!page.nextAfterId || rows.length >= 100_000) break;
      afterId = page.nextAfterId;
    }
    return c.body(toCsv(rows, CSV_COLUMNS), 200, {
      'content-type': 'text/csv; charset=utf-8',
      'content-disposition': 'attachment; filename="audit.csv"',
    });
  });
}
