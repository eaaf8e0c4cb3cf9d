/** @jsxImportSource hono/jsx */
import type { Child } from 'hono/jsx';
import type { Translator } from '../../i18n/index.js';
import { type StoredBacktest, BacktestView } from './backtest-view.js';

/** A stored fit report as the page reads it; anything beyond these fields (reference models, shapes) is shown as it comes. */
export interface StoredFit {
  fit: {
    observations?: number;
    churned?: number;
    measures?: { key: string; label?: string; feature?: string; weight?: number; direction?: string; auc?: number | null; coverage?: number | null }[];
    dropped?: { key: string; reason: string }[];
    validation?: {
      crossValidatedAuc?: { mean?: number | null; sd?: number | null; folds?: (number | null)[] };
      temporal?: { trainUntil?: string | null; trainAuc?: number | null; testAuc?: number | null; testObservations?: number; reason?: string | null };
      [other: string]: unknown;
    };
    [other: string]: unknown;
  };
  backtest?: StoredBacktest;
  /** The active scorecard's backtest on the same outcomes, when the fit was run from these pages. */
  active?: { scorecardId: number; version: number; backtest: StoredBacktest };
}

const fixed = (x: unknown, digits = 3) => (typeof x === 'number' && Number.isFinite(x) ? x.toFixed(digits) : '—');
const KNOWN = new Set(['observations', 'churned', 'measures', 'dropped', 'validation', 'calibration', 'bands', 'backtest']);
const humanize = (key: string) => key.replace(/([a-z])([A-Z])/g, '$1 $2').replace(/_/g, ' ');

/** Any JSON value as nested lists and tables, so fields a newer fit adds show without a change here. */
export function GenericValue({ value, depth = 0 }: { value: unknown; depth?: number }): Child {
  if (value === null || value === undefined) return <span class="muted">—</span>;
  if (typeof value === 'number') return <span class="mono">{Number.isInteger(value) ? String(value) : value.toFixed(4)}</span>;
  if (typeof value !== 'object') return <span lang="en">{String(value)}</span>;
  if (depth > 3) return <code>{JSON.stringify(value).slice(0, 300)}</code>;
  if (Array.isArray(value)) {
    if (value.length === 0) return <span class="muted">—</span>;
    const rows = value.slice(0, 40);
    if (rows.every((r) => r && typeof r === 'object' && !Array.isArray(r))) {
      const columns = [...new Set(rows.flatMap((r) => Object.keys(r as object)))].slice(0, 8);
      return (
        <table>
          <thead>
            <tr>
              {columns.map((c) => (
                <th scope="col" lang="en">
                  {humanize(c)}
                </th>
              ))}
            </tr>
          </thead>
          <tbody>
            {rows.map((r) => (
              <tr>
                {columns.map((c) => (
                  <td>
                    <GenericValue value={(r as Record<string, unknown>)[c]} depth={depth + 1} />
                  </td>
                ))}
              </tr>
            ))}
          </tbody>
        </table>
      );
    }
    return <code>{JSON.stringify(rows).slice(0, 300)}</code>;
  }
  return (
    <dl class="generic">
      {Object.entries(value as Record<string, unknown>).map(([k, v]) => (
        <div>
          <dt lang="en">{humanize(k)}</dt>
          <dd>
            <GenericValue value={v} depth={depth + 1} />
          </dd>
        </div>
      ))}
    </dl>
  );
}

