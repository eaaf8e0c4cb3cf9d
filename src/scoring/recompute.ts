import { CompiledQuery, type Kysely, sql } from 'kysely';
import type { Database } from '../db/schema.js';
import { inTransaction } from '../db/transaction.js';
import { FEATURE_NAMES, FEATURES, type FeatureName, OBSERVED_COLUMNS, workspaceColumn } from './features.js';
import { featuresSql, type PartialDay } from './features-sql.js';
import type { Band } from './model.js';
import { measuresOf, type ScorecardDefinition } from './scorecard.js';
import { activeScorecards, ensureDefaultScorecard, type Scorecard } from './scorecards.js';
import { scoringSelect } from './sql.js';
import { compactUsage } from '../signals/usage-compaction.js';
import { foldRescoreMarks } from './rescore-marks.js';

type Db = Kysely<Database>;

export interface BandChange {
  accountId: number;
  previous: Band | null;
  band: Band;
  score: number;
}

export interface RecomputeResult {
  accounts: number;
  changed: number;
  bandChanges: BandChange[];
  /** Milliseconds per step (features, information, scoring, after): where a run's time went, for the bench and logs. */
  timings?: Record<string, number>;
}

/** Quantiles kept per feature and segment for percentile measures (1 % … 99 %). */
const QUANTILES = Array.from({ length: 99 }, (_, i) => (i + 1) / 100);
const FEATURE_COLUMNS = [...FEATURE_NAMES, ...OBSERVED_COLUMNS];

export const today = () => new Date().toISOString().slice(0, 10);

/** Whom to compute features for, and as of when. */
export type FeatureTargets =
  /**
   * Accounts (all when null) as of one instant (null: the transaction's now());
   * `live`: T is now (or a frozen now), its day read from the rollup.
   */
  | { accountIds: number[] | null; at: Date | null; live: boolean }
  /** Rows of temp table hs_targets (target_id, account_id, as_of), each as of its own instant (backtests). */
  | { table: 'hs_targets'; from: Date; to: Date; partialDay: PartialDay };

/**
 * Sort and hash memory for the rest of the transaction: the feature query
 * sorts and groups every usage row of its targets, and at the default 4 MB
 * each of those steps spills to disk in dozens of batches (seconds per
 * hundred thousand accounts). Only raised, never lowered.
 */
export const SCORING_WORK_MEM = '256MB';

/** Fills temp table hs_features (dropped at commit), one row per target, keyed by target_id (the account id for accounts). */
export async function loadFeatures(trx: Db, targets: FeatureTargets): Promise<number> {
  await sql`select set_config('work_mem', ${SCORING_WORK_MEM}, true)
             where pg_size_bytes(current_setting('work_mem')) < pg_size_bytes(${SCORING_WORK_MEM})`.execute(trx);
  await sql
    .raw(
      `create temp table if not exists hs_features (target_id int8 primary key, account_id int8, as_of timestamptz, segment text,
         ${FEATURE_COLUMNS.map((c) => `${c} float8`).join(', ')}) on commit drop`,
    )
    .execute(trx);
  await sql`truncate hs_features`.execute(trx);
  // The targets go into a table of their own and are analyzed, so the planner knows how many there are.
  await sql`create temp table if not exists hs_feature_targets (target_id int8 primary key, account_id int8, as_of timestamptz) on commit drop`.execute(trx);
  await sql`truncate hs_feature_targets`.execute(trx);
  if ('table' in targets) {
    await sql`insert into hs_feature_targets select target_id, account_id, as_of from hs_targets`.execute(trx);
  } else {
    await sql`insert into hs_feature_targets select id, id, coalesce(${targets.at?.toISOString() ?? null}::timestamptz, now()) from accounts
               where archived_at is null and (${targets.accountIds}::int8[] is null or id = any(${targets.accountIds}::int8[]))`.execute(trx);
  }
  await sql`analyze hs_feature_targets`.execute(trx);
  // $1 and $2 only bound the scans (the exact windows are per target): a day of slack for the database's clock.
  const at = 'table' in targets ? null : (targets.at ?? new Date());
  const [from, to] = 'table' in targets ? [targets.from, targets.to] : [new Date(at!.getTime() - 86_400_000), new Date(at!.getTime() + 86_400_000)];
  const partialDay: PartialDay = 'table' in targets ? targets.partialDay : targets.live ? 'rollup' : isMidnight(at!) ? 'none' : 'events';
  const params = [utcDay(from), to.toISOString()];
  const insert = `insert into hs_features (target_id, account_id, as_of, segment, ${FEATURE_COLUMNS.join(', ')})
    select target_id, account_id, as_of, segment, ${FEATURE_COLUMNS.join(', ')}
      from (${featuresSql('select target_id, account_id, as_of from hs_feature_targets', '$1', '$2', partialDay)}) f`;
  const result = await trx.executeQuery(CompiledQuery.raw(insert, params));
  await sql`analyze hs_features`.execute(trx);
  return Number(result.numAffectedRows ?? 0);
}

