/** @jsxImportSource hono/jsx */
import type { Hono } from 'hono';
import { sqlState } from '../../db/errors.js';
import { inTransaction } from '../../db/transaction.js';
import type { MessageKey } from '../../i18n/index.js';
import { may } from '../../people/roles.js';
import { previewScorecard } from '../../scoring/preview.js';
import { createScorecardSchema } from '../../scoring/schemas.js';
import { activateScorecard, createScorecardVersion, findScorecard, listScorecards, type Scorecard } from '../../scoring/scorecards.js';
import { done, formOf, noticeOf, PageError, requirePermission, type WebContextOf, type WebEnv } from '../context.js';
import { Band, CsrfField, Layout } from '../layout.js';
import { Table } from '../table.js';
import { ErrorBox } from '../forms.js';

type Preview = Awaited<ReturnType<typeof previewScorecard>>;

const idParam = (c: WebContextOf) => {
  const id = Number(c.req.param('id'));
  if (!Number.isSafeInteger(id) || id <= 0) throw new PageError(404, 'error.notFound');
  return id;
};

function parseDraft(form: Record<string, string>) {
  let definition: unknown;
  try {
    definition = JSON.parse(form.definition ?? '');
  } catch (err) {
    return { error: `JSON: ${(err as Error).message}` };
  }
  const parsed = createScorecardSchema.safeParse({ segment: form.segment?.trim() ? form.segment.trim() : null, definition });
  if (!parsed.success) return { error: parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ') };
  return { draft: parsed.data };
}

function ScorecardPage({ c, card, text, preview, error }: { c: WebContextOf; card: Scorecard; text: string; preview?: Preview; error?: string }) {
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
        <form method="post" action={`/scorecards/${card.id}/activate`} class="row" data-confirm={t('scorecards.activateConfirm')}>
          <CsrfField web={webc} />
          <button type="submit">{t('scorecards.activate')}</button>
        </form>
      ) : null}
      <ErrorBox error={error} />
      <section class="panel" aria-labelledby="h-def">
        <h2 id="h-def">{t('scorecards.definition')}</h2>
        <form method="post" action={`/scorecards/${card.id}/draft`} class="stack wide">
          <CsrfField web={webc} />
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
      <p class="muted">{t('scorecards.backtests')}</p>
    </Layout>
  );
}

export function registerScorecardPages(web: Hono<WebEnv>) {
  web.get('/scorecards', async (c) => {
    requirePermission(c, 'scorecards');
    const webc = c.var.web;
    const tr = webc.tr;
    const { t } = tr;
    const cards = await listScorecards(c.var.db);
    return c.html(
      <Layout web={webc} title={t('scorecards.title')} path="/scorecards" notice={noticeOf(c)}>
        <h1>{t('scorecards.title')}</h1>
        <div class="panel">
          <Table
            columns={[
              { header: t('scorecards.segment'), cell: (card) => card.segment ?? t('scorecards.default') },
              { header: t('scorecards.versionCol'), cell: (card) => <a href={`/scorecards/${card.id}`}>v{card.version}</a>, numeric: true },
              { header: t('col.name'), cell: (card) => card.definition.name },
              { header: t('col.status'), cell: (card) => card.active ? t('scorecards.active') : t('scorecards.draft') },
              { header: t('scorecards.createdCol'), cell: (card) => tr.dateTime(card.createdAt) },
            ]}
            rows={cards}
          />
        </div>
      </Layout>,
    );
  });

  web.get('/scorecards/:id', async (c) => {
    requirePermission(c, 'scorecards');
    const card = await findScorecard(c.var.db, idParam(c));
    if (!card) throw new PageError(404, 'error.notFound');
    return c.html(<ScorecardPage c={c} card={card} text={JSON.stringify(card.definition, null, 2)} />);
  });

  web.post('/scorecards/:id/draft', async (c) => {
    const person = requirePermission(c, 'scorecards');
    const card = await findScorecard(c.var.db, idParam(c));
    if (!card) throw new PageError(404, 'error.notFound');
    const form = await formOf(c);
    const parsed = parseDraft(form);
    if (!parsed.draft) return c.html(<ScorecardPage c={c} card={card} text={form.definition ?? ''} error={parsed.error} />, 422);
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
    return c.html(<ScorecardPage c={c} card={card} text={form.definition ?? ''} preview={preview} />);
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
