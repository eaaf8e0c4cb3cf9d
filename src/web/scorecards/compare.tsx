/** @jsxImportSource hono/jsx */
import type { Context } from 'hono';
import { listReports } from '../../proof/reports.js';
import { measuresOf, type Mapping } from '../../scoring/scorecard.js';
import { findScorecard, listScorecards, type Scorecard } from '../../scoring/scorecards.js';
import { PageError, requirePermission, type WebEnv } from '../context.js';
import { Layout } from '../layout.js';

const mappingText = (m: Mapping | undefined) =>
  !m
    ? '—'
    : m.type === 'linear'
      ? m.points.map(([x, y]) => `${x}:${y}`).join(', ')
      : m.type === 'bands'
        ? m.bands.map((b) => `≥${b.min}:${b.score}`).join(', ')
        : m.type === 'percentile'
          ? `percentile (${m.higherIsBetter ? 'higher' : 'lower'} is better)`
          : JSON.stringify(m).slice(0, 80);

/** The newest backtest (or a fit's own backtest) of each version, for the headline figures. */
async function latestFigures(c: Context<WebEnv>, ids: number[]) {
  const reports = await listReports(c.var.db, undefined, 200);
  const out = new Map<number, { reportId: number; rocAuc: number | null; scored: number }>();
  for (const r of reports) {
    if (r.scorecardId === null || !ids.includes(r.scorecardId) || out.has(r.scorecardId)) continue;
    const body = r.report as { rocAuc?: number | null; scored?: number; backtest?: { rocAuc?: number | null; scored?: number } };
    const figures = r.kind === 'fit' ? body.backtest : body;
    if (figures) out.set(r.scorecardId, { reportId: r.id, rocAuc: figures.rocAuc ?? null, scored: figures.scored ?? 0 });
  }
  return out;
}

/** Two scorecard versions side by side: bands, every measure's weight and mapping, and their newest backtests. */
export async function comparePage(c: Context<WebEnv>) {
  requirePermission(c, 'scorecards');
  const webc = c.var.web;
  const tr = webc.tr;
  const { t } = tr;
  const cards = await listScorecards(c.var.db);
  const pick = (q: string | undefined, fallback: Scorecard | undefined) => {
    const id = Number(q);
    return Number.isSafeInteger(id) && id > 0 ? cards.find((x) => x.id === id) : fallback;
  };
  const a = pick(c.req.query('a'), cards.find((x) => x.active && x.segment === null));
  const b = pick(c.req.query('b'), cards.find((x) => x !== a));
  if ((c.req.query('a') && !a) || (c.req.query('b') && !b)) throw new PageError(404, 'error.notFound');
  const name = (x: Scorecard) => t('scorecards.version', { segment: x.segment ?? t('scorecards.default'), version: x.version });
  const both = [a, b].filter((x): x is Scorecard => x !== undefined);
  const full = await Promise.all(both.map((x) => findScorecard(c.var.db, x.id)));
  const [ma, mb] = full.map((x) => new Map(x ? measuresOf(x.definition).map((m) => [m.key, m]) : []));
  const keys = [...new Set([...(ma?.keys() ?? []), ...(mb?.keys() ?? [])])];
  const figures = await latestFigures(c, both.map((x) => x.id));
  const sumA = [...(ma?.values() ?? [])].reduce((s, m) => s + m.weight, 0);
  const sumB = [...(mb?.values() ?? [])].reduce((s, m) => s + m.weight, 0);
  const share = (w: number | undefined, sum: number) => (w === undefined || sum === 0 ? '—' : tr.pct(w / sum));
  return c.html(
    <Layout web={webc} title={t('compare.title')} path="/scorecards">
      <p>
        <a href="/scorecards">← {t('scorecards.title')}</a>
      </p>
      <h1>{t('compare.title')}</h1>
      <form method="get" action="/scorecards/compare" class="filters">
        {(['a', 'b'] as const).map((slot, i) => (
          <label>
            {t(slot === 'a' ? 'compare.left' : 'compare.right')}
            <select name={slot}>
              {cards.map((x) => (
                <option value={String(x.id)} selected={both[i]?.id === x.id}>
                  {`${name(x)} · ${x.active ? t('scorecards.active') : t('scorecards.draft')}`}
                </option>
              ))}
            </select>
          </label>
        ))}
        <button type="submit">{t('compare.show')}</button>
      </form>
      {a && b ? (
        <section class="panel" data-testid="compare">
          <table>
            <thead>
              <tr>
                <th scope="col">{t('proof.measure')}</th>
                <th scope="col">
                  <a href={`/scorecards/${a.id}`}>{name(a)}</a>
                </th>
                <th scope="col">
                  <a href={`/scorecards/${b.id}`}>{name(b)}</a>
                </th>
              </tr>
            </thead>
            <tbody>
              <tr>
                <th scope="row">{t('compare.status')}</th>
                <td>{a.active ? t('scorecards.active') : t('scorecards.draft')}</td>
                <td>{b.active ? t('scorecards.active') : t('scorecards.draft')}</td>
              </tr>
              <tr>
                <th scope="row">{t('compare.bands')}</th>
                <td>{t('compare.bandsText', { green: a.definition.bands.green, red: a.definition.bands.red })}</td>
                <td>{t('compare.bandsText', { green: b.definition.bands.green, red: b.definition.bands.red })}</td>
              </tr>
              <tr>
                <th scope="row">{t('compare.latestBacktest')}</th>
                {[a, b].map((x) => {
                  const f = figures.get(x.id);
                  return (
                    <td data-testid={`auc-${x.id}`}>
                      {f ? (
                        <a href={`/proof/reports/${f.reportId}`}>{t('compare.aucOf', { auc: f.rocAuc === null ? '—' : f.rocAuc.toFixed(3), n: tr.num(f.scored, 0) })}</a>
                      ) : (
                        <span class="muted">{t('compare.noBacktest')}</span>
                      )}
                    </td>
                  );
                })}
              </tr>
              {keys.map((k) => {
                const x = ma?.get(k);
                const y = mb?.get(k);
                const changed = JSON.stringify([x?.weight, x?.mapping]) !== JSON.stringify([y?.weight, y?.mapping]);
                return (
                  <tr class={changed ? 'changed' : undefined}>
                    <th scope="row" lang="en">
                      {(x ?? y)!.label}
                    </th>
                    {[
                      [x, sumA],
                      [y, sumB],
                    ].map(([m, sum]) => {
                      const measure = m as typeof x;
                      return measure ? (
                        <td>
                          <strong>{share(measure.weight, sum as number)}</strong> <span class="muted">({tr.num(measure.weight)})</span>
                          <div class="mono">{mappingText(measure.mapping)}</div>
                        </td>
                      ) : (
                        <td class="muted">{t('compare.absent')}</td>
                      );
                    })}
                  </tr>
                );
              })}
            </tbody>
          </table>
          <p class="muted">{t('compare.help')}</p>
        </section>
      ) : (
        <p class="muted">{t('compare.pickTwo')}</p>
      )}
    </Layout>,
  );
}
