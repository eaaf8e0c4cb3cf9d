/** @jsxImportSource hono/jsx */
import type { Hono } from 'hono';
import { z } from 'zod';
import type { MessageKey } from '../../i18n/index.js';
import { noticeOf, requirePermission, type WebContextOf, type WebEnv } from '../context.js';
import { csvLine } from '../../http/csv.js';
import { lagTolerantRead } from '../../http/read-routing.js';
import { Band, BandBar, Layout, Pager, Sparkline } from '../layout.js';
import { BANDS, decodePortfolioCursor, type PortfolioFilter, portfolioPage, portfolioSummary, SORTS, segmentsAndOwners } from './queries.js';

const querySchema = z.object({
  q: z.string().trim().max(100).optional().catch(undefined),
  band: z.enum(BANDS).optional().catch(undefined),
  segment: z.string().max(100).optional().catch(undefined),
  owner: z.string().max(320).optional().catch(undefined),
  sort: z.enum(SORTS).default('score').catch('score'),
  after: z.string().max(500).optional().catch(undefined),
});

export const PAGE_SIZE = 50;

/** The filter of the query string; a CSM sees their own accounts unless they pick another owner (or all). */
function filterOf(c: WebContextOf) {
  const person = requirePermission(c, 'portfolio');
  const query = querySchema.parse(c.req.query());
  const owner = query.owner === undefined ? (person.roles.includes('csm') ? person.email : '') : query.owner;
  const filter: PortfolioFilter = { q: query.q || undefined, band: query.band, segment: query.segment || undefined, owner: owner || undefined, sort: query.sort };
  return { query, filter, owner };
}