const isMidnight = (at: Date) => at.getTime() % 86_400_000 === 0;
export const utcDay = (at: Date) => at.toISOString().slice(0, 10);

/** Rows of hs_features where the feature's source had sent anyone anything by then: the zeros of a silent source are not values. */
const connected = (feature: string) => `${workspaceColumn(FEATURES[feature as FeatureName].source)} is not null`;

/** Smallest population on which a feature with one value for everyone counts as carrying no information. */
export const MIN_ACCOUNTS_FOR_INFORMATION = 20;

/** Counts the distinct values of features over hs_features (all accounts, as of `at`) into feature_information. */
export async function refreshInformation(trx: Db, features: string[], at: Date) {
  for (const feature of features) {
    if (!(FEATURE_NAMES as string[]).includes(feature)) throw new Error(`unknown feature ${feature}`);
    await trx.executeQuery(
      CompiledQuery.raw(
        `insert into feature_information (feature, day, accounts, distinct_values, computed_at)
         select '${feature}', $1::date, count(${feature}), count(distinct ${feature}), $2::timestamptz from hs_features where ${connected(feature)}
         on conflict (feature, day) do update set accounts = excluded.accounts, distinct_values = excluded.distinct_values,
                                                  computed_at = excluded.computed_at`,
        [utcDay(at), at.toISOString()],
      ),
    );
  }
}

/**
 * Features with the same value for every account (of enough accounts): they
 * get no weight. Judged by the newest count made by `at` (default: the
 * newest): a past score is weighed with what was known then, and a score
 * before any count weighs every measure.
 */
export async function uninformativeFeatures(db: Db, at?: Date): Promise<Set<string>> {
  const { rows } = await sql<{ feature: string }>`
    select feature from (
      select distinct on (feature) feature, accounts, distinct_values from feature_information
       where ${at?.toISOString() ?? null}::timestamptz is null or computed_at <= ${at?.toISOString() ?? null}::timestamptz
       order by feature, computed_at desc) newest
     where accounts >= ${MIN_ACCOUNTS_FOR_INFORMATION} and distinct_values <= 1`.execute(db);
  return new Set(rows.map((r) => r.feature));
}

/** Of these features, those with one value for everyone in hs_features now (previews and backtests judge their own population). */
export async function uninformativeInFeatures(trx: Db, features: string[]): Promise<Set<string>> {
  if (features.length === 0) return new Set();
  for (const f of features) if (!(FEATURE_NAMES as string[]).includes(f)) throw new Error(`unknown feature ${f}`);
  const { rows } = await sql
    .raw<Record<string, number>>(
      `select ${features.map((f, i) => `count(${f}) filter (where ${connected(f)})::int as n${i}, count(distinct ${f}) filter (where ${connected(f)})::int as d${i}`).join(', ')} from hs_features`,
    )
    .execute(trx);
  const row = rows[0]!;
  return new Set(features.filter((_, i) => row[`n${i}`]! >= MIN_ACCOUNTS_FOR_INFORMATION && row[`d${i}`]! <= 1));
}

