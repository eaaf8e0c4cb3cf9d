/** @jsxImportSource hono/jsx */
import type { Hono } from 'hono';
import { outcomeSummary } from '../../alerts/repository.js';
import type { MessageKey } from '../../i18n/index.js';
import { requirePermission, type WebEnv } from '../context.js';
import { BandBar, Layout } from '../layout.js';
import { type Column, Table } from '../table.js';
import { alertOutcomesByPerson, bandsOverTime, followUpKpis, supportKpis, surveyKpis } from './queries.js';

const PERIODS = [7, 30, 90, 365] as const;

type FollowUpCounts = { done: number; on_time: number; overdue: number; escalated: number };

export function registerKpiPages(web: Hono<WebEnv>) {
  web.get('/kpis', async (c) => {
    requirePermission(c, 'kpis');
    const webc = c.var.web;
    const tr = webc.tr;
    const { t } = tr;
    const days = PERIODS.find((p) => String(p) === c.req.query('days')) ?? 30;
    const since = new Date(Date.now() - days * 86400e3);
    const [support, surveys, followUps, rules, people, bands] = await Promise.all([
      supportKpis(c.var.db, since),
      surveyKpis(c.var.db, since),
      followUpKpis(c.var.db, since),
      outcomeSummary(c.var.db, since),
      alertOutcomesByPerson(c.var.db, since),
      bandsOverTime(c.var.db, 12),
    ]);
    const teams = new Map<string, FollowUpCounts>();
    for (const f of followUps) {
      const key = f.team ?? t('kpis.noTeam');
      const e = teams.get(key) ?? { done: 0, on_time: 0, overdue: 0, escalated: 0 };
      e.done += f.done;
      e.on_time += f.on_time;
      e.overdue += f.overdue;
      e.escalated += f.escalated;
      teams.set(key, e);
    }
    const hours = (h: number | null) => (h === null ? '—' : t('kpis.hours', { n: tr.num(h) }));
    const share = (n: number, of: number) => (of ? tr.pct(n / of) : '—');
    const followUpColumns: Column<FollowUpCounts>[] = [
      { header: t('kpis.done'), cell: (e) => e.done, numeric: true },
      { header: t('kpis.onTime'), cell: (e) => share(e.on_time, e.done), numeric: true },
      { header: t('followUps.overdue'), cell: (e) => e.overdue, numeric: true },
      { header: t('kpis.escalated'), cell: (e) => e.escalated, numeric: true },
    ];
    const outcomeColumns: Column<Record<'saved' | 'churned' | 'false_alarm', number>>[] = (['saved', 'churned', 'false_alarm'] as const).map((o) => ({
      header: t(`outcome.${o}`),
      cell: (counts) => counts[o],
      numeric: true,
    }));
    return c.html(
      <Layout web={webc} title={t('kpis.title')} path="/kpis">
        <h1>{t('kpis.title')}</h1>
        <form method="get" action="/kpis" class="filters">
          <label>
            {t('kpis.period')}
            <select name="days">
              {PERIODS.map((p) => (
                <option value={String(p)} selected={p === days}>
                  {t('kpis.lastDays', { n: p })}
                </option>
              ))}
            </select>
          </label>
          <button type="submit">{t('common.apply')}</button>
        </form>
        <section class="cards" aria-label={t('kpis.support')}>
          <div class="card">
            <div class="label">{t('kpis.firstResponse')}</div>
            <div class="big">{hours(support.frt_p50)}</div>
            <div class="muted">{t('kpis.p90', { v: hours(support.frt_p90) })}</div>
          </div>
          <div class="card">
            <div class="label">{t('kpis.resolution')}</div>
            <div class="big">{hours(support.res_p50)}</div>
            <div class="muted">{t('kpis.p90', { v: hours(support.res_p90) })}</div>
          </div>
          <div class="card">
            <div class="label">{t('kpis.withinSla')}</div>
            <div class="big">{share(support.opened - support.sla_breached, support.opened)}</div>
            <div class="muted">{t('kpis.tickets', { n: tr.num(support.opened, 0) })}</div>
          </div>
          <div class="card">
            <div class="label">{t('kpis.satisfaction')}</div>
            <div class="big">{share(support.good, support.rated)}</div>
            <div class="muted">
              {t('kpis.csat', { v: tr.num(surveys.csat) })} · NPS {tr.num(surveys.nps, 0)}
            </div>
          </div>
          <div class="card">
            <div class="label">{t('kpis.complaints')}</div>
            <div class="big">{tr.num(support.escalated, 0)}</div>
            <div class="muted">{t('kpis.detractors', { n: surveys.detractors })}</div>
          </div>
        </section>

        <div class="grid2">
          <section class="panel" aria-labelledby="h-fu-person">
            <h2 id="h-fu-person">{t('kpis.followUpsPerPerson')}</h2>
            <Table columns={[{ header: t('col.assignee'), cell: (f) => f.assignee ?? t('common.unassigned') }, ...followUpColumns]} rows={followUps} />
            <h2>{t('kpis.perTeam')}</h2>
            <Table columns={[{ header: t('kpis.team'), cell: ([team]) => team }, ...followUpColumns.map((col) => ({ ...col, cell: ([, e]: [string, FollowUpCounts]) => col.cell(e) }))]} rows={[...teams.entries()]} />
          </section>
          <section class="panel" aria-labelledby="h-outcomes">
            <h2 id="h-outcomes">{t('kpis.alertOutcomesPerRule')}</h2>
            <Table
              columns={[
                { header: t('col.rule'), cell: (r) => r.ruleKey, class: 'mono' },
                { header: t('kpis.open'), cell: (r) => r.unresolved, numeric: true },
                ...outcomeColumns.map((col) => ({ ...col, cell: (r: (typeof rules)[number]) => col.cell(r.outcomes) })),
              ]}
              rows={rules}
            />
            <h2>{t('kpis.alertOutcomesPerPerson')}</h2>
            <Table columns={[{ header: t('col.person'), cell: (p) => p.person }, ...outcomeColumns]} rows={people} />
          </section>
        </div>
        <section class="panel" aria-labelledby="h-dist">
          <h2 id="h-dist">{t('kpis.scoreDistribution')}</h2>
          <Table
            columns={[
              { header: t('col.week'), cell: (w) => tr.date(w.day) },
              {
                header: t('portfolio.bandDistribution'),
                cell: (w) => (
                  <BandBar
                    bands={w.bands}
                    total={Object.values(w.bands).reduce((a, b) => a + b, 0)}
                    label={`${t('band.red')} ${w.bands.red}, ${t('band.yellow')} ${w.bands.yellow}, ${t('band.green')} ${w.bands.green}`}
                  />
                ),
              },
              ...(['red', 'yellow', 'green'] as const).map((b) => ({ header: t(`band.${b}` as MessageKey), cell: (w: (typeof bands)[number]) => w.bands[b], numeric: true })),
            ]}
            rows={bands}
            empty={<p class="muted">{t('account.noHistory')}</p>}
          />
        </section>
      </Layout>,
    );
  });
}
