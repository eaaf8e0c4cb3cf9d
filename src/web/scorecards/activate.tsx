/** @jsxImportSource hono/jsx */
import type { Context } from 'hono';
import type { MessageKey } from '../../i18n/index.js';
import { previewScorecard } from '../../scoring/preview.js';
import { findScorecard } from '../../scoring/scorecards.js';
import { PageError, requirePermission, type WebEnv } from '../context.js';
import { Band, CsrfField, Layout } from '../layout.js';
import { GenericValue } from '../proof/fit-view.js';

type Preview = Awaited<ReturnType<typeof previewScorecard>>;
const KNOWN = new Set(['accounts', 'bands', 'histogram', 'averageCoverage', 'bandChanges']);

/** Counts of accounts that would move between bands: "from → to: n". */
function moves(preview: Preview) {
  const counts = new Map<string, number>();
  for (const ch of preview.bandChanges.items) {
    const key = `${ch.currentBand ?? 'none'}>${ch.previewBand ?? 'none'}`;
    counts.set(key, (counts.get(key) ?? 0) + 1);
  }
  return [...counts].sort((x, y) => y[1] - x[1]);
}

/**
 * Before a version is activated: what will change. The what-if preview of
 * this version against today's data: how many accounts change band and which,
 * and whatever else the preview reports (alerts that would open or close).
 */
export async function activationPage(c: Context<WebEnv>) {
  requirePermission(c, 'edit_scorecards');
  const id = Number(c.req.param('id'));
  if (!Number.isSafeInteger(id) || id <= 0) throw new PageError(404, 'error.notFound');
  const card = await findScorecard(c.var.db, id);
  if (!card) throw new PageError(404, 'error.notFound');
  const webc = c.var.web;
  const tr = webc.tr;
  const { t } = tr;
  const title = t('activate.title', { version: card.version });
  const preview = card.active ? null : await previewScorecard(c.var.db, card.segment, card.definition);
  const extra = preview ? Object.entries(preview).filter(([k]) => !KNOWN.has(k)) : [];
  const band = (b: string) => (b === 'none' ? t('band.none') : t(`band.${b}` as MessageKey));
  return c.html(
    <Layout web={webc} title={title} path="/scorecards">
      <p>
        <a href={`/scorecards/${card.id}`}>← {t('scorecards.version', { segment: card.segment ?? t('scorecards.default'), version: card.version })}</a>
      </p>
      <h1>{title}</h1>
      {!preview ? (
        <p>{t('activate.alreadyActive')}</p>
      ) : (
        <section class="panel" data-testid="activation" aria-labelledby="h-change">
          <h2 id="h-change">{t('activate.whatChanges')}</h2>
          <p data-testid="activation-summary">{t('activate.summary', { changes: tr.num(preview.bandChanges.total, 0), accounts: tr.num(preview.accounts, 0) })}</p>
          <ul>
            {moves(preview).map(([key, n]) => {
              const [from, to] = key.split('>') as [string, string];
              return <li>{t('activate.move', { from: band(from), to: band(to), n: tr.num(n, 0) })}</li>;
            })}
          </ul>
          {extra.map(([k, v]) => (
            <div data-testid={`activation-${k}`}>
              <h3 lang="en">{k.replace(/([a-z])([A-Z])/g, '$1 $2')}</h3>
              <GenericValue value={v} />
            </div>
          ))}
          {extra.length === 0 ? <p class="muted">{t('activate.noAlertPreview')}</p> : null}
          {preview.bandChanges.items.length > 0 ? (
            <details>
              <summary>{t('activate.accounts', { n: tr.num(Math.min(50, preview.bandChanges.items.length), 0) })}</summary>
              <table>
                <thead>
                  <tr>
                    <th scope="col">{t('col.account')}</th>
                    <th scope="col">{t('scorecards.now')}</th>
                    <th scope="col">{t('scorecards.then')}</th>
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
                    </tr>
                  ))}
                </tbody>
              </table>
            </details>
          ) : null}
          <form method="post" action={`/scorecards/${card.id}/activate`} class="row">
            <CsrfField web={webc} />
            <input type="hidden" name="confirmed" value="yes" />
            <button type="submit">{t('activate.confirm', { changes: tr.num(preview.bandChanges.total, 0) })}</button>
            <a href={`/scorecards/${card.id}`}>{t('activate.cancel')}</a>
          </form>
        </section>
      )}
    </Layout>,
  );
}
