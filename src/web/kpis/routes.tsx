/** @jsxImportSource hono/jsx */
import type { AlertPrecisionReport } from '../../alerts/precision.js';
import { listReports } from '../../proof/reports.js';
import type { Hono } from 'hono';
import { outcomeSummary } from '../../alerts/repository.js';
import type { MessageKey } from '../../i18n/index.js';
import { requirePermission, type WebEnv } from '../context.js';
import { BandBar, Layout } from '../layout.js';
import { alertOutcomesByPerson, bandsOverTime, followUpKpis, supportKpis, surveyKpis } from './queries.js';

const PERIODS = [7, 30, 90, 365] as const;

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
    const precision = await latestAlertPrecision(c.var.db);
    const teams = new Map<string, { done: number; on_time: number; overdue: number; escalated: number }>();
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
            <table>
              <thead>
                <tr>
                  <th scope="col">{t('col.assignee')}</th>
                  <th scope="col" class="num">{t('kpis.done')}</th>
                  <th scope="col" class="num">{t('kpis.onTime')}</th>
                  <th scope="col" class="num">{t('followUps.overdue')}</th>
                  <th scope="col" class="num">{t('kpis.escalated')}</th>
                </tr>
              </thead>
              <tbody>
                {followUps.map((f) => (
                  <tr>
                    <td>{f.assignee ?? t('common.unassigned')}</td>
                    <td class="num">{f.done}</td>
                    <td class="num">{share(f.on_time, f.done)}</td>
                    <td class="num">{f.overdue}</td>
                    <td class="num">{f.escalated}</td>
                  </tr>
                ))}
              </tbody>
            </table>
            <h2>{t('kpis.perTeam')}</h2>
            <table>
              <thead>
                <tr>
                  <th scope="col">{t('kpis.team')}</th>
                  <th scope="col" class="num">{t('kpis.done')}</th>
                  <th scope="col" class="num">{t('kpis.onTime')}</th>
                  <th scope="col" class="num">{t('followUps.overdue')}</th>
                  <th scope="col" class="num">{t('kpis.escalated')}</th>
                </tr>
              </thead>
              <tbody>
                {[...teams.entries()].map(([team, e]) => (
                  <tr>
                    <td>{team}</td>
                    <td class="num">{e.done}</td>
                    <td class="num">{share(e.on_time, e.done)}</td>
                    <td class="num">{e.overdue}</td>
                    <td class="num">{e.escalated}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          </section>
          <section class="panel" aria-labelledby="h-precision" data-testid="alert-precision">
            <h2 id="h-precision">{t('kpis.precision.title')}</h2>
            {precision ? (
              <>
                <p class="muted">{t('kpis.precision.intro', { date: tr.dateTime(precision.createdAt), n: precision.alerts.rulesAlone.observations })}</p>
                <table>
                  <thead>
                    <tr>
                      <th scope="col"></th>
                      <th scope="col">{t('kpis.precision.share')}</th>
                      <th scope="col">{t('kpis.precision.precision')}</th>
                      <th scope="col">{t('kpis.precision.recall')}</th>
                      <th scope="col">{t('kpis.precision.perWeek')}</th>
                    </tr>
                  </thead>
                  <tbody>
                    {(
                      [
                        ['kpis.precision.rulesAlone', precision.alerts.rulesAlone],
                        ['kpis.precision.withBudget', precision.alerts.withBudget],
                      ] as const
                    )
                      .filter(([, p]) => p !== null)
                      .map(([label, p]) => (
                        <tr>
                          <th scope="row">{t(label)}</th>
                          <td class="num">{p!.shareAlerted === null ? '—' : tr.pct(p!.shareAlerted)}</td>
                          <td class="num">{p!.precision === null ? '—' : tr.pct(p!.precision)}</td>
                          <td class="num">{p!.recall === null ? '—' : tr.pct(p!.recall)}</td>
                          <td class="num">{p!.alertsPerSpecialistPerWeek === null ? '—' : tr.num(p!.alertsPerSpecialistPerWeek)}</td>
                        </tr>
                      ))}
                  </tbody>
                </table>
              </>
            ) : (
              <p class="muted">{t('kpis.precision.none')}</p>
            )}
          </section>
          <section class="panel" aria-labelledby="h-outcomes">
            <h2 id="h-outcomes">{t('kpis.alertOutcomesPerRule')}</h2>
            <table>
              <thead>
                <tr>
                  <th scope="col">{t('col.rule')}</th>
                  <th scope="col" class="num">{t('kpis.open')}</th>
                  <th scope="col" class="num">{t('outcome.saved')}</th>
                  <th scope="col" class="num">{t('outcome.churned')}</th>
                  <th scope="col" class="num">{t('outcome.false_alarm')}</th>
                </tr>
              </thead>
              <tbody>
                {rules.map((r) => (
                  <tr>
                    <td class="mono">{r.ruleKey}</td>
                    <td class="num">{r.unresolved}</td>
                    <td class="num">{r.outcomes.saved}</td>
                    <td class="num">{r.outcomes.churned}</td>
                    <td class="num">{r.outcomes.false_alarm}</td>
                  </tr>
                ))}
              </tbody>
            </table>
            <h2>{t('kpis.alertOutcomesPerPerson')}</h2>
            <table>
              <thead>
                <tr>
                  <th scope="col">{t('col.person')}</th>
                  <th scope="col" class="num">{t('outcome.saved')}</th>
                  <th scope="col" class="num">{t('outcome.churned')}</th>
                  <th scope="col" class="num">{t('outcome.false_alarm')}</th>
                </tr>
              </thead>
              <tbody>
                {people.map((p) => (
                  <tr>
                    <td>{p.person}</td>
                    <td class="num">{p.saved}</td>
                    <td class="num">{p.churned}</td>
                    <td class="num">{p.false_alarm}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          </section>
        </div>
        <section class="panel" aria-labelledby="h-dist">
          <h2 id="h-dist">{t('kpis.scoreDistribution')}</h2>
          {bands.length ? (
            <table>
              <thead>
                <tr>
                  <th scope="col">{t('col.week')}</th>
                  <th scope="col">{t('portfolio.bandDistribution')}</th>
                  {(['red', 'yellow', 'green'] as const).map((b) => (
                    <th scope="col" class="num">
                      {t(`band.${b}` as MessageKey)}
                    </th>
                  ))}
                </tr>
              </thead>
              <tbody>
                {bands.map((w) => {
                  const total = Object.values(w.bands).reduce((a, b) => a + b, 0);
                  return (
                    <tr>
                      <td>{tr.date(w.day)}</td>
                      <td>
                        <BandBar bands={w.bands} total={total} label={`${t('band.red')} ${w.bands.red}, ${t('band.yellow')} ${w.bands.yellow}, ${t('band.green')} ${w.bands.green}`} />
                      </td>
                      <td class="num">{w.bands.red}</td>
                      <td class="num">{w.bands.yellow}</td>
                      <td class="num">{w.bands.green}</td>
                    </tr>
                  );
                })}
              </tbody>
            </table>
          ) : (
            <p class="muted">{t('account.noHistory')}</p>
          )}
        </section>
      </Layout>,
    );
  });
}

/** The alert rules' precision from the newest backtest that measured it (docs/alerts.md "Precision measured"). */
async function latestAlertPrecision(db: Parameters<typeof listReports>[0]) {
  for (const r of await listReports(db, 'backtest', 20)) {
    const alerts = (r.report as { alerts?: AlertPrecisionReport } | null)?.alerts;
    if (alerts) return { createdAt: r.createdAt, alerts };
  }
  return null;
}
