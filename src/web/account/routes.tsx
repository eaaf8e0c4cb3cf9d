/** @jsxImportSource hono/jsx */
import type { Hono } from 'hono';
import { z } from 'zod';
import { findAccount } from '../../accounts/repository.js';
import { listAlerts } from '../../alerts/repository.js';
import { inTransaction } from '../../db/transaction.js';
import { listFollowUps } from '../../follow-ups/repository.js';
import type { MessageKey } from '../../i18n/index.js';
import { may } from '../../people/roles.js';
import { addPulse, getHealth, getHealthHistory } from '../../scoring/health.js';
import { recompute } from '../../scoring/recompute.js';
import { done, formOf, noticeOf, PageError, requirePermission, type WebContextOf, type WebEnv } from '../context.js';
import { Band, CsrfField, Layout } from '../layout.js';
import { accountToken } from '../live/routes.js';
import { freshness, timeline, usageByMetric } from './queries.js';

const pulseForm = z.object({
  adjustment: z.coerce.number().int().min(-50).max(50).refine((n) => n !== 0),
  reason: z.string().trim().min(1).max(1000),
  expiresOn: z.iso.date(),
});

async function accountOr404(c: WebContextOf) {
  const account = await findAccount(c.var.db, c.req.param('externalId') ?? '');
  if (!account) throw new PageError(404, 'error.notFound');
  const row = await c.var.db.selectFrom('accounts').select('id').where('external_id', '=', account.externalId).executeTakeFirstOrThrow();
  return { account, id: row.id };
}

