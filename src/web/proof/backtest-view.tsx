/** @jsxImportSource hono/jsx */
import type { MessageKey, Translator } from '../../i18n/index.js';
import type { BacktestReport } from '../../proof/backtest.js';
import { AucBars, BAND_COLORS, BarChart, CalibrationChart, RocChart } from './charts.js';

/** A stored backtest report as the page reads it: reports stored before the pictures were added lack them. */
export type StoredBacktest = Omit<BacktestReport, 'roc' | 'deciles' | 'predictedBy'> & Partial<Pick<BacktestReport, 'roc' | 'deciles' | 'predictedBy'>>;

const fixed = (x: number | null | undefined, digits = 3) => (x === null || x === undefined ? '—' : x.toFixed(digits));

/** The headline figures of a backtest, as cards. */
export function BacktestFigures({ report, tr }: { report: StoredBacktest; tr: Translator }) {
  const { t } = tr;
  return (
    <section class="cards" aria-label={t('proof.figures')}>
      <div class="card">
        <div class="label">{t('proof.rocAuc')}</div>
        <div class="big" data-testid="roc-auc">
          {fixed(report.rocAuc)}
        </div>
        <div class="muted">{t('proof.interval', { low: fixed(report.rocAuc95.low), high: fixed(report.rocAuc95.high) })}</div>
      </div>
      <div class="card">
        <div class="label">{t('proof.outcomes')}</div>
        <div class="big">{tr.num(report.scored, 0)}</div>
        <div class="muted">{t('proof.churnedOf', { churned: tr.num(report.accountsChurned, 0), rate: tr.pct(report.churnRate) })}</div>
      </div>
      <div class="card">
        <div class="label">{t('proof.redVsGreen')}</div>
        <div class="big">{report.redVsGreenChurnRate === null ? '—' : `${tr.num(report.redVsGreenChurnRate)}×`}</div>
        <div class="muted">{t('proof.caught', { red: tr.pct(report.caught.red), redOrYellow: tr.pct(report.caught.redOrYellow) })}</div>
      </div>
      <div class="card">
        <div class="label">{t('proof.liftTop')}</div>
        <div class="big">{report.liftTopDecile === null ? '—' : `${tr.num(report.liftTopDecile)}×`}</div>
        <div class="muted">{t('proof.prAuc', { v: fixed(report.prAuc) })}</div>
      </div>
    </section>
  );
}

const DIRECTION_KEYS: Record<string, MessageKey> = {
  higher_goes_with_churn: 'proof.dir.higher',
  lower_goes_with_churn: 'proof.dir.lower',
  none: 'proof.dir.none',
  no_information: 'proof.dir.noInformation',
};