/** Features some scorecard measures. */
export const measuredFeatures = (cards: { definition: ScorecardDefinition }[]) => [
  ...new Set(cards.flatMap((c) => measuresOf(c.definition).map((m) => m.feature))),
];

/** Features ranked by some active scorecard's percentile measures. */
export const percentileFeatures = (cards: Scorecard[]) => [
  ...new Set(cards.flatMap((c) => measuresOf(c.definition).filter((m) => m.mapping.type === 'percentile').map((m) => m.feature))),
];

/**
 * Quantile breakpoints of each percentile feature per segment ('' for none)
 * and over everyone ('*'), from hs_features, into `target`.
 */
export async function refreshDistributions(trx: Db, features: string[], target: 'feature_distributions' | 'hs_distributions') {
  if (target === 'hs_distributions') {
    await sql`create temp table if not exists hs_distributions (feature text, segment_key text, breakpoints float8[],
                negated_breakpoints float8[], primary key (feature, segment_key)) on commit drop`.execute(trx);
    await sql`truncate hs_distributions`.execute(trx);
  }
  const upsert = `on conflict (feature, segment_key) do update set breakpoints = excluded.breakpoints,
         negated_breakpoints = excluded.negated_breakpoints${target === 'feature_distributions' ? ', computed_at = now()' : ''}`;
  for (const feature of features) {
    if (!(FEATURE_NAMES as string[]).includes(feature)) throw new Error(`unknown feature ${feature}`);
    // Zeros of a source nobody has sent data of yet are not values to rank against.
    const present = `${feature} is not null and ${connected(feature)}`;
    const quantiles = `array[${QUANTILES.join(',')}]::float8[]`;
    await sql
      .raw(
        `insert into ${target} (feature, segment_key, breakpoints, negated_breakpoints)
         select '${feature}', segment_key, percentile_cont(${quantiles}) within group (order by value),
                percentile_cont(${quantiles}) within group (order by -value)
           from (select coalesce(segment, '') as segment_key, ${feature} as value from hs_features where ${present}
                 union all
                 select '*', ${feature} from hs_features where ${present}) v
          group by segment_key
         ${upsert}`,
      )
      .execute(trx);
    // No account has the feature yet (no tickets at all, say): an empty '*'
    // distribution records that it was computed, so incremental runs do not
    // reload every account to compute it again; the nightly run refreshes it.
    await sql
      .raw(
        `insert into ${target} (feature, segment_key, breakpoints, negated_breakpoints)
         select '${feature}', '*', '{}', '{}' where not exists (select 1 from hs_features where ${present})
         ${upsert}`,
      )
      .execute(trx);
  }
}

/** Rows of hs_features that a scorecard scores: its segment, or (default) every segment without its own. */
function assignment(card: Scorecard, cards: Scorecard[]): string {
  if (card.segment !== null) return `f.segment = ${literal(card.segment)}`;
  const own = cards.filter((c) => c.segment !== null).map((c) => literal(c.segment!));
  return own.length ? `(f.segment is null or f.segment not in (${own.join(', ')}))` : 'true';
}
const literal = (text: string) => `'${text.replace(/'/g, "''")}'`;

/**
 * The features of each scored target with its previous band and the CSM pulse
 * in force at its instant. The previous band (for hysteresis) is the stored
 * current one (`current`), the newest snapshot before the instant
 * (`snapshot`: a past score), or none (`none`: backtests use plain bands).
 */
