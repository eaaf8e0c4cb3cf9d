/** @jsxImportSource hono/jsx */
import type { Hono } from 'hono';
import { inTransaction } from '../../db/transaction.js';
import { DomainError } from '../../http/problem.js';
import { may } from '../../people/roles.js';
import { runBacktest } from '../../proof/backtest.js';
import { fitScorecard } from '../../proof/fit.js';
import { findReport, listReports, saveReport } from '../../proof/reports.js';
import { activeScorecards, createScorecardVersion, ensureDefaultScorecard, findScorecard, listScorecards, type Scorecard } from '../../scoring/scorecards.js';
import { done, formOf, noticeOf, PageError, requirePermission, type WebContextOf, type WebEnv } from '../context.js';
import { CsrfField, Layout } from '../layout.js';
import { BacktestView, type StoredBacktest } from './backtest-view.js';
import { FitView, type StoredFit } from './fit-view.js';
import { latestProposal, ProposalNotice } from './proposals.js';

const DAY = /^\d{4}-\d{2}-\d{2}$/;

/** The backtest and fit window from a form: horizon 1–730 days, optional outcome dates; a message key otherwise. */
function windowOf(form: Record<string, string>): { horizonDays: number; from?: string; to?: string } | null {
  const horizonDays = Number(form.horizonDays ?? '90');
  const from = form.from?.trim() || undefined;
  const to = form.to?.trim() || undefined;
  if (!Number.isInteger(horizonDays) || horizonDays < 1 || horizonDays > 730) return null;
  for (const d of [from, to]) if (d !== undefined && (!DAY.test(d) || Number.isNaN(Date.parse(d)))) return null;
  if (from && to && from > to) return null;
  return { horizonDays, from, to };
}

const cardName = (c: WebContextOf, card: Pick<Scorecard, 'segment' | 'version'>) =>
  c.var.web.tr.t('scorecards.version', { segment: card.segment ?? c.var.web.tr.t('scorecards.default'), version: card.version });

