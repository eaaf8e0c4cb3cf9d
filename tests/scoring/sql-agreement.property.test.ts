import fc from 'fast-check';
import { CompiledQuery, sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FEATURE_NAMES, type FeatureRow, OBSERVED_COLUMNS } from '../../src/scoring/features.js';
import { type Band, type Breakpoints, nextBand, scoreAccount } from '../../src/scoring/model.js';
import { measuresOf } from '../../src/scoring/scorecard.js';
import { scoringSelect } from '../../src/scoring/sql.js';
import { createTestDatabase, type TestDatabase } from '../support/db.js';
import { breakpoints, featureRow, shapedScorecard } from './arbitraries.js';

/**
 * The scoring maths runs in SQL for set-based recomputes and in TypeScript as
 * the reference. On random scorecards, features, bands, pulses and
 * distributions, both must give the same sub-scores, score, coverage and band.
 */
let t: TestDatabase;
beforeAll(async () => {
  t = await createTestDatabase();
});
afterAll(() => t.close());

const COLUMNS = [...FEATURE_NAMES, ...OBSERVED_COLUMNS];
const SEGMENTS = ['', 'smb', 'enterprise', '*'];

describe('SQL and the TypeScript reference agree', () => {
  it('on random data', async () => {
    const cases = fc.sample(
      fc.record({
        card: shapedScorecard,
        rows: fc.array(
          fc.record({
            features: featureRow,
            previous: fc.constantFrom<Band | null>(null, 'green', 'yellow', 'red'),
            pulse: fc.option(fc.integer({ min: -30, max: 30 }), { nil: null, freq: 3 }),
          }),
          { minLength: 5, maxLength: 25 },
        ),
        uninformative: fc.uniqueArray(fc.constantFrom(...FEATURE_NAMES), { maxLength: 4 }),
        distributions: fc.array(fc.option(breakpoints, { nil: null, freq: 4 }), { minLength: FEATURE_NAMES.length * SEGMENTS.length, maxLength: FEATURE_NAMES.length * SEGMENTS.length }),
      }),
      { numRuns: 40, seed: 20261123 },
    );
    let compared = 0;
    for (const { card, rows, distributions, uninformative: dull } of cases) {
      const uninformative = new Set<string>(dull);
      const dist = new Map<string, Breakpoints>();
      FEATURE_NAMES.forEach((f, i) =>
        SEGMENTS.forEach((seg, j) => {
          const bp = distributions[i * SEGMENTS.length + j];
          if (bp) dist.set(`${f}/${seg}`, bp);
        }),
      );
      const fromSql = await t.db.transaction().execute(async (trx) => {
        await sql
          .raw(`create temp table agree_features (target_id int8, account_id int8, as_of timestamptz, segment text, previous_band text, pulse_adjustment float8, ${COLUMNS.map((c) => `${c} float8`).join(', ')}) on commit drop`)
          .execute(trx);
        await sql`create temp table agree_dist (feature text, segment_key text, breakpoints float8[], negated_breakpoints float8[]) on commit drop`.execute(trx);
        for (const [i, r] of rows.entries()) {
          const values = COLUMNS.map((c) => (r.features as Record<string, number | null>)[c] ?? null);
          await trx.executeQuery(
            CompiledQuery.raw(
              `insert into agree_features values ($1, $1, now(), $2, $3, $4, ${COLUMNS.map((_, k) => `$${k + 5}::float8`).join(', ')})`,
              [i, r.features.segment, r.previous, r.pulse, ...values],
            ),
          );
        }
        for (const [key, bp] of dist) {
          const [feature, segment] = key.split('/');
          await sql`insert into agree_dist values (${feature}, ${segment}, ${bp.up}::float8[], ${bp.down}::float8[])`.execute(trx);
        }
        const { rows: out } = await sql
          .raw<{ account_id: number; sub: (number | null)[]; status: number[]; score: number | null; coverage: number; band: Band | null }>(
            `select account_id, sub, status, score, coverage, band from (${scoringSelect(card, 'agree_features', 'agree_dist', uninformative)}) s order by account_id`,
          )
          .execute(trx);
        return out;
      });

      for (const [i, r] of rows.entries()) {
        const segmentKey = r.features.segment ?? '';
        const lookup = (key: string) => {
          const feature = measuresOf(card).find((m) => m.key === key)!.feature;
          return dist.get(`${feature}/${segmentKey}`) ?? dist.get(`${feature}/*`);
        };
        const expected = scoreAccount(card, r.features as FeatureRow, lookup, r.pulse, uninformative);
        const got = fromSql[i]!;
        expect(got.sub.length).toBe(expected.measures.length);
        expected.measures.forEach((m, k) => {
          if (m.sub === null) expect(got.sub[k]).toBeNull();
          else expect(got.sub[k]).toBe(m.sub);
          expect(got.status[k]).toBe(m.status);
        });
        expect(got.score).toBe(expected.score);
        expect(got.coverage).toBe(expected.coverage);
        expect(got.band).toBe(nextBand(r.previous, expected.score, card.bands));
        compared++;
      }
    }
    expect(compared).toBeGreaterThan(300);
  });
});