/** Everything a backtest shows: figures, ROC, calibration, bands, lift and each measure. */
export function BacktestView({ report, tr }: { report: StoredBacktest; tr: Translator }) {
  const { t } = tr;
  const bandName = (b: string) => t(`band.${b}` as MessageKey);
  const deciles = report.deciles ?? [];
  return (
    <div data-testid="backtest-report">
      <BacktestFigures report={report} tr={tr} />
      {report.scored === 0 ? <p class="muted">{t('proof.noOutcomes')}</p> : null}
      <div class="grid2">
        {report.roc && report.roc.length > 1 ? (
          <section class="panel" aria-labelledby="h-roc">
            <h2 id="h-roc">{t('proof.roc')}</h2>
            <RocChart points={report.roc} label={t('proof.rocLabel', { auc: fixed(report.rocAuc) })} xLabel={t('proof.fpr')} yLabel={t('proof.tpr')} />
            <p class="muted">{t('proof.rocHelp')}</p>
          </section>
        ) : null}
        {deciles.length > 0 ? (
          <section class="panel" aria-labelledby="h-calibration">
            <h2 id="h-calibration">{t('proof.calibration')}</h2>
            <CalibrationChart points={deciles} label={t('proof.calibrationLabel')} xLabel={t('proof.predicted')} yLabel={t('proof.observed')} />
            <p class="muted">{report.predictedBy === 'scorecard' ? t('proof.predictedByScorecard') : t('proof.predictedHere')}</p>
          </section>
        ) : null}
        <section class="panel" aria-labelledby="h-bands" tabindex={0}>
          <h2 id="h-bands">{t('proof.byBand')}</h2>
          <BarChart
            label={t('proof.churnByBandLabel')}
            yLabel={t('proof.churnRate')}
            format={(v) => tr.pct(v)}
            bars={report.bands.map((b) => ({ label: bandName(b.band), value: b.churnRate ?? 0, color: BAND_COLORS[b.band] }))}
            reference={report.churnRate === null ? undefined : { value: report.churnRate, label: t('proof.overall', { rate: tr.pct(report.churnRate) }) }}
          />
          <BarChart
            label={t('proof.arrByBandLabel')}
            yLabel={t('proof.arr')}
            format={(v) => tr.num(v / 1000, 0) + 'k'}
            bars={report.bands.map((b) => ({ label: bandName(b.band), value: b.arr, color: BAND_COLORS[b.band], text: `${tr.num(b.arr / 1000, 0)}k (${tr.pct(b.arr ? b.arrChurned / b.arr : 0)})` }))}
          />
          <table>
            <caption class="left">{t('proof.byBandCaption')}</caption>
            <thead>
              <tr>
                <th scope="col">{t('proof.band')}</th>
                <th scope="col" class="num">{t('proof.accounts')}</th>
                <th scope="col" class="num">{t('proof.churned')}</th>
                <th scope="col" class="num">{t('proof.churnRate')}</th>
                <th scope="col" class="num">{t('proof.arr')}</th>
                <th scope="col" class="num">{t('proof.arrLost')}</th>
              </tr>
            </thead>
            <tbody>
              {report.bands.map((b) => (
                <tr>
                  <td>
                    <span class={`band ${b.band}`}>{bandName(b.band)}</span>
                  </td>
                  <td class="num">{tr.num(b.accounts, 0)}</td>
                  <td class="num">{tr.num(b.churned, 0)}</td>
                  <td class="num">{tr.pct(b.churnRate)}</td>
                  <td class="num">{tr.num(b.arr, 0)}</td>
                  <td class="num">{tr.num(b.arrChurned, 0)}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </section>
        {deciles.length > 0 ? (
          <section class="panel" aria-labelledby="h-lift">
            <h2 id="h-lift">{t('proof.lift')}</h2>
            <BarChart
              label={t('proof.liftLabel')}
              yLabel={t('proof.liftAxis')}
              format={(v) => `${tr.num(v)}×`}
              bars={deciles.map((d) => ({ label: String(d.decile), value: d.lift }))}
              reference={{ value: 1, label: t('proof.chance') }}
            />
            <details>
              <summary>{t('proof.decileTable')}</summary>
              <table>
                <thead>
                  <tr>
                    <th scope="col" class="num">{t('proof.decile')}</th>
                    <th scope="col" class="num">{t('proof.scores')}</th>
                    <th scope="col" class="num">{t('proof.accounts')}</th>
                    <th scope="col" class="num">{t('proof.predicted')}</th>
                    <th scope="col" class="num">{t('proof.observed')}</th>
                    <th scope="col" class="num">{t('proof.liftAxis')}</th>
                  </tr>
                </thead>
                <tbody>
                  {deciles.map((d) => (
                    <tr>
                      <td class="num">{d.decile}</td>
                      <td class="num">{`${tr.num(d.minScore, 0)}–${tr.num(d.maxScore, 0)}`}</td>
                      <td class="num">{tr.num(d.accounts, 0)}</td>
                      <td class="num">{tr.pct(d.predicted)}</td>
                      <td class="num">{tr.pct(d.observed)}</td>
                      <td class="num">{tr.num(d.lift)}</td>
                    </tr>
                  ))}
                </tbody>
              </table>
            </details>
            <p class="muted">{t('proof.liftHelp')}</p>
          </section>
        ) : null}
      </div>
      <section class="panel" aria-labelledby="h-measures">
        <h2 id="h-measures">{t('proof.measures')}</h2>
        <AucBars rows={report.measures.map((m) => ({ name: m.label, auc: m.auc }))} label={t('proof.measuresLabel')} />
        <table>
          <thead>
            <tr>
              <th scope="col">{t('proof.measure')}</th>
              <th scope="col" class="num">{t('proof.weight')}</th>
              <th scope="col" class="num">{t('proof.auc')}</th>
              <th scope="col">{t('proof.direction')}</th>
              <th scope="col" class="num">{t('proof.coverage')}</th>
            </tr>
          </thead>
          <tbody>
            {report.measures.map((m) => (
              <tr>
                <td lang="en">{m.label}</td>
                <td class="num">{tr.num(m.weight)}</td>
                <td class="num">{fixed(m.auc)}</td>
                <td>{t(DIRECTION_KEYS[m.direction] ?? 'proof.dir.none')}</td>
                <td class="num">{tr.pct(m.coverage)}</td>
              </tr>
            ))}
          </tbody>
        </table>
        <p class="muted">{t('proof.measuresHelp')}</p>
      </section>
    </div>
  );
}
