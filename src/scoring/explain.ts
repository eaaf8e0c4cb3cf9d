import { FEATURES } from './features.js';
import type { ScorecardDefinition } from './scorecard.js';
import { measuresOf } from './scorecard.js';

/** The stored result of a scoring: per-measure raw values and sub-scores in scorecard order. */
export interface StoredScore {
  score: number | null;
  raw: (number | null)[];
  sub: (number | null)[];
  pulse: number | null;
}

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
  status: 'ok' | 'missing';
  sentence: string;
}

const round = (x: number, digits = 2) => Math.round(x * 10 ** digits) / 10 ** digits;

/** Per measure: raw value, sub-score, weight, points and a sentence a CSM understands. */
export function explain(card: ScorecardDefinition, stored: StoredScore): MeasureExplanation[] {
  const measures = measuresOf(card);
  const withData = measures.reduce((sum, m, i) => (stored.sub[i] === null || stored.sub[i] === undefined ? sum : sum + m.weight), 0);
  return measures.map((m, i) => {
    const raw = stored.raw[i] ?? null;
    const sub = stored.sub[i] ?? null;
    const share = sub === null || withData === 0 ? 0 : m.weight / withData;
    return {
      key: m.key,
      label: m.label,
      group: m.group,
      raw: raw === null ? null : round(raw, 4),
      subScore: sub === null ? null : round(sub),
      weight: m.weight,
      effectiveWeight: round(share, 4),
      points: sub === null ? 0 : round(sub * share),
      status: sub === null ? 'missing' : 'ok',
      sentence:
        sub === null
          ? `${m.label}: no recent data${m.freshnessDays ? ` (data older than ${m.freshnessDays} days is ignored)` : ''}`
          : FEATURES[m.feature].describe(raw!),
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
): Attribution[] {
  const points = (side: typeof before) => new Map(explain(side.card, side.stored).map((e) => [e.key, e]));
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
  if (pulseFrom !== pulseTo) rows.push({ key: 'pulse', label: 'CSM pulse', delta: round(pulseTo - pulseFrom), from: pulseFrom, to: pulseTo });
  return rows.filter((r) => r.delta !== 0).sort((x, y) => Math.abs(y.delta) - Math.abs(x.delta));
}