export function registerPortfolioPages(web: Hono<WebEnv>) {
  web.get('/portfolio', async (c) => {
    const { query, filter, owner } = filterOf(c);
    const webc = c.var.web;
    const tr = webc.tr;
    const { t } = tr;
    const [page, summary, choices] = await lagTolerantRead(c, (db) =>
      Promise.all([portfolioPage(db, filter, decodePortfolioCursor(query.after), PAGE_SIZE), portfolioSummary(db, filter), segmentsAndOwners(db)]),
    );
    const params = new URLSearchParams();
    for (const [k, v] of Object.entries({ q: filter.q, band: filter.band, segment: filter.segment, owner, sort: filter.sort })) if (v !== undefined) params.set(k, v);
    const nextUrl = page.next ? `/portfolio?${params}&after=${encodeURIComponent(page.next)}` : null;
    const own = filter.owner === webc.person!.email;
    return c.html(
      <Layout web={webc} title={t(own ? 'portfolio.titleMine' : 'portfolio.title')} path="/portfolio" notice={noticeOf(c)}>
        <h1>{t(own ? 'portfolio.titleMine' : 'portfolio.title')}</h1>
        <section class="cards" aria-label={t('portfolio.summary')}>
          <div class="card">
            <div class="label">{t('portfolio.accounts')}</div>
            <div class="big">{tr.num(summary.total, 0)}</div>
          </div>
          <div class="card">
            <div class="label">{t('portfolio.redAccounts')}</div>
            <div class="big">{tr.num(summary.bands.red, 0)}</div>
          </div>
          <div class="card">
            <div class="label">{t('portfolio.arrAtRisk')}</div>
            <div class="big">{summary.atRisk.length ? tr.money(summary.atRisk[0]![1], summary.atRisk[0]![0]) : tr.money(0, 'USD')}</div>
            {summary.atRisk.slice(1).map(([cur, v]) => (
              <div class="muted">{tr.money(v, cur)}</div>
            ))}
          </div>
          <div class="card">
            <div class="label">{t('portfolio.bandDistribution')}</div>
            <BandBar bands={summary.bands} total={summary.total} label={BANDS.map((b) => `${t(`band.${b}` as MessageKey)} ${summary.bands[b]}`).join(', ')} />
            <div class="muted">
              {BANDS.map((b) => `${t(`band.${b}` as MessageKey)} ${tr.num(summary.bands[b] ?? 0, 0)}`).join(' · ')}
            </div>
          </div>
        </section>
        <form method="get" action="/portfolio" class="filters" role="search">
          <label>
            {t('portfolio.search')}
            <input type="search" name="q" value={filter.q ?? ''} />
          </label>
          <label>
            {t('portfolio.band')}
            <select name="band">
              <option value="">{t('common.all')}</option>
              {BANDS.map((b) => (
                <option value={b} selected={filter.band === b}>
                  {t(`band.${b}` as MessageKey)}
                </option>
              ))}
            </select>
          </label>
          <label>
            {t('portfolio.segment')}
            <select name="segment">
              <option value="">{t('common.all')}</option>
              {choices.segments.map((s) => (
                <option value={s} selected={filter.segment === s}>
                  {s}
                </option>
              ))}
            </select>
          </label>
          <label>
            {t('portfolio.owner')}
            <select name="owner">
              <option value="">{t('common.all')}</option>
              {[...new Set([webc.person!.email, ...choices.owners])].map((o) => (
                <option value={o} selected={filter.owner === o}>
                  {o}
                </option>
              ))}
            </select>
          </label>
          <label>
            {t('portfolio.sort')}
            <select name="sort">
              {SORTS.map((s) => (
                <option value={s} selected={filter.sort === s}>
                  {t(`portfolio.sort.${s}` as MessageKey)}
                </option>
              ))}
            </select>
          </label>
          <button type="submit">{t('common.apply')}</button>
          <a class="button secondary" href={`/portfolio.csv?${params}`} download>
            {t('portfolio.export')}
          </a>
        </form>
        <div class="panel">
          <table>
            <caption class="muted left">
              {t('portfolio.caption')}
            </caption>
            <thead>
              <tr>
                <th scope="col">{t('col.account')}</th>
                <th scope="col">{t('col.segment')}</th>
                {filter.owner ? null : <th scope="col">{t('col.owner')}</th>}
                <th scope="col" class="num">{t('col.arr')}</th>
                <th scope="col" class="num">{t('col.score')}</th>
                <th scope="col">{t('col.band')}</th>
                <th scope="col" class="num">{t('col.trend7')}</th>
                <th scope="col" class="num">{t('col.trend30')}</th>
                <th scope="col">{t('col.spark')}</th>
                <th scope="col" class="num">{t('col.coverage')}</th>
                <th scope="col">{t('col.renewal')}</th>
                <th scope="col" class="num">{t('col.openAlerts')}</th>
                <th scope="col">{t('col.nextFollowUp')}</th>
              </tr>
            </thead>
            <tbody>
              {page.items.length === 0 ? (
                <tr>
                  <td colspan={filter.owner ? 12 : 13} class="muted">
                    {t('portfolio.empty')}
                  </td>
                </tr>
              ) : null}
              {page.items.map((r) => (
                <tr>
                  <td>
                    <a href={`/accounts/${encodeURIComponent(r.external_id)}`}>{r.name}</a>
                    <div class="muted mono">{r.external_id}</div>
                  </td>
                  <td>{r.segment ?? '—'}</td>
                  {filter.owner ? null : <td class="small">{r.owner ?? '—'}</td>}
                  <td class="num">{tr.money(r.arr, r.currency)}</td>
                  <td class="num">{tr.num(r.score)}</td>
                  <td>
                    <Band band={r.band} web={webc} />
                  </td>
                  <td class="num">{tr.delta(r.trend7)}</td>
                  <td class="num">{tr.delta(r.trend30)}</td>
                  <td>
                    <Sparkline points={r.spark} label={t('col.sparkLabel', { name: r.name })} />
                  </td>
                  <td class="num">{tr.pct(r.coverage)}</td>
                  <td class="nowrap">{tr.date(r.renewal_date)}</td>
                  <td class="num">{r.openAlerts}</td>
                  <td class="nowrap">{tr.date(r.nextFollowUp)}</td>
                </tr>
              ))}
            </tbody>
          </table>
          <Pager next={nextUrl} label={t('common.nextPage')} />
        </div>
      </Layout>,
    );
  });

  web.get('/portfolio.csv', async (c) => {
    const { filter } = filterOf(c);
    const lines = [csvLine(['externalId', 'name', 'segment', 'owner', 'arr', 'currency', 'score', 'band', 'trend7', 'trend30', 'coverage', 'renewalDate', 'openAlerts', 'nextFollowUp'])];
    await lagTolerantRead(c, async (db) => {
      lines.length = 1; // a replica failing halfway: the primary writes the whole file again
      let after: [number | string, number] | undefined;
      for (let pages = 0; pages < 100; pages++) {
        const page = await portfolioPage(db, filter, after, 1000);
        for (const r of page.items) {
          lines.push(csvLine([r.external_id, r.name, r.segment, r.owner, r.arr, r.currency, r.score, r.band, r.trend7, r.trend30, r.coverage, r.renewal_date, r.openAlerts, r.nextFollowUp]));
        }
        if (!page.next) break;
        const last = page.items.at(-1)!;
        after = [last.sort_value, last.id];
      }
    });
    return c.body(lines.join(''), 200, {
      'content-type': 'text/csv; charset=utf-8',
      'content-disposition': 'attachment; filename="portfolio.csv"',
    });
  });
}