export const scoringInput = (card: Scorecard, cards: Scorecard[], previous: 'current' | 'snapshot' | 'none' = 'current') => `(
  select f.*, ${previous === 'none' ? 'null::text' : 'h.band'} as previous_band, p.adjustment as pulse_adjustment
    from hs_features f
    ${
      previous === 'current'
        ? 'left join health_scores h on h.account_id = f.account_id'
        : previous === 'snapshot'
          ? `left join lateral (select band from health_snapshots s where s.account_id = f.account_id and s.taken_at < f.as_of
                                 order by s.taken_at desc limit 1) h on true`
          : ''
    }
    left join lateral (
      select adjustment from health_pulses hp
       where hp.account_id = f.account_id and hp.created_at <= f.as_of and hp.expires_at > f.as_of
       order by hp.created_at desc, hp.id desc limit 1) p on true
   where ${assignment(card, cards)})`;

/**
 * Scores the accounts in hs_features with their scorecards and writes the
 * results: health_scores rows that changed (stamped for the sync feed), a
 * snapshot on every band change and the day's snapshot.
 */
async function writeScores(trx: Db, card: Scorecard, cards: Scorecard[], at: Date, frozen: boolean, uninformative: ReadonlySet<string>) {
  const select = scoringSelect(card.definition, scoringInput(card, cards), 'feature_distributions', uninformative);
  const statement = `
with computed as materialized (${select}),
clock as materialized (select healthscore_change_seq('health_scores') as seq),
changed as (
  insert into health_scores as h (account_id, scorecard_id, score, base_score, band, coverage, raw, sub, status, pulse,
                                  computed_at, updated_at, band_changed_at, change_seq)
  select account_id, $1, score, base, band, coverage, raw, sub, status, pulse, coalesce($3::timestamptz, now()), now(),
         case when band is not null then coalesce($3::timestamptz, now()) end, (select seq from clock)
    from computed
  on conflict (account_id) do update set
    scorecard_id = excluded.scorecard_id, score = excluded.score, base_score = excluded.base_score, band = excluded.band,
    coverage = excluded.coverage, raw = excluded.raw, sub = excluded.sub, status = excluded.status, pulse = excluded.pulse,
    computed_at = excluded.computed_at, updated_at = now(), change_seq = excluded.change_seq,
    band_changed_at = case when h.band is distinct from excluded.band then excluded.computed_at else h.band_changed_at end
  where (h.scorecard_id, h.score, h.band, h.coverage, h.raw, h.sub, h.status, h.pulse)
        is distinct from (excluded.scorecard_id, excluded.score, excluded.band, excluded.coverage, excluded.raw, excluded.sub, excluded.status, excluded.pulse)
  returning account_id
),
band_changes as (
  insert into health_snapshots (account_id, taken_at, reason, day, scorecard_id, score, band, previous_band, coverage, raw, sub, status, pulse)
  select account_id, coalesce($3::timestamptz, now()), 'band_change', $2::date, $1, score, band, previous_band, coverage, raw, sub, status, pulse
    from computed where band is distinct from previous_band and band is not null
  returning account_id, previous_band, band, score
),
daily as (
  insert into health_snapshots (account_id, taken_at, reason, day, scorecard_id, score, band, previous_band, coverage, raw, sub, status, pulse)
  select account_id, coalesce($3::timestamptz, now()), 'daily', $2::date, $1, score, band, previous_band, coverage, raw, sub, status, pulse
    from computed
  on conflict (account_id, day) where reason = 'daily' do update set
    taken_at = excluded.taken_at, scorecard_id = excluded.scorecard_id, score = excluded.score, band = excluded.band,
    coverage = excluded.coverage, raw = excluded.raw, sub = excluded.sub, status = excluded.status, pulse = excluded.pulse
  where (health_snapshots.scorecard_id, health_snapshots.score, health_snapshots.band, health_snapshots.coverage,
         health_snapshots.raw, health_snapshots.sub, health_snapshots.status, health_snapshots.pulse)
        is distinct from (excluded.scorecard_id, excluded.score, excluded.band, excluded.coverage, excluded.raw, excluded.sub, excluded.status, excluded.pulse)
)
select (select count(*)::int from computed) as accounts,
       (select count(*)::int from changed) as changed,
       coalesce((select json_agg(json_build_array(account_id, previous_band, band, score)) from band_changes), '[]'::json)::text as band_changes`;
  const { rows } = await trx.executeQuery<{ accounts: number; changed: number; band_changes: string }>(
    // Unfrozen, the transaction's own now(): readers tell this run's snapshots by `taken_at < now()`.
    CompiledQuery.raw(statement, [card.id, utcDay(at), frozen ? at.toISOString() : null]),
  );
  const row = rows[0]!;
  const bandChanges = (JSON.parse(row.band_changes) as [number, Band | null, Band, number][]).map(
    ([accountId, previous, band, score]) => ({ accountId, previous, band, score }),
  );
  return { accounts: row.accounts, changed: row.changed, bandChanges };
}