function ProofHome({ c, cards, reports, error, proposal }: { c: WebContextOf; cards: Scorecard[]; reports: Awaited<ReturnType<typeof listReports>>; error?: string; proposal: Awaited<ReturnType<typeof latestProposal>> }) {
  const webc = c.var.web;
  const tr = webc.tr;
  const { t } = tr;
  const canFit = may(webc.person!.roles, 'edit_scorecards');
  const byId = new Map(cards.map((card) => [card.id, card]));
  return (
    <Layout web={webc} title={t('proof.title')} path="/proof" notice={noticeOf(c)}>
      <h1>{t('proof.title')}</h1>
      <p class="muted">{t('proof.intro')}</p>
      {error ? (
        <p class="error-box" role="alert">
          {error}
        </p>
      ) : null}
      <ProposalNotice proposal={proposal} tr={tr} />
      <div class="grid2">
        <section class="panel" aria-labelledby="h-run">
          <h2 id="h-run">{t('proof.runBacktest')}</h2>
          <form method="post" action="/proof/backtests" class="stack">
            <CsrfField web={webc} />
            <label>
              {t('proof.scorecard')}
              <select name="scorecardId">
                {cards.map((card) => (
                  <option value={String(card.id)} selected={card.active && card.segment === null}>
                    {`${cardName(c, card)} · ${card.active ? t('scorecards.active') : t('scorecards.draft')}`}
                  </option>
                ))}
              </select>
            </label>
            <WindowFields c={c} />
            <div class="row">
              <button type="submit">{t('proof.runBacktestButton')}</button>
            </div>
          </form>
        </section>
        {canFit ? (
          <section class="panel" aria-labelledby="h-fit">
            <h2 id="h-fit">{t('proof.runFit')}</h2>
            <p class="muted">{t('proof.runFitHelp')}</p>
            <form method="post" action="/proof/fits" class="stack">
              <CsrfField web={webc} />
              <WindowFields c={c} />
              <div class="row">
                <button type="submit">{t('proof.runFitButton')}</button>
              </div>
            </form>
          </section>
        ) : null}
      </div>
      <section class="panel" aria-labelledby="h-reports">
        <h2 id="h-reports">{t('proof.reports')}</h2>
        {reports.length === 0 ? (
          <p class="muted">{t('proof.noReports')}</p>
        ) : (
          <table data-testid="reports">
            <thead>
              <tr>
                <th scope="col">{t('proof.report')}</th>
                <th scope="col">{t('proof.scorecard')}</th>
                <th scope="col" class="num">{t('proof.horizon')}</th>
                <th scope="col" class="num">{t('proof.outcomes')}</th>
                <th scope="col" class="num">{t('proof.rocAuc')}</th>
                <th scope="col">{t('scorecards.createdCol')}</th>
              </tr>
            </thead>
            <tbody>
              {reports.map((r) => {
                const body = r.report as { rocAuc?: number | null; scored?: number; backtest?: { rocAuc?: number | null; scored?: number } };
                const figures = r.kind === 'fit' ? body.backtest : body;
                const card = r.scorecardId === null ? undefined : byId.get(r.scorecardId);
                const options = r.options as { horizonDays?: number };
                return (
                  <tr>
                    <td>
                      <a href={`/proof/reports/${r.id}`}>{t(r.kind === 'fit' ? 'proof.fitReport' : 'proof.backtestReport', { id: r.id })}</a>
                    </td>
                    <td>{card ? cardName(c, card) : t('proof.draftDefinition')}</td>
                    <td class="num">{options.horizonDays ?? '—'}</td>
                    <td class="num">{tr.num(figures?.scored ?? null, 0)}</td>
                    <td class="num">{typeof figures?.rocAuc === 'number' ? figures.rocAuc.toFixed(3) : '—'}</td>
                    <td>{tr.dateTime(r.createdAt)}</td>
                  </tr>
                );
              })}
            </tbody>
          </table>
        )}
      </section>
    </Layout>
  );
}

function WindowFields({ c }: { c: WebContextOf }) {
  const { t } = c.var.web.tr;
  return (
    <>
      <label>
        {t('proof.horizonLabel')}
        <input type="number" name="horizonDays" value="90" min="1" max="730" required />
      </label>
      <label>
        {t('proof.from')}
        <input type="date" name="from" />
      </label>
      <label>
        {t('proof.to')}
        <input type="date" name="to" />
      </label>
    </>
  );
}

async function homePage(c: WebContextOf, error?: string, status: 200 | 422 = 200) {
  await ensureDefaultScorecard(c.var.db);
  const [cards, reports, proposal] = await Promise.all([listScorecards(c.var.db), listReports(c.var.db, undefined, 30), latestProposal(c.var.db)]);
  return c.html(<ProofHome c={c} cards={cards} reports={reports} error={error} proposal={proposal} />, status);
}

