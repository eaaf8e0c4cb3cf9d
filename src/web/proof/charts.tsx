/** @jsxImportSource hono/jsx */

/**
 * Small inline SVG charts for the proof pages: no script, no CDN, and no
 * inline styles (the pages' Content-Security-Policy forbids them), so colours
 * are presentation attributes. Each chart is an image with a label; the
 * figures it draws are also in a table beside it.
 */

const INK = '#334155';
const GRID = '#cbd5e1';
const LINE = '#1d4ed8';
const ACCENT = '#b45309';

const W = 320;
const H = 240;
const PAD = { left: 44, right: 12, top: 12, bottom: 40 };
const plotW = W - PAD.left - PAD.right;
const plotH = H - PAD.top - PAD.bottom;
const px = (x: number, max = 1) => PAD.left + (x / max) * plotW;
const py = (y: number, max = 1) => PAD.top + plotH - (y / max) * plotH;

function Axes({ xLabel, yLabel, xMax = 1, yMax = 1, format }: { xLabel: string; yLabel: string; xMax?: number; yMax?: number; format: (v: number) => string }) {
  const ticks = [0, 0.25, 0.5, 0.75, 1];
  return (
    <g>
      {ticks.map((t) => (
        <g>
          <line x1={px(t)} y1={PAD.top} x2={px(t)} y2={PAD.top + plotH} stroke={GRID} stroke-width="0.5" />
          <line x1={PAD.left} y1={py(t)} x2={PAD.left + plotW} y2={py(t)} stroke={GRID} stroke-width="0.5" />
          <text x={px(t)} y={PAD.top + plotH + 14} font-size="10" text-anchor="middle" fill={INK}>
            {format(t * xMax)}
          </text>
          <text x={PAD.left - 4} y={py(t) + 3} font-size="10" text-anchor="end" fill={INK}>
            {format(t * yMax)}
          </text>
        </g>
      ))}
      <text x={PAD.left + plotW / 2} y={H - 6} font-size="11" text-anchor="middle" fill={INK}>
        {xLabel}
      </text>
      <text x={12} y={PAD.top + plotH / 2} font-size="11" text-anchor="middle" fill={INK} transform={`rotate(-90 12 ${PAD.top + plotH / 2})`}>
        {yLabel}
      </text>
    </g>
  );
}

/** ROC curve with the chance diagonal. */
export function RocChart({ points, label, xLabel, yLabel }: { points: [number, number][]; label: string; xLabel: string; yLabel: string }) {
  const d = points.map(([x, y]) => `${px(x).toFixed(1)},${py(y).toFixed(1)}`).join(' ');
  return (
    <svg class="chart" viewBox={`0 0 ${W} ${H}`} role="img" aria-label={label} data-chart-kind="roc">
      <title>{label}</title>
      <Axes xLabel={xLabel} yLabel={yLabel} format={(v) => v.toFixed(2).replace(/\.?0+$/, '') || '0'} />
      <line x1={px(0)} y1={py(0)} x2={px(1)} y2={py(1)} stroke={INK} stroke-width="1" stroke-dasharray="4 3" />
      <polyline points={d} fill="none" stroke={LINE} stroke-width="2" />
    </svg>
  );
}

/** Predicted against observed churn, one dot per decile, with the line of perfect calibration. */
export function CalibrationChart({ points, label, xLabel, yLabel }: { points: { predicted: number; observed: number }[]; label: string; xLabel: string; yLabel: string }) {
  const max = Math.min(1, Math.max(0.1, ...points.flatMap((p) => [p.predicted, p.observed])) * 1.1);
  const pct = (v: number) => `${Math.round(v * 100)}%`;
  return (
    <svg class="chart" viewBox={`0 0 ${W} ${H}`} role="img" aria-label={label} data-chart-kind="calibration">
      <title>{label}</title>
      <Axes xLabel={xLabel} yLabel={yLabel} xMax={max} yMax={max} format={pct} />
      <line x1={px(0)} y1={py(0)} x2={px(1)} y2={py(1)} stroke={INK} stroke-width="1" stroke-dasharray="4 3" />
      <polyline points={points.map((p) => `${px(p.predicted, max).toFixed(1)},${py(p.observed, max).toFixed(1)}`).join(' ')} fill="none" stroke={LINE} stroke-width="1" />
      {points.map((p) => (
        <circle cx={px(p.predicted, max)} cy={py(p.observed, max)} r="4" fill={LINE} />
      ))}
    </svg>
  );
}