/**
 * What runs after scoring, in the same transaction, with what it changed: the
 * composition root passes the churn-risk alerts (src/alerts raiseAlerts), so
 * scoring itself depends on nothing downstream of it.
 */
export type AfterScoring = (trx: Db, accountIds: number[] | null, result: RecomputeResult) => Promise<void>;

declare module '../http/env.js' {
  interface AppVariables {
    /** What runs after a recompute in a request, in its transaction: the churn-risk alerts (set by src/app.ts). */
    afterScoring: AfterScoring;
  }
}

export interface RecomputeOptions {
  /** Some accounts (the incremental run) or all (null). */
  accountIds: number[] | null;
  /** Run after scoring, in its transaction (the alerts). */
  after?: AfterScoring;
  /** The instant scored as now (default: the clock); tests freeze it. */
  at?: Date;
  /** Refresh the percentile distributions and feature information first (the full run does). */
  refreshDistributions?: boolean;
}

/**
 * Recomputes health in one transaction, set-based: features for the accounts,
 * then each active scorecard's statement over them. Returns what changed so
 * the caller can raise alerts and events in the same transaction.
 */
export async function recompute(db: Db, options: RecomputeOptions): Promise<RecomputeResult> {
  // Unfrozen, the run is as of the transaction's now(), so what it wrote itself (a pulse) is in it.
  const at = options.at ?? new Date();
  return inTransaction(db, async (trx) => {
    // The scoring statement's expressions are large; JIT-compiling them costs
    // minutes and cannot be cancelled, while plain execution takes seconds.
    await sql`select set_config('jit', 'off', true)`.execute(trx);
    // A full run joins every account's rows: hash joins are always right. Right
    // after a bulk load the planner's statistics can say "a few rows" and pick
    // nested loops over 100,000 accounts, which take hours instead of seconds.
    if (options.accountIds === null) await sql`select set_config('enable_nestloop', 'off', true)`.execute(trx);
    // Some accounts: their rows are a few index lookups each, and the signal tables are cached; at the
    // default random_page_cost (4, for spinning disks) the planner scans whole tables instead.
    else await sql`select set_config('random_page_cost', '1.1', true)`.execute(trx);
    const timings: Record<string, number> = {};
    let mark = performance.now();
    const lap = (step: string) => {
      const now = performance.now();
      timings[step] = (timings[step] ?? 0) + Math.round(now - mark);
      mark = now;
    };
    await ensureDefaultScorecard(trx);
    const cards = await activeScorecards(trx);
    const some = { accountIds: options.accountIds, at: options.at ?? null, live: true };
    await loadFeatures(trx, some);
    lap('features');
    const ranked = percentileFeatures(cards);
    const measured = measuredFeatures(cards);
    const knownDistributions = await trx.selectFrom('feature_distributions').select('feature').distinct().execute();
    const knownInformation = await trx.selectFrom('feature_information').select('feature').distinct().execute();
    const missing =
      ranked.some((f) => !knownDistributions.some((k) => k.feature === f)) || measured.some((f) => !knownInformation.some((k) => k.feature === f));
    if (options.refreshDistributions || missing) {
      if (options.accountIds !== null) await loadFeatures(trx, { ...some, accountIds: null });
      await refreshDistributions(trx, ranked, 'feature_distributions');
      await refreshInformation(trx, measured, at);
      if (options.accountIds !== null) await loadFeatures(trx, some);
    }
    const uninformative = await uninformativeFeatures(trx, options.at);
    lap('distributions');
    const total: RecomputeResult = { accounts: 0, changed: 0, bandChanges: [], timings };
    for (const card of cards) {
      const result = await writeScores(trx, card, cards, at, options.at !== undefined, uninformative);
      total.accounts += result.accounts;
      total.changed += result.changed;
      // Not push(...): a million band changes would overflow the call stack.
      for (const change of result.bandChanges) total.bandChanges.push(change);
    }
    lap('scoring');
    await options.after?.(trx, options.accountIds, total);
    lap('after');
    return total;
  });
}