export function registerProofPages(web: Hono<WebEnv>) {
  web.get('/proof', async (c) => {
    requirePermission(c, 'proof');
    return homePage(c);
  });

  web.post('/proof/backtests', async (c) => {
    requirePermission(c, 'proof');
    const form = await formOf(c);
    const window = windowOf(form);
    if (!window) return homePage(c, c.var.web.tr.t('proof.badWindow'), 422);
    const id = Number(form.scorecardId);
    const card = Number.isSafeInteger(id) && id > 0 ? await findScorecard(c.var.db, id) : undefined;
    if (!card) throw new PageError(404, 'error.notFound');
    const report = await runBacktest(c.var.db, card.definition, window);
    const options = { horizonDays: window.horizonDays, from: window.from ?? null, to: window.to ?? null };
    const stored = await saveReport(c.var.db, { kind: 'backtest', scorecardId: card.id, definition: card.definition, options, report });
    return done(c, `/proof/reports/${stored.id}`, 'notice.backtestDone');
  });

  web.post('/proof/fits', async (c) => {
    requirePermission(c, 'edit_scorecards');
    const form = await formOf(c);
    const window = windowOf(form);
    if (!window) return homePage(c, c.var.web.tr.t('proof.badWindow'), 422);
    await ensureDefaultScorecard(c.var.db);
    let fitted: Awaited<ReturnType<typeof fitScorecard>>;
    try {
      fitted = await fitScorecard(c.var.db, window);
    } catch (err) {
      if (err instanceof DomainError && err.code === 'unprocessable') return homePage(c, err.detail, 422);
      throw err;
    }
    // The active scorecard on the same outcomes, so the page can compare the two.
    const active = (await activeScorecards(c.var.db)).find((s) => s.segment === null)!;
    const activeBacktest = await runBacktest(c.var.db, active.definition, window);
    const options = { horizonDays: window.horizonDays, from: window.from ?? null, to: window.to ?? null, segment: null };
    const stored = await inTransaction(c.var.db, async (trx) => {
      const created = await createScorecardVersion(trx, null, fitted.definition);
      return saveReport(trx, {
        kind: 'fit',
        scorecardId: created.id,
        definition: fitted.definition,
        options,
        report: { fit: fitted.result, backtest: fitted.backtest, active: { scorecardId: active.id, version: active.version, backtest: activeBacktest } },
      });
    });
    return done(c, `/proof/reports/${stored.id}`, 'notice.fitDone');
  });

  web.get('/proof/reports/:id', async (c) => {
    requirePermission(c, 'proof');
    const id = Number(c.req.param('id'));
    if (!Number.isSafeInteger(id) || id <= 0) throw new PageError(404, 'error.notFound');
    const stored = await findReport(c.var.db, id);
    if (!stored) throw new PageError(404, 'error.notFound');
    const webc = c.var.web;
    const tr = webc.tr;
    const { t } = tr;
    const card = stored.scorecardId === null ? undefined : await findScorecard(c.var.db, stored.scorecardId);
    const options = stored.options as { horizonDays?: number; from?: string | null; to?: string | null };
    const title = t(stored.kind === 'fit' ? 'proof.fitReport' : 'proof.backtestReport', { id: stored.id });
    const canEdit = may(webc.person!.roles, 'edit_scorecards');
    return c.html(
      <Layout web={webc} title={title} path="/proof" notice={noticeOf(c)}>
        <p>
          <a href="/proof">← {t('proof.title')}</a>
        </p>
        <h1>{title}</h1>
        <p class="muted">
          {card ? (
            <a href={`/scorecards/${card.id}`}>{cardName(c, card)}</a>
          ) : (
            t('proof.draftDefinition')
          )}
          {' · '}
          {t('proof.window', {
            horizon: options.horizonDays ?? 90,
            from: options.from ? tr.date(options.from) : t('proof.firstOutcome'),
            to: options.to ? tr.date(options.to) : t('proof.lastOutcome'),
          })}
          {' · '}
          {tr.dateTime(stored.createdAt)}
        </p>
        {stored.kind === 'fit' && card && !card.active && canEdit ? (
          <p class="row">
            <a class="button" href={`/scorecards/${card.id}/activate`}>
              {t('proof.reviewActivation')}
            </a>
            <a class="button secondary" href={`/scorecards/compare?a=${(stored.report as StoredFit).active?.scorecardId ?? ''}&b=${card.id}`}>
              {t('proof.compareVersions')}
            </a>
          </p>
        ) : null}
        {stored.kind === 'fit' ? (
          <FitView report={stored.report as StoredFit} tr={tr} draft={card ? { id: card.id, version: card.version } : null} />
        ) : (
          <BacktestView report={stored.report as StoredBacktest} tr={tr} />
        )}
      </Layout>,
    );
  });
}
