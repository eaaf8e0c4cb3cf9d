/** @jsxImportSource hono/jsx */
import type { Hono } from 'hono';
import { sqlState } from '../../db/errors.js';
import { inTransaction } from '../../db/transaction.js';
import type { MessageKey } from '../../i18n/index.js';
import { may } from '../../people/roles.js';
import { previewScorecard } from '../../scoring/preview.js';
import { scorecardDefinitionSchema } from '../../scoring/scorecard.js';
import { createScorecardSchema } from '../../scoring/schemas.js';
import { activateScorecard, createScorecardVersion, findScorecard, listScorecards, type Scorecard } from '../../scoring/scorecards.js';
import { done, formOf, noticeOf, PageError, requirePermission, type WebContextOf, type WebEnv } from '../context.js';
import { Band, CsrfField, Layout } from '../layout.js';
import { latestProposal, ProposalNotice } from '../proof/proposals.js';
import { listReports } from '../../proof/reports.js';
import { activationPage } from './activate.js';
import { comparePage } from './compare.js';
import { definitionFromFields, FieldEditor } from './editor.js';

type Preview = Awaited<ReturnType<typeof previewScorecard>>;

const idParam = (c: WebContextOf) => {
  const id = Number(c.req.param('id'));
  if (!Number.isSafeInteger(id) || id <= 0) throw new PageError(404, 'error.notFound');
  return id;
};