/** Kept and dropped measures, validation, the comparison with the active scorecard, and the draft's own backtest. */
export function FitView({ report, tr, draft }: { report: StoredFit; tr: Translator; draft: { id: number; version: number } | null }) {
  const { t } = tr;
  const fit = report.fit;
  const cv = fit.validation?.crossValidatedAuc;
  const temporal = fit.validation?.temporal;
  const extra = Object.entries(fit).filter(([k]) => !KNOWN.has(k));
  const extraValidation = Object.entries(fit.validation ?? {}).filter(([k]) => k !== 'crossValidatedAuc' && k !== 'temporal');
  const fitted = report.backtest;
  const active = report.active;
  const row = (label: string, a: unknown, b: unknown, digits = 3, pct = false) => (
    <tr>
      <th scope="row">{label}</th>
      <td class="num">{pct ? tr.pct(a as number | null) : fixed(a, digits)}</td>
      <td class="num">{pct ? tr.pct(b as number | null) : fixed(b, digits)}</td>
    </tr>
  );
  return (
    <div data-testid="fit-report">
      <section class="cards" aria-label={t('proof.validation')}>
        <div class="card">
          <div class="label">{t('proof.cvAuc')}</div>
          <div class="big" data-testid="cv-auc">
            {fixed(cv?.mean)}
          </div>
          <div class="muted">{t('proof.cvHelp', { sd: fixed(cv?.sd), folds: cv?.folds?.length ?? 0 })}</div>
        </div>
        <div class="card">
          <div class="label">{t('proof.timeSplit')}</div>
          <div class="big">{fixed(temporal?.testAuc)}</div>
          <div class="muted">
            {temporal?.trainUntil
              ? t('proof.timeSplitHelp', { until: tr.date(temporal.trainUntil), n: tr.num(temporal.testObservations ?? 0, 0) })
              : (temporal?.reason ?? t('proof.timeSplitNone'))}
          </div>
        </div>
        <div class="card">
          <div class="label">{t('proof.outcomes')}</div>
          <div class="big">{tr.num(fit.observations ?? null, 0)}</div>
          <div class="muted">{t('proof.churnedCount', { n: tr.num(fit.churned ?? null, 0) })}</div>
        </div>
      </section>

      {active && fitted ? (
        <section class="panel" aria-labelledby="h-compare">
          <h2 id="h-compare">{t('proof.compareActive')}</h2>
          <table data-testid="fit-comparison">
            <thead>
              <tr>
                <th scope="col">{t('proof.figure')}</th>
                <th scope="col" class="num">{t('proof.activeVersion', { version: active.version })}</th>
                <th scope="col" class="num">{draft ? t('proof.draftVersion', { version: draft.version }) : t('proof.fitted')}</th>
              </tr>
            </thead>
            <tbody>
              {row(t('proof.rocAuc'), active.backtest.rocAuc, fitted.rocAuc)}
              {row(t('proof.prAucShort'), active.backtest.prAuc, fitted.prAuc)}
              {row(t('proof.redVsGreen'), active.backtest.redVsGreenChurnRate, fitted.redVsGreenChurnRate, 2)}
              {row(t('proof.caughtRed'), active.backtest.caught.red, fitted.caught.red, 0, true)}
              {row(t('proof.caughtRedOrYellow'), active.backtest.caught.redOrYellow, fitted.caught.redOrYellow, 0, true)}
              {row(t('proof.liftTop'), active.backtest.liftTopDecile, fitted.liftTopDecile, 2)}
            </tbody>
          </table>
          <p class="muted">{t('proof.compareActiveHelp')}</p>
        </section>
      ) : null}

      <section class="panel" aria-labelledby="h-kept">
        <h2 id="h-kept">{t('proof.kept')}</h2>
        <table data-testid="kept-measures">
          <thead>
            <tr>
              <th scope="col">{t('proof.measure')}</th>
              <th scope="col" class="num">{t('proof.weight')}</th>
              <th scope="col">{t('proof.direction')}</th>
              <th scope="col" class="num">{t('proof.auc')}</th>
              <th scope="col" class="num">{t('proof.coverage')}</th>
            </tr>
          </thead>
          <tbody>
            {(fit.measures ?? []).map((m) => (
              <tr>
                <td lang="en">{m.label ?? m.key}</td>
                <td class="num">{fixed(m.weight, 1)}</td>
                <td lang="en">{m.direction ? humanize(m.direction) : '—'}</td>
                <td class="num">{fixed(m.auc)}</td>
                <td class="num">{tr.pct(m.coverage ?? null)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </section>

      <section class="panel" aria-labelledby="h-dropped">
        <h2 id="h-dropped">{t('proof.dropped')}</h2>
        {(fit.dropped ?? []).length === 0 ? (
          <p class="muted">{t('proof.noneDropped')}</p>
        ) : (
          <table data-testid="dropped-measures">
            <thead>
              <tr>
                <th scope="col">{t('proof.measure')}</th>
                <th scope="col">{t('proof.reason')}</th>
              </tr>
            </thead>
            <tbody>
              {(fit.dropped ?? []).map((d) => (
                <tr>
                  <td class="mono">{d.key}</td>
                  <td lang="en">{d.reason}</td>
                </tr>
              ))}
            </tbody>
          </table>
        )}
        <p class="muted">{t('proof.droppedHelp')}</p>
      </section>

      {extra.length > 0 || extraValidation.length > 0 ? (
        <section class="panel" aria-labelledby="h-more">
          <h2 id="h-more">{t('proof.more')}</h2>
          <p class="muted">{t('proof.moreHelp')}</p>
          {[...extraValidation, ...extra].map(([k, v]) => (
            <details>
              <summary lang="en">{humanize(k)}</summary>
              <GenericValue value={v} />
            </details>
          ))}
        </section>
      ) : null}

      {fitted ? (
        <section aria-labelledby="h-fitted-backtest">
          <h2 id="h-fitted-backtest">{t('proof.fittedBacktest')}</h2>
          <BacktestView report={fitted} tr={tr} />
        </section>
      ) : null}
    </div>
  );
}
