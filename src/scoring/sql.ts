import { MEASURE_STATUS, effectiveWeights, sourceAgeColumn } from './model.js';
import type { Mapping, OrderedMeasure, ScorecardDefinition } from './scorecard.js';
import { measuresOf } from './scorecard.js';

/**
 * The SQL twin of model.ts: turns a scorecard into the expressions that score
 * every account in one set-based statement. Each expression repeats the
 * TypeScript arithmetic in the same order, so both give the same doubles;
 * tests/scoring/sql-agreement.property.test.ts holds them to it on random data.
 *
 * Only numbers from a validated scorecard are inlined, never user text.
 * The `offset 0` fences keep PostgreSQL from flattening the nested selects,
 * which would copy every column's expression into each place that uses it.
 */
const num = (n: number) => {
  if (!Number.isFinite(n)) throw new Error(`not a finite number: ${n}`);
  return `(${n})::float8`;
};

/** Index of the last step at or below the value (0 below them all), as model.ts stepOf. */
const stepSql = (steps: number[], value: string) =>
  steps.length === 1 ? '0' : `case ${[...steps.keys()].slice(1).reverse().map((i) => `when ${value} >= ${num(steps[i]!)} then ${i}`).join(' ')} else 0 end`;

function mappingSql(raw: string, mapping: Mapping, breakpoints: string, pair: string): string {
  switch (mapping.type) {
    case 'grid': {
      const cells = mapping.scores.flatMap((row, i) => row.map((score, j) => `when ${i * mapping.columns.length + j} then ${num(score)}`));
      const cell = `(${stepSql(mapping.rows, raw)}) * ${mapping.columns.length} + (${stepSql(mapping.columns, pair)})`;
      return `case when ${raw} is null or ${pair} is null then null else case ${cell} ${cells.join(' ')} end end`;
    }
    case 'linear': {
      const p = mapping.points;
      const parts = [`when ${raw} <= ${num(p[0]![0])} then ${num(p[0]![1])}`];
      for (let i = 1; i < p.length; i++) {
        const [x0, y0] = p[i - 1]!;
        const [x1, y1] = p[i]!;
        const line = `${num(y0)} + ((${num(y1)} - ${num(y0)}) * (${raw} - ${num(x0)})) / (${num(x1)} - ${num(x0)})`;
        parts.push(`when ${raw} <= ${num(x1)} then least(greatest(${line}, ${num(Math.min(y0, y1))}), ${num(Math.max(y0, y1))})`);
      }
      return `case when ${raw} is null then null ${parts.join(' ')} else ${num(p.at(-1)![1])} end`;
    }
    case 'bands': {
      const steps = [...mapping.bands].reverse().map((b) => `when ${raw} >= ${num(b.min)} then ${num(b.score)}`);
      return `case when ${raw} is null then null ${steps.join(' ')} else ${num(mapping.bands[0]!.score)} end`;
    }
    case 'percentile': {
      const value = mapping.higherIsBetter ? raw : `-${raw}`;
      const rank = `(100 * width_bucket(${value}, ${breakpoints}))::float8 / cardinality(${breakpoints})`;
      const guard = `${raw} is null or ${breakpoints} is null or cardinality(${breakpoints}) = 0`;
      return `case when ${guard} then null else ${rank} end`;
    }
  }
}

/** The measure's status (model.ts measureInputs), before "no information". */
const ownStatusSql = (card: ScorecardDefinition, m: OrderedMeasure) => {
  const age = `f.${sourceAgeColumn(card, m)}`;
  return `case when ${age} is null then ${MEASURE_STATUS.notConnected}
    ${m.freshnessDays === undefined ? '' : `when ${age} > ${m.freshnessDays} then ${MEASURE_STATUS.stale}`}
    when f.${m.feature} is null then ${MEASURE_STATUS.noValue} else ${MEASURE_STATUS.ok} end`;
};

/** An interaction line's status: its first feature's, else its second's (model.ts measureInputs). */
const statusSql = (card: ScorecardDefinition, m: OrderedMeasure) => {
  const own = ownStatusSql(card, m);
  if (m.mapping.type !== 'grid') return own;
  return `case when (${own}) <> ${MEASURE_STATUS.ok} then (${own}) else (${ownStatusSql(card, { ...m, feature: m.mapping.with })}) end`;
};

export interface ScoringSql {
  /** Joins for the percentile measures' breakpoints, to add after `from <features> f`. */
  joins: string;
  /** Select list computing raw_i, sub_i, base, coverage for alias f (features) and p (pulse). */
  columns: string;
}