function parseDraft(form: Record<string, string>, base: Scorecard) {
  let definition: unknown;
  if (form.editor === 'fields') {
    let edited = base.definition;
    try {
      const sent = scorecardDefinitionSchema.safeParse(JSON.parse(form.base ?? 'null'));
      if (sent.success) edited = sent.data;
    } catch {
      // no readable base: the version's own definition
    }
    const read = definitionFromFields(edited, form);
    if ('errors' in read) return { error: read.errors.map((e) => (e.measure ? `${e.measure}: ${e.message}` : e.message)).join('; ') };
    definition = read.definition;
  } else {
    try {
      definition = JSON.parse(form.definition ?? '');
    } catch (err) {
      return { error: `JSON: ${(err as Error).message}` };
    }
  }
  const parsed = createScorecardSchema.safeParse({ segment: form.segment?.trim() ? form.segment.trim() : null, definition });
  if (!parsed.success) return { error: parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ') };
  return { draft: parsed.data };
}

type Reports = Awaited<ReturnType<typeof listReports>>;

function ScorecardPage({ c, card, text, preview, error, reports, draft }: { c: WebContextOf; card: Scorecard; text: string; preview?: Preview; error?: string; reports: Reports; draft?: Scorecard['definition'] }) {
  const webc = c.var.web;
  const tr = webc.tr;
  const { t } = tr;
  const canEdit = may(webc.person!.roles, 'edit_scorecards');
  return (
    <Layout web={webc} title={t('scorecards.version', { segment: card.segment ?? t('scorecards.default'), version: card.version })} path="/scorecards" notice={noticeOf(c)}>
      <p>
        <a href="/scorecards">← {t('scorecards.title')}</a>
      </p>
      <h1>{t('scorecards.version', { segment: card.segment ?? t('scorecards.default'), version: card.version })}</h1>
      <p class="muted">
        {card.active ? t('scorecards.active') : t('scorecards.draft')} · {t('scorecards.created', { date: tr.dateTime(card.createdAt) })}
      </p>
      {!card.active && canEdit ? (
        <p class="row">
          <a class="button" href={`/scorecards/${card.id}/activate`}>
            {t('scorecards.activate')}
          </a>
        </p>
      ) : null}
      <p class="row">
        <a href={`/scorecards/compare?b=${card.id}`}>{t('proof.compareVersions')}</a>
      </p>
      {error ? (
        <p class="error-box" role="alert">
          {error}
        </p>
      ) : null}
      <section class="panel" aria-labelledby="h-def">
        <h2 id="h-def">{t('scorecards.definition')}</h2>
        <FieldEditor web={webc} action={`/scorecards/${card.id}/draft`} definition={draft ?? card.definition} segment={card.segment} canEdit={canEdit} />
        <details open={text !== JSON.stringify(card.definition, null, 2) && !draft}>
          <summary>{t('scorecards.jsonEditor')}</summary>
          <form method="post" action={`/scorecards/${card.id}/draft`} class="stack wide">
            <CsrfField web={webc} />
            <input type="hidden" name="editor" value="json" />
            <label>
              {t('scorecards.segment')}
              <input type="text" name="segment" value={card.segment ?? ''} readonly={!canEdit} />
            </label>
            <label>
              {t('scorecards.json')}
              <textarea name="definition" spellcheck={false} readonly={!canEdit}>
                {text}
              </textarea>
            </label>
            <div class="row">
              <button type="submit" name="intent" value="preview" class="secondary">
                {t('scorecards.preview')}
              </button>
              {canEdit ? (
                <button type="submit" name="intent" value="save">
                  {t('scorecards.saveDraft')}
                </button>
              ) : null}
            </div>
          </form>
        </details>
      </section>
      {preview ? (
        <section class="panel" aria-labelledby="h-preview" data-testid="preview">
          <h2 id="h-preview">{t('scorecards.previewTitle')}</h2>
          <p>
            {t('scorecards.previewSummary', { accounts: tr.num(preview.accounts, 0), changes: tr.num(preview.bandChanges.total, 0), coverage: tr.pct(preview.averageCoverage) })}
          </p>
          <table>
            <thead>
              <tr>
                {(['red', 'yellow', 'green', 'none'] as const).map((b) => (
                  <th scope="col" class="num">
                    {t(`band.${b}` as MessageKey)}
                  </th>
                ))}
              </tr>
            </thead>
            <tbody>
              <tr>
                {(['red', 'yellow', 'green', 'none'] as const).map((b) => (
                  <td class="num">{preview.bands[b]}</td>
                ))}
              </tr>
            </tbody>
          </table>
          <h3>{t('scorecards.histogram')}</h3>
          <table>
            <thead>
              <tr>
                {preview.histogram.map((h) => (
                  <th scope="col" class="num">{`${h.from}–${h.to}`}</th>
                ))}
              </tr>
            </thead>
            <tbody>
              <tr>
                {preview.histogram.map((h) => (
                  <td class="num">{h.accounts}</td>
                ))}
              </tr>
            </tbody>
          </table>
          <h3>{t('scorecards.bandChanges')}</h3>
          <table>
            <thead>
              <tr>
                <th scope="col">{t('col.account')}</th>
                <th scope="col">{t('scorecards.now')}</th>
                <th scope="col">{t('scorecards.then')}</th>
                <th scope="col" class="num">{t('col.score')}</th>
              </tr>
            </thead>
            <tbody>
              {preview.bandChanges.items.slice(0, 50).map((ch) => (
                <tr>
                  <td>
                    <a href={`/accounts/${encodeURIComponent(ch.externalId)}`} class="mono">
                      {ch.externalId}
                    </a>
                  </td>
                  <td>
                    <Band band={ch.currentBand} web={webc} />
                  </td>
                  <td>
                    <Band band={ch.previewBand} web={webc} />
                  </td>
                  <td class="num">
                    {tr.num(ch.currentScore)} → {tr.num(ch.previewScore)}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </section>
      ) : null}
      <section class="panel" aria-labelledby="h-reports">
        <h2 id="h-reports">{t('scorecards.reports')}</h2>
        {reports.length === 0 ? (
          <p class="muted">{t('scorecards.noReports')}</p>
        ) : (
          <ul data-testid="version-reports">
            {reports.map((r) => {
              const body = r.report as { rocAuc?: number | null; backtest?: { rocAuc?: number | null } };
              const auc = (r.kind === 'fit' ? body.backtest?.rocAuc : body.rocAuc) ?? null;
              return (
                <li>
                  <a href={`/proof/reports/${r.id}`}>{t(r.kind === 'fit' ? 'proof.fitReport' : 'proof.backtestReport', { id: r.id })}</a>{' '}
                  <span class="muted">
                    {t('compare.aucOf', { auc: auc === null ? '—' : auc.toFixed(3), n: tr.num((r.report as { scored?: number; backtest?: { scored?: number } }).scored ?? (r.report as { backtest?: { scored?: number } }).backtest?.scored ?? 0, 0) })} · {tr.dateTime(r.createdAt)}
                  </span>
                </li>
              );
            })}
          </ul>
        )}
        <p>
          <a href="/proof">{t('scorecards.runBacktest')}</a>
        </p>
      </section>
    </Layout>
  );
}

/** The stored backtests and fits of one version, newest first. */
async function reportsOf(c: WebContextOf, scorecardId: number) {
  return (await listReports(c.var.db, undefined, 200)).filter((r) => r.scorecardId === scorecardId).slice(0, 10);
}

export function registerScorecardPages(web: Hono<WebEnv>) {
  web.get('/scorecards', async (c) => {
    requirePermission(c, 'scorecards');
    const webc = c.var.web;
    const tr = webc.tr;
    const { t } = tr;
    const [cards, proposal] = await Promise.all([listScorecards(c.var.db), latestProposal(c.var.db)]);
    return c.html(
      <Layout web={webc} title={t('scorecards.title')} path="/scorecards" notice={noticeOf(c)}>
        <h1>{t('scorecards.title')}</h1>
        <ProposalNotice proposal={proposal} tr={tr} />
        <p class="row">
          <a href="/proof">{t('scorecards.proofLink')}</a>
          <a href="/scorecards/compare">{t('proof.compareVersions')}</a>
        </p>
        <div class="panel">
          <table>
            <thead>
              <tr>
                <th scope="col">{t('scorecards.segment')}</th>
                <th scope="col" class="num">{t('scorecards.versionCol')}</th>
                <th scope="col">{t('col.name')}</th>
                <th scope="col">{t('col.status')}</th>
                <th scope="col">{t('scorecards.createdCol')}</th>
              </tr>
            </thead>
            <tbody>
              {cards.map((card) => (
                <tr>
                  <td>{card.segment ?? t('scorecards.default')}</td>
                  <td class="num">
                    <a href={`/scorecards/${card.id}`}>v{card.version}</a>
                  </td>
                  <td>{card.definition.name}</td>
                  <td>{card.active ? t('scorecards.active') : t('scorecards.draft')}</td>
                  <td>{tr.dateTime(card.createdAt)}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      </Layout>,
    );
  });

  web.get('/scorecards/compare', comparePage);

  web.get('/scorecards/:id', async (c) => {
    requirePermission(c, 'scorecards');
    const card = await findScorecard(c.var.db, idParam(c));
    if (!card) throw new PageError(404, 'error.notFound');
    return c.html(<ScorecardPage c={c} card={card} text={JSON.stringify(card.definition, null, 2)} reports={await reportsOf(c, card.id)} />);
  });

  web.get('/scorecards/:id/activate', activationPage);

  web.post('/scorecards/:id/draft', async (c) => {
    const person = requirePermission(c, 'scorecards');
    const card = await findScorecard(c.var.db, idParam(c));
    if (!card) throw new PageError(404, 'error.notFound');
    const form = await formOf(c);
    const parsed = parseDraft(form, card);
    const reports = await reportsOf(c, card.id);
    const text = form.editor === 'fields' ? JSON.stringify(parsed.draft?.definition ?? card.definition, null, 2) : (form.definition ?? '');
    if (!parsed.draft) return c.html(<ScorecardPage c={c} card={card} text={text} error={parsed.error} reports={reports} />, 422);
    if (form.intent === 'save') {
      if (!may(person.roles, 'edit_scorecards')) throw new PageError(403, 'error.forbidden');
      try {
        const created = await createScorecardVersion(c.var.db, parsed.draft.segment, parsed.draft.definition);
        return done(c, `/scorecards/${created.id}`, 'notice.scorecardSaved');
      } catch (err) {
        if (sqlState(err) === '23505') throw new PageError(409, 'error.conflict');
        throw err;
      }
    }
    const preview = await previewScorecard(c.var.db, parsed.draft.segment, parsed.draft.definition);
    return c.html(<ScorecardPage c={c} card={card} text={text} preview={preview} reports={reports} draft={form.editor === 'fields' ? parsed.draft.definition : undefined} />);
  });

  web.post('/scorecards/:id/activate', async (c) => {
    requirePermission(c, 'edit_scorecards');
    const id = idParam(c);
    // As POST /v1/scorecards/{id}/activate: activate, and the accounts it applies to are queued for rescoring.
    await inTransaction(c.var.db, async (trx) => {
      if (!(await activateScorecard(trx, id))) throw new PageError(404, 'error.notFound');
    });
    return done(c, `/scorecards/${id}`, 'notice.scorecardActivated');
  });
}