export function registerAccountPages(web: Hono<WebEnv>) {
  web.get('/accounts/:externalId', async (c) => {
    const person = requirePermission(c, 'account');
    const { account, id } = await accountOr404(c);
    const webc = c.var.web;
    const tr = webc.tr;
    const { t } = tr;
    const now = new Date();
    const [token, health, history, fresh, events, usage, alerts, followUps] = await Promise.all([
      accountToken(c.var.db, id),
      getHealth(c.var.db, id, webc.locale),
      getHealthHistory(c.var.db, id, new Date(now.getTime() - 90 * 86400e3), now, webc.locale),
      freshness(c.var.db, id),
      timeline(c.var.db, id),
      usageByMetric(c.var.db, id),
      listAlerts(c.var.db, { account: account.externalId, status: ['open', 'acknowledged', 'snoozed'], limit: 20 }),
      listFollowUps(c.var.db, { accountExternalId: account.externalId, status: ['scheduled'], limit: 20 }),
    ]);
    const daily = history.filter((h) => h.reason === 'daily');
    // One point per daily snapshot, then the current score (unless a snapshot already has it).
    const points = daily.map((h) => [Math.floor(Date.parse(h.takenAt) / 1000), h.score] as const);
    const nowPoint = health ? ([Math.floor(Date.parse(health.updatedAt) / 1000), health.score] as const) : undefined;
    if (nowPoint && (points.length === 0 || nowPoint[0] > points.at(-1)![0] + 60)) points.push(nowPoint);
    else if (nowPoint && points.length) points[points.length - 1] = [points.at(-1)![0], nowPoint[1]];
    const nowS = Math.floor(now.getTime() / 1000);
    const lastBackfilled = daily.filter((h) => h.backfilled).at(-1)?.day ?? null;
    // What moved the score: the last week's attribution, beside the last 30 days' (each day's changes added up).
    const monthAgo = now.getTime() - 30 * 86400e3;
    const month = new Map<string, { label: string; month: number }>();
    for (const item of history) {
      if (Date.parse(item.takenAt) < monthAgo) continue;
      for (const ch of item.changes) {
        const seen = month.get(ch.key) ?? { label: ch.label, month: 0 };
        seen.month += ch.delta;
        month.set(ch.key, seen);
      }
    }
    const week = new Map((health?.attribution?.changes ?? []).map((ch) => [ch.key, ch] as const));
    const moved = [...new Set([...month.keys(), ...week.keys()])]
      .map((key) => ({
        key,
        label: week.get(key)?.label ?? month.get(key)!.label,
        week: week.get(key)?.delta ?? (health?.attribution ? 0 : null),
        month: Math.round((month.get(key)?.month ?? 0) * 100) / 100,
      }))
      .filter((m) => m.month !== 0 || (m.week ?? 0) !== 0)
      .sort((a, b) => Math.abs(b.month) - Math.abs(a.month) || Math.abs(b.week ?? 0) - Math.abs(a.week ?? 0))
      .slice(0, 8);
    const bandChanges = history
      .filter((h) => h.reason === 'band_change')
      .reverse()
      .slice(0, 8);
    const chart = { label: t('account.score'), x: points.map((p) => p[0]), y: points.map((p) => p[1]), from: nowS - 90 * 86400, to: nowS + 3600 };
    const zh = webc.locale !== 'en';
    const sources: [MessageKey, Date | string | null][] = [
      ['source.usage', fresh.usage],
      ['source.tickets', fresh.tickets],
      ['source.nps', fresh.nps],
      ['source.csat', fresh.csat],
      ['source.contracts', fresh.contracts],
    ];
    const defaultExpiry = new Date(now.getTime() + 30 * 86400e3).toISOString().slice(0, 10);
    return c.html(
      <Layout web={webc} title={account.name} path={c.req.path} live={`/live/accounts/${encodeURIComponent(account.externalId)}?since=${encodeURIComponent(token)}`} chart notice={noticeOf(c)}>
        <h1>{account.name}</h1>
        <p class="muted">
          <span class="mono">{account.externalId}</span> · {t('col.segment')}: {account.segment ?? '—'} · {t('col.owner')}: {account.owner ?? '—'} · {t('col.arr')}:{' '}
          {tr.money(account.arr, account.currency)} · {t('col.renewal')}: {tr.date(account.renewalDate)}
        </p>
        <section id="score-panel" data-live-region class="cards" aria-label={t('account.health')}>
          <div class="card">
            <div class="label">{t('account.score')}</div>
            <div class="big" data-testid="score">
              {tr.num(health?.score ?? null)}
            </div>
            <Band band={health?.band ?? null} web={webc} />
          </div>
          <div class="card">
            <div class="label">{t('col.trend7')}</div>
            <div class="big">{tr.delta(health?.trend.days7)}</div>
            <div class="muted">
              {t('col.trend30')}: {tr.delta(health?.trend.days30)}
            </div>
          </div>
          <div class="card">
            <div class="label">{t('col.coverage')}</div>
            <div class="big">{tr.pct(health?.coverage ?? null)}</div>
            <div class="muted">{health ? t('account.scorecard', { name: health.scorecard.name ?? '', version: health.scorecard.version }) : t('account.notScored')}</div>
          </div>
          <div class="card">
            <div class="label">{t('account.pulse')}</div>
            {health?.pulse ? (
              <div>
                <div class="big">{tr.delta(health.pulse.adjustment)}</div>
                <div class="muted">
                  {health.pulse.reason} · {t('account.until', { date: tr.date(health.pulse.expiresAt) })}
                </div>
              </div>
            ) : (
              <div class="big muted">—</div>
            )}
          </div>
        </section>

        <div class="grid2">
          <section class="panel" id="history-panel" data-live-region aria-labelledby="h-history">
            <h2 id="h-history">{t('account.history')}</h2>
            {chart.x.length > 0 ? (
              <div class="chart" data-chart={JSON.stringify(chart)} role="img" aria-label={t('account.historyLabel', { n: chart.x.length })}></div>
            ) : (
              <p class="muted">{t('account.noHistory')}</p>
            )}
            {lastBackfilled ? <p class="muted">{t('account.backfilledNote', { date: tr.date(lastBackfilled) })}</p> : null}
          </section>
          <section class="panel" aria-labelledby="h-moved" id="moved-panel" data-live-region>
            <h2 id="h-moved">{t('account.whatMoved')}</h2>
            {moved.length ? (
              <table>
                <thead>
                  <tr>
                    <th scope="col">{t('col.measure')}</th>
                    <th scope="col" class="num">{t('account.moved7')}</th>
                    <th scope="col" class="num">{t('account.moved30')}</th>
                  </tr>
                </thead>
                <tbody>
                  {moved.map((m) => (
                    <tr>
                      <td>{m.label}</td>
                      <td class="num">{m.week === null ? '—' : tr.delta(m.week)}</td>
                      <td class="num">{tr.delta(m.month)}</td>
                    </tr>
                  ))}
                </tbody>
              </table>
            ) : (
              <p class="muted">{t('account.nothingMoved')}</p>
            )}
            <h3 id="h-band-changes">{t('account.bandChanges')}</h3>
            {bandChanges.length ? (
              <ul class="timeline" aria-labelledby="h-band-changes">
                {bandChanges.map((b) => (
                  <li>
                    {tr.date(b.day)}: <Band band={b.previousBand} web={webc} /> → <Band band={b.band} web={webc} />{' '}
                    <span class="muted">{t('account.bandChangeScore', { score: tr.num(b.score) })}</span>
                  </li>
                ))}
              </ul>
            ) : (
              <p class="muted">{t('account.noBandChanges')}</p>
            )}
          </section>
        </div>

        <section class="panel" id="measures-panel" data-live-region aria-labelledby="h-measures">
          <h2 id="h-measures">{t('account.measures')}</h2>
          {health ? (
            <table>
              <thead>
                <tr>
                  <th scope="col">{t('col.measure')}</th>
                  <th scope="col">{t('col.explanation')}</th>
                  <th scope="col" class="num">{t('col.subScore')}</th>
                  <th scope="col" class="num">{t('col.weight')}</th>
                  <th scope="col" class="num">{t('col.points')}</th>
                </tr>
              </thead>
              <tbody>
                {health.explanation.map((m) => (
                  <tr>
                    <td>
                      {m.label} <span class="tag">{m.group}</span>
                    </td>
                    <td>{m.sentence}</td>
                    <td class="num">{tr.num(m.subScore)}</td>
                    <td class="num">{tr.num(m.weight, 2)}</td>
                    <td class="num">{tr.num(m.points)}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          ) : (
            <p class="muted">{t('account.notScored')}</p>
          )}
        </section>

        <div class="grid2">
          <section class="panel" id="alerts-panel" data-live-region aria-labelledby="h-alerts">
            <h2 id="h-alerts">{t('account.openAlerts')}</h2>
            {alerts.items.length ? (
              <ul class="timeline">
                {alerts.items.map((a) => (
                  <li>
                    <span class={`sev-${a.severity}`}>{t(`severity.${a.severity}` as MessageKey)}</span> · {a.ruleKey} · {t(`alertStatus.${a.status}` as MessageKey)} ·{' '}
                    {tr.dateTime(a.openedAt)}
                    {a.reasons.length ? <div class="muted" lang={zh ? 'en' : undefined}>{a.reasons.join('; ')}</div> : null}
                  </li>
                ))}
              </ul>
            ) : (
              <p class="muted">{t('account.noAlerts')}</p>
            )}
          </section>
          <section class="panel" id="followups-panel" data-live-region aria-labelledby="h-followups">
            <h2 id="h-followups">{t('account.followUps')}</h2>
            {followUps.items.length ? (
              <ul class="timeline">
                {followUps.items.map((f) => (
                  <li>
                    <span class="tag">{t(`kind.${f.kind}` as MessageKey)}</span>
                    {f.title} · {tr.dateTime(f.due_at)} · {f.assignee ?? t('common.unassigned')}
                  </li>
                ))}
              </ul>
            ) : (
              <p class="muted">{t('account.noFollowUps')}</p>
            )}
          </section>
        </div>

        <div class="grid2">
          <section class="panel" aria-labelledby="h-coverage">
            <h2 id="h-coverage">{t('account.freshness')}</h2>
            <table>
              <thead>
                <tr>
                  <th scope="col">{t('col.source')}</th>
                  <th scope="col">{t('col.lastData')}</th>
                </tr>
              </thead>
              <tbody>
                {sources.map(([label, at]) => (
                  <tr>
                    <td>{t(label)}</td>
                    <td>{at ? tr.date(at) : t('account.noData')}</td>
                  </tr>
                ))}
              </tbody>
            </table>
            <h2>{t('account.usage')}</h2>
            {usage.length ? (
              <table>
                <thead>
                  <tr>
                    <th scope="col">{t('col.metric')}</th>
                    <th scope="col" class="num">{t('col.last30')}</th>
                    <th scope="col" class="num">{t('col.prev30')}</th>
                    <th scope="col" class="num">{t('col.activeUsers')}</th>
                  </tr>
                </thead>
                <tbody>
                  {usage.map((u) => (
                    <tr>
                      <td class="mono">{u.metric}</td>
                      <td class="num">{tr.num(u.recent, 0)}</td>
                      <td class="num">{tr.num(u.previous, 0)}</td>
                      <td class="num">{tr.num(u.users, 0)}</td>
                    </tr>
                  ))}
                </tbody>
              </table>
            ) : (
              <p class="muted">{t('account.noData')}</p>
            )}
          </section>
          <section class="panel" aria-labelledby="h-timeline">
            <h2 id="h-timeline">{t('account.timeline')}</h2>
            {events.length ? (
              <ul class="timeline">
                {events.map((e) => (
                  <li>
                    <span class="tag">{t(`timeline.${e.kind}` as MessageKey)}</span>
                    {tr.date(e.at)} · <span lang={zh ? 'en' : undefined}>{e.title}</span>
                    {e.detail ? <div class="muted" lang={zh ? 'en' : undefined}>{e.detail}</div> : null}
                  </li>
                ))}
              </ul>
            ) : (
              <p class="muted">{t('account.noData')}</p>
            )}
          </section>
        </div>

        {may(person.roles, 'pulse') ? (
          <section class="panel" aria-labelledby="h-pulse">
            <h2 id="h-pulse">{t('account.addPulse')}</h2>
            <p class="muted">{t('account.pulseHelp')}</p>
            <form method="post" action={`/accounts/${encodeURIComponent(account.externalId)}/pulse`} class="row">
              <CsrfField web={webc} />
              <label>
                {t('account.adjustment')} <input type="number" name="adjustment" min={-50} max={50} step={1} required value="-10" />
              </label>
              <label>
                {t('account.reason')} <input type="text" name="reason" maxlength={1000} required size={40} />
              </label>
              <label>
                {t('account.expiresOn')} <input type="date" name="expiresOn" required value={defaultExpiry} />
              </label>
              <button type="submit">{t('account.addPulseSubmit')}</button>
            </form>
          </section>
        ) : null}
      </Layout>,
    );
  });

  web.post('/accounts/:externalId/pulse', async (c) => {
    const person = requirePermission(c, 'pulse');
    const { account, id } = await accountOr404(c);
    const parsed = pulseForm.safeParse(await formOf(c));
    if (!parsed.success) throw new PageError(422, 'error.badRequest', c.var.web.tr.t('account.pulseInvalid'));
    const expiresAt = new Date(`${parsed.data.expiresOn}T23:59:59Z`);
    if (expiresAt.getTime() <= Date.now() || expiresAt.getTime() > Date.now() + 366 * 86400e3) {
      throw new PageError(422, 'error.badRequest', c.var.web.tr.t('account.pulseInvalid'));
    }
    await inTransaction(c.var.db, async (trx) => {
      await addPulse(trx, id, { adjustment: parsed.data.adjustment, reason: parsed.data.reason, author: person.email, expiresAt: expiresAt.toISOString() });
      await recompute(trx, { accountIds: [id], after: c.var.afterScoring });
    });
    return done(c, `/accounts/${encodeURIComponent(account.externalId)}`, 'notice.pulseAdded');
  });
}
