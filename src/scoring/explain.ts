import { type Locale, translator } from '../i18n/index.js';
import { explanationSentence, measureLabel, missingSentence, noInformationSentence } from '../i18n/explanations.js';
import { FEATURES } from './features.js';
import { MEASURE_STATUS } from './model.js';
import type { ScorecardDefinition } from './scorecard.js';
import { connectionOf, measuresOf } from './scorecard.js';

/** The stored result of a scoring: per-measure raw values, sub-scores and statuses in scorecard order. */
export interface StoredScore {
  score: number | null;
  raw: (number | null)[];
  sub: (number | null)[];
  /** MEASURE_STATUS per measure; empty for scores stored before statuses were kept. */
  status?: number[];
  pulse: number | null;
}

export type MeasureState = 'ok' | 'missing' | 'no_information';
export type MissingReason = 'not_connected' | 'stale' | 'no_value';
const REASONS: Record<number, MissingReason> = {
  [MEASURE_STATUS.notConnected]: 'not_connected',
  [MEASURE_STATUS.stale]: 'stale',
  [MEASURE_STATUS.noValue]: 'no_value',
};

export interface MeasureExplanation {
  key: string;
  label: string;
  group: string;
  raw: number | null;
  subScore: number | null;
  /** The configured weight. */
  weight: number;
  /** Its share of the weight that had data (0 when missing). */
  effectiveWeight: number;
  /** What it contributed to the score: subScore × effectiveWeight. */
  points: number;
  status: MeasureState;
  /** Why a missing measure has no value. */
  missingReason: MissingReason | null;
  sentence: string;
}

const round = (x: number, digits = 2) => Math.round(x * 10 ** digits) / 10 ** digits;

const SOURCE_NAMES = { usage: 'usage', support: 'support tickets', nps: 'NPS answers', csat: 'CSAT answers', commercial: 'contracts' } as const;

/** Per measure: raw value, sub-score, weight, points and a sentence a CSM understands, in English or Simplified Chinese. */
export function explain(card: ScorecardDefinition, stored: StoredScore, locale: Locale = 'en'): MeasureExplanation[] {
  const measures = measuresOf(card);
  const statusOf = (i: number) => stored.status?.[i] ?? (stored.sub[i] === null || stored.sub[i] === undefined ? MEASURE_STATUS.noValue : MEASURE_STATUS.ok);
  const counts = (i: number) => statusOf(i) === MEASURE_STATUS.ok && stored.sub[i] !== null && stored.sub[i] !== undefined;
  const withData = measures.reduce((sum, m, i) => (counts(i) ? sum + m.weight : sum), 0);
  return measures.map((m, i) => {
    const raw = stored.raw[i] ?? null;
    const sub = stored.sub[i] ?? null;
    const status = statusOf(i);
    const share = !counts(i) || withData === 0 ? 0 : m.weight / withData;
    const feature = FEATURES[m.feature];
    const source = SOURCE_NAMES[feature.source];
    const missingReason = REASONS[status] ?? null;
    const label = m.mapping.type === 'grid' ? m.label : (measureLabel(locale, m.feature) ?? m.label);
    const workspace = connectionOf(card, feature.source) === 'workspace';
    const sentence =
      status === MEASURE_STATUS.noInformation
        ? (noInformationSentence(locale, m.feature, raw!) ?? `${feature.describe(raw!)}; no information: every account has the same value, so it carries no weight`)
        : missingReason === 'not_connected'
          ? (missingSentence(locale, label, { reason: 'not_connected', source: feature.source, workspace }) ??
            `${m.label}: no ${source} received ${workspace ? 'from any account yet' : 'for this account yet'}`)
          : missingReason === 'stale'
            ? (missingSentence(locale, label, { reason: 'stale', freshnessDays: m.freshnessDays }) ??
              `${m.label}: no recent data${m.freshnessDays ? ` (data older than ${m.freshnessDays} days is ignored)` : ''}`)
            : missingReason === 'no_value'
              ? (missingSentence(locale, label, { reason: 'no_value' }) ?? `${m.label}: nothing to measure yet`)
              : m.mapping.type === 'grid'
                ? translator(locale).t('explain.interaction', {
                    first: explanationSentence(locale, m.feature, raw!) ?? feature.describe(raw!),
                    second: measureLabel(locale, m.mapping.with) ?? FEATURES[m.mapping.with].label,
                  })
                : (explanationSentence(locale, m.feature, raw!) ?? feature.describe(raw!));
    return {
      key: m.key,
      label,
      group: m.group,
      raw: raw === null ? null : round(raw, 4),
      subScore: sub === null ? null : round(sub),
      weight: m.weight,
      effectiveWeight: round(share, 4),
      points: sub === null ? 0 : round(sub * share),
      status: status === MEASURE_STATUS.noInformation ? 'no_information' : missingReason ? 'missing' : 'ok',
      missingReason,
      sentence,
    };
  });
}

export interface Attribution {
  key: string;
  label: string;
  /** Points this measure added (+) or took away (−) between the two scores. */
  delta: number;
  from: number;
  to: number;
}

/**
 * Which measures moved the score between two results and by how much: the
 * change of each measure's points (and of the CSM pulse), largest first. The
 * deltas add up to the change of the score (before clamping at 0 and 100).
 */
export function attribute(
  before: { card: ScorecardDefinition; stored: StoredScore },
  after: { card: ScorecardDefinition; stored: StoredScore },
  locale: Locale = 'en',
): Attribution[] {
  const points = (side: typeof before) => new Map(explain(side.card, side.stored, locale).map((e) => [e.key, e]));
  const a = points(before);
  const b = points(after);
  const keys = [...new Set([...a.keys(), ...b.keys()])];
  const rows: Attribution[] = keys.map((key) => {
    const from = a.get(key)?.points ?? 0;
    const to = b.get(key)?.points ?? 0;
    return { key, label: (b.get(key) ?? a.get(key))!.label, delta: round(to - from), from, to };
  });
  const pulseFrom = before.stored.pulse ?? 0;
  const pulseTo = after.stored.pulse ?? 0;
  if (pulseFrom !== pulseTo) rows.push({ key: 'pulse', label: locale === 'zh-CN' ? '客户成功经理调整' : 'CSM pulse', delta: round(pulseTo - pulseFrom), from: pulseFrom, to: pulseTo });
  return rows.filter((r) => r.delta !== 0).sort((x, y) => Math.abs(y.delta) - Math.abs(x.delta));
}