export interface Bar {
  label: string;
  value: number;
  color?: string;
  /** Text above the bar (default: the value formatted). */
  text?: string;
}

/** Vertical bars from zero; an optional reference line (e.g. the overall churn rate, or lift 1). */
export function BarChart({ bars, label, yLabel, format, reference }: { bars: Bar[]; label: string; yLabel: string; format: (v: number) => string; reference?: { value: number; label: string } }) {
  const max = Math.max(1e-9, ...bars.map((b) => b.value), reference?.value ?? 0) * 1.15;
  const slot = plotW / Math.max(1, bars.length);
  const width = Math.min(48, slot * 0.7);
  return (
    <svg class="chart" viewBox={`0 0 ${W} ${H}`} role="img" aria-label={label} data-chart-kind="bars">
      <title>{label}</title>
      <line x1={PAD.left} y1={py(0)} x2={PAD.left + plotW} y2={py(0)} stroke={INK} stroke-width="1" />
      <text x={12} y={PAD.top + plotH / 2} font-size="11" text-anchor="middle" fill={INK} transform={`rotate(-90 12 ${PAD.top + plotH / 2})`}>
        {yLabel}
      </text>
      {bars.map((b, i) => {
        const x = PAD.left + slot * i + (slot - width) / 2;
        const y = py(b.value, max);
        return (
          <g>
            <rect x={x} y={y} width={width} height={py(0) - y} fill={b.color ?? LINE} />
            <text x={x + width / 2} y={y - 3} font-size="10" text-anchor="middle" fill={INK}>
              {b.text ?? format(b.value)}
            </text>
            <text x={x + width / 2} y={PAD.top + plotH + 14} font-size="10" text-anchor="middle" fill={INK}>
              {b.label}
            </text>
          </g>
        );
      })}
      {reference ? (
        <g>
          <line x1={PAD.left} y1={py(reference.value, max)} x2={PAD.left + plotW} y2={py(reference.value, max)} stroke={ACCENT} stroke-width="1" stroke-dasharray="5 3" />
          <text x={PAD.left + 2} y={py(reference.value, max) - 3} font-size="10" text-anchor="start" fill={ACCENT}>
            {reference.label}
          </text>
        </g>
      ) : null}
    </svg>
  );
}

export const BAND_COLORS: Record<string, string> = { red: '#dc2626', yellow: '#ca8a04', green: '#16a34a' };

/** Each measure's own AUC as a bar from chance (0.5): right ranks as the scorecard assumes, left the other way. */
export function AucBars({ rows, label }: { rows: { name: string; auc: number | null }[]; label: string }) {
  const rowH = 18;
  const nameW = 270;
  const barW = 220;
  const height = rows.length * rowH + 24;
  const x = (auc: number) => nameW + ((auc - 0.2) / 0.8) * barW;
  return (
    <svg class="chart wide" viewBox={`0 0 ${nameW + barW + 50} ${height}`} role="img" aria-label={label} data-chart-kind="measure-auc">
      <title>{label}</title>
      {[0.3, 0.5, 0.7, 0.9].map((t) => (
        <g>
          <line x1={x(t)} y1={4} x2={x(t)} y2={height - 18} stroke={t === 0.5 ? INK : GRID} stroke-width={t === 0.5 ? 1 : 0.5} />
          <text x={x(t)} y={height - 4} font-size="10" text-anchor="middle" fill={INK}>
            {t.toFixed(1)}
          </text>
        </g>
      ))}
      {rows.map((r, i) => {
        const y = 6 + i * rowH;
        const auc = r.auc;
        return (
          <g>
            <text x={nameW - 6} y={y + 11} font-size="10" text-anchor="end" fill={INK}>
              {r.name}
            </text>
            {auc === null ? (
              <text x={x(0.5) + 4} y={y + 11} font-size="10" fill={INK}>
                —
              </text>
            ) : (
              <g>
                <rect x={Math.min(x(0.5), x(auc))} y={y + 2} width={Math.abs(x(auc) - x(0.5))} height={rowH - 6} fill={auc >= 0.5 ? LINE : ACCENT} />
                <text x={Math.max(x(0.5), x(auc)) + 4} y={y + 11} font-size="10" fill={INK}>
                  {auc.toFixed(2)}
                </text>
              </g>
            )}
          </g>
        );
      })}
    </svg>
  );
}