/** How long a rescoring run holds the accounts it claimed; an abandoned claim comes round again after it. */
export const RESCORE_LEASE_SECONDS = 120;

/**
 * The incremental run: takes up to `limit` accounts marked for rescoring,
 * recomputes them and clears their marks, unless marked again meanwhile.
 * The claim is a lease taken in a short transaction of its own, so ingest
 * re-marking an account never waits for the recompute; concurrent runs take
 * disjoint accounts (SKIP LOCKED, then the lease). Should the recompute fail,
 * the lease runs out and the accounts are taken again. Given a transaction,
 * everything happens in it.
 */
export async function recomputeDirty(db: Db, limit = 10_000, after?: AfterScoring): Promise<RecomputeResult & { claimed: number }> {
  // No compaction of usage deltas in front of the run: the features query reads them as they are (src/scoring/jobs.ts).
  await foldRescoreMarks(db);
  // marked_at travels as text: a JS Date would drop its microseconds.
  const { rows: claimed } = await sql<{ account_id: number; marked_at: string }>`
    update rescore_queue q set claimed_until = now() + ${RESCORE_LEASE_SECONDS}::int * interval '1 second'
      from (select account_id from rescore_queue
             where claimed_until is null or claimed_until < now()
             order by marked_at limit ${limit}
               for update skip locked) due
     where q.account_id = due.account_id
    returning q.account_id, q.marked_at::text as marked_at`.execute(db);
  if (claimed.length === 0) return { accounts: 0, changed: 0, bandChanges: [], claimed: 0 };
  const ids = claimed.map((r) => Number(r.account_id));
  return inTransaction(db, async (trx) => {
    const result = await recompute(trx, { accountIds: ids, after });
    // A mark renewed during the recompute (a later marked_at) stays, free to be claimed again.
    await sql`
      with done as (
        select * from unnest(${ids}::int8[], ${claimed.map((r) => r.marked_at)}::text[]::timestamptz[]) as d(account_id, marked_at))
      delete from rescore_queue q using done
       where q.account_id = done.account_id and q.marked_at <= done.marked_at`.execute(trx);
    await sql`update rescore_queue set claimed_until = null where account_id = any(${ids}::int8[])`.execute(trx);
    return { ...result, claimed: ids.length };
  });
}

/** The nightly run: everyone, distributions refreshed, queue cleared of what this run covered. */
export async function recomputeAll(db: Db, at?: Date, after?: AfterScoring): Promise<RecomputeResult> {
  await compactUsage(db);
  await foldRescoreMarks(db);
  return inTransaction(db, async (trx) => {
    const started = await sql<{ now: Date }>`select now() as now`.execute(trx);
    const result = await recompute(trx, { accountIds: null, at, refreshDistributions: true, after });
    await sql`delete from rescore_queue where marked_at <= ${started.rows[0]!.now}`.execute(trx);
    return result;
  });
}