/**
 * The scoring select for a scorecard over features `f`, pulse adjustment
 * `pulse_adjustment` and previous band `previous_band` available as columns of
 * the inner relation. `distributions` names the relation with breakpoints.
 */
export function scoringSelect(card: ScorecardDefinition, inner: string, distributions: string, uninformative: ReadonlySet<string> = new Set()): string {
  const measures = measuresOf(card);
  const weights = effectiveWeights(card, uninformative);
  const joins = measures
    .map((m, i) =>
      m.mapping.type === 'percentile'
        ? `left join ${distributions} ds${i} on ds${i}.feature = '${m.feature}' and ds${i}.segment_key = coalesce(f.segment, '')
           left join ${distributions} dg${i} on dg${i}.feature = '${m.feature}' and dg${i}.segment_key = '*'`
        : '',
    )
    .join('\n');
  const statuses = measures.map((m) => statusSql(card, m));
  const raws = measures.map((m, i) => `case when (${statuses[i]}) = ${MEASURE_STATUS.ok} then f.${m.feature} end as r${i}`);
  const pairs = measures.map((m, i) => (m.mapping.type === 'grid' ? `case when (${statuses[i]}) = ${MEASURE_STATUS.ok} then f.${m.mapping.with} end` : 'null::float8') + ` as q${i}`);
  const statusArray = `array[${measures
    .map((m, i) => (uninformative.has(m.feature) ? `case when (${statuses[i]}) = ${MEASURE_STATUS.ok} then ${MEASURE_STATUS.noInformation} else (${statuses[i]}) end` : `(${statuses[i]})`))
    .join(', ')}]::int2[]`;
  const bps = measures.map((m, i) => {
    if (m.mapping.type !== 'percentile') return `null::float8[] as bp${i}`;
    const column = m.mapping.higherIsBetter ? 'breakpoints' : 'negated_breakpoints';
    return `coalesce(ds${i}.${column}, dg${i}.${column}) as bp${i}`;
  });
  const subs = measures.map((m, i) => `${mappingSql(`r${i}`, m.mapping, `bp${i}`, `q${i}`)} as s${i}`);
  const weightSum = weights.reduce((sum, w) => sum + w, 0);
  const numerator = weights.map((w, i) => `coalesce(${num(w)} * s${i}, 0)`).join(' + ');
  const denominator = weights.map((w, i) => `case when s${i} is not null then ${num(w)} else 0 end`).join(' + ');
  const rawArray = `array[${measures.map((_, i) => `r${i}`).join(', ')}]::float8[]`;
  const subArray = `array[${measures.map((_, i) => `s${i}`).join(', ')}]::float8[]`;
  const { green, red, hysteresis: h } = card.bands;
  const plain = (s: string) => `case when ${s} >= ${num(green)} then 'green' when ${s} < ${num(red)} then 'red' else 'yellow' end`;
  const band = `case
      when score is null then previous_band
      when previous_band is null then ${plain('score')}
      when previous_band = 'green' then case when score < ${num(green - h)} then ${plain('score')} else 'green' end
      when previous_band = 'red' then case when score >= ${num(red + h)} then ${plain('score')} else 'red' end
      when score >= ${num(green + h)} then 'green'
      when score < ${num(red - h)} then 'red'
      else 'yellow' end`;
  return `
select target_id, account_id, segment, previous_band, pulse_adjustment as pulse, raw, sub, status, base, coverage, score, ${band} as band
from (
  select *, case when base is null then null
                 when pulse_adjustment is null or pulse_adjustment = 0 then base
                 else least(100::float8, greatest(0::float8, base + pulse_adjustment)) end as score
  from (
    select target_id, account_id, segment, previous_band, pulse_adjustment, ${rawArray} as raw, ${subArray} as sub, status,
           -- clamped like the model: a mean of 100s can come out a rounding error above 100
           case when (${denominator}) > 0 then least(100::float8, greatest(0::float8, (${numerator}) / (${denominator}))) end as base,
           ${weightSum > 0 ? `(${denominator}) / ${num(weightSum)}` : '0::float8'} as coverage
    from (
      select target_id, account_id, segment, previous_band, pulse_adjustment, status, ${raws.map((_, i) => `r${i}`).join(', ')},
             ${subs.join(',\n             ')}
      from (
        select f.target_id, f.account_id, f.segment, f.previous_band, f.pulse_adjustment, ${statusArray} as status, ${raws.join(', ')}, ${pairs.join(', ')}, ${bps.join(', ')}
        from ${inner} f
        ${joins}
        offset 0
      ) with_raw
      offset 0
    ) with_sub
    offset 0
  ) combined
) scored`;
}
