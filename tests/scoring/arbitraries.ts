import fc from 'fast-check';
import { FEATURE_NAMES, type FeatureRow, OBSERVED_COLUMNS } from '../../src/scoring/features.js';
import type { Breakpoints } from '../../src/scoring/model.js';
import { CONNECTION_MODES, type Mapping, type ScorecardDefinition } from '../../src/scoring/scorecard.js';

/**
 * Values with a few decimals, like the features SQL computes and scorecards
 * hold: PostgreSQL refuses subnormal doubles (underflow) that no real
 * configuration or count produces.
 */
const decimal = (min: number, max: number, scale = 1000) => fc.integer({ min: min * scale, max: max * scale }).map((n) => n / scale);
const finite = decimal(-1000, 1000);
const score = decimal(0, 100, 100);

const ascendingUnique = (min: number, max: number) =>
  fc.uniqueArray(decimal(-100, 100, 100), { minLength: min, maxLength: max }).map((xs) => [...xs].sort((a, b) => a - b));

const monotone = (n: number) =>
  fc.tuple(fc.array(score, { minLength: n, maxLength: n }), fc.boolean()).map(([ys, rising]) => {
    const sorted = [...ys].sort((a, b) => a - b);
    return rising ? sorted : sorted.reverse();
  });

export const linearMapping: fc.Arbitrary<Mapping> = ascendingUnique(2, 6).chain((xs) =>
  monotone(xs.length).map((ys) => ({ type: 'linear' as const, points: xs.map((x, i) => [x, ys[i]!] as [number, number]) })),
);

export const bandsMapping: fc.Arbitrary<Mapping> = ascendingUnique(1, 5).chain((mins) =>
  monotone(mins.length).map((scores) => ({ type: 'bands' as const, bands: mins.map((min, i) => ({ min, score: scores[i]! })) })),
);

export const percentileMapping: fc.Arbitrary<Mapping> = fc.boolean().map((higherIsBetter) => ({ type: 'percentile' as const, higherIsBetter }));

export const mapping = fc.oneof(linearMapping, bandsMapping, percentileMapping);

/** Fitted shapes: bands that rise and fall, and interaction grids over a second feature. */
export const shapedBandsMapping: fc.Arbitrary<Mapping> = ascendingUnique(1, 6).chain((mins) =>
  fc.array(score, { minLength: mins.length, maxLength: mins.length }).map((scores) => ({ type: 'bands' as const, bands: mins.map((min, i) => ({ min, score: scores[i]! })) })),
);
export const gridMapping: fc.Arbitrary<Mapping> = fc
  .record({ with: fc.constantFrom(...FEATURE_NAMES), rows: ascendingUnique(1, 4), columns: ascendingUnique(1, 4) })
  .chain(({ with: other, rows, columns }) =>
    fc
      .array(fc.array(score, { minLength: columns.length, maxLength: columns.length }), { minLength: rows.length, maxLength: rows.length })
      .map((scores) => ({ type: 'grid' as const, with: other, rows, columns, scores })),
  );
export const anyMapping = fc.oneof(mapping, shapedBandsMapping, gridMapping);

/** A random valid scorecard over random features (`shaped`: with rising-and-falling bands and interaction grids). */
export const scorecardOf = (mappings: fc.Arbitrary<Mapping>): fc.Arbitrary<ScorecardDefinition> => fc
  .record({
    measures: fc.uniqueArray(
      fc.record({
        feature: fc.constantFrom(...FEATURE_NAMES),
        weight: decimal(0.1, 50, 10),
        mapping: mappings,
        freshnessDays: fc.option(fc.integer({ min: 1, max: 400 }), { nil: undefined }),
      }),
      { minLength: 1, maxLength: 8, selector: (m) => m.feature },
    ),
    red: fc.integer({ min: 5, max: 50 }),
    gap: fc.integer({ min: 5, max: 45 }),
    hysteresis: fc.integer({ min: 0, max: 10 }),
    connected: fc.record({
      usage: fc.constantFrom(...CONNECTION_MODES),
      support: fc.constantFrom(...CONNECTION_MODES),
      nps: fc.constantFrom(...CONNECTION_MODES),
      csat: fc.constantFrom(...CONNECTION_MODES),
      commercial: fc.constantFrom(...CONNECTION_MODES),
    }),
  })
  .map(({ measures, red, gap, hysteresis, connected }) => ({
    name: 'random',
    bands: { red, green: red + gap, hysteresis },
    connected,
    groups: [
      {
        key: 'usage' as const,
        label: 'All',
        measures: measures.map((m, i) => ({ key: `m${i}`, label: `Measure ${i}`, ...m })),
      },
    ],
  }));
export const scorecard = scorecardOf(mapping);
export const shapedScorecard = scorecardOf(anyMapping);

/** Random features: each value present or missing; ages for freshness. */
export const featureRow: fc.Arbitrary<FeatureRow> = fc
  .record({
    values: fc.array(fc.option(finite, { nil: null, freq: 3 }), { minLength: FEATURE_NAMES.length, maxLength: FEATURE_NAMES.length }),
    ages: fc.array(fc.option(fc.integer({ min: 0, max: 500 }), { nil: null, freq: 4 }), { minLength: OBSERVED_COLUMNS.length, maxLength: OBSERVED_COLUMNS.length }),
    segment: fc.constantFrom(null, 'smb', 'enterprise'),
  })
  .map(({ values, ages, segment }) => {
    const row = { segment } as FeatureRow;
    FEATURE_NAMES.forEach((f, i) => ((row as Record<string, number | null>)[f] = values[i]!));
    OBSERVED_COLUMNS.forEach((c, i) => ((row as Record<string, number | null>)[c] = ages[i]!));
    return row;
  });

/** Breakpoints as a full recompute would store them (sorted; ties allowed). */
export const breakpoints: fc.Arbitrary<Breakpoints> = fc
  .array(fc.integer({ min: -50, max: 50 }).map((n) => n / 2), { minLength: 1, maxLength: 20 })
  .map((xs) => {
    const up = [...xs].sort((a, b) => a - b);
    return { up, down: up.map((x) => -x).reverse() };
  });
