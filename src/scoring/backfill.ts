import { CompiledQuery, type Kysely, sql } from 'kysely';
import type { Database } from '../db/schema.js';
import { inTransaction } from '../db/transaction.js';
import { keepAccounts, loadPopulationAt, startOfUtcDay } from './instants.js';
import { scoringInput, utcDay } from './recompute.js';
import { activeScorecards, ensureDefaultScorecard, type Scorecard } from './scorecards.js';
import { scoringSelect } from './sql.js';

type Db = Kysely<Database>;

const DAY_MS = 86_400_000;

export interface BackfillOptions {
  /** Accounts whose history is written (default null: every unarchived account). */
  accountIds?: number[] | null;
  /** Daily instants for this many days back (default 90). */
  dailyDays?: number;
  /** Then weekly instants back to this many days (default 365). */
  weeklyUntilDays?: number;
  /** Only instants that end a day on or after this UTC day ('YYYY-MM-DD'): the earliest day of back-dated signals. */
  since?: string;
  /** "Today" (default: the clock): the instants are the UTC midnights that end each past day, never today's. */
  now?: Date;
  signal?: AbortSignal;
}

export interface BackfillResult {
  instants: number;
  snapshots: number;
  bandChanges: number;
  /** The first and last day written, or null when none was. */
  from: string | null;
  to: string | null;
}

export const HISTORY_DEFAULTS = { dailyDays: 90, weeklyUntilDays: 365 } as const;

/**
 * The past instants of the history, oldest first: the midnight (UTC) that
 * ends each of the last `dailyDays` days, then every 7th day back to
 * `weeklyUntilDays`. Each is labelled with the day it ends.
 */
export function historyInstants(options: Pick<BackfillOptions, 'dailyDays' | 'weeklyUntilDays' | 'since' | 'now'> = {}): { at: Date; day: string }[] {
  const daily = options.dailyDays ?? HISTORY_DEFAULTS.dailyDays;
  const until = options.weeklyUntilDays ?? HISTORY_DEFAULTS.weeklyUntilDays;
  const midnight = startOfUtcDay(options.now ?? new Date()).getTime();
  const back: number[] = [];
  for (let k = 1; k <= daily; k++) back.push(k);
  for (let k = daily + 7; k <= until; k += 7) back.push(k);
  return back
    .map((k) => ({ at: new Date(midnight - (k - 1) * DAY_MS), day: utcDay(new Date(midnight - k * DAY_MS)) }))
    .filter((i) => options.since === undefined || i.day >= options.since)
    .reverse();
}

/**
 * Backfills the score history as of past days, in set-based SQL: for each
 * past instant T (oldest first, so each instant's band follows the one before
 * it with the live hysteresis), one statement computes every account's
 * features as of T (features-sql.ts; the live score is the case T = now), the
 * features with no information at T are judged on that population and stored
 * with T (history_instants), and each active scorecard's statement scores its
 * accounts into health_snapshots: the day's 'daily' snapshot, stamped T and
 * marked backfilled (replacing the day's snapshot, which the history now
 * knows better), and a 'band_change' snapshot where the band changed.
 *
 * It writes nothing else: no live score, no alert, no outbound event or
 * notification. The past is history, not news. Idempotent: a second run over
 * the same data writes the same rows.
 */
export async function backfillHistory(db: Db, options: BackfillOptions = {}): Promise<BackfillResult> {
  const instants = historyInstants(options);
  const result: BackfillResult = { instants: 0, snapshots: 0, bandChanges: 0, from: null, to: null };
  for (const instant of instants) {
    if (options.signal?.aborted) break;
    const done = await backfillInstant(db, instant.at, instant.day, options.accountIds ?? null);
    result.instants++;
    result.snapshots += done.snapshots;
    result.bandChanges += done.bandChanges;
    result.from ??= instant.day;
    result.to = instant.day;
  }
  return result;
}

/** One instant of the history, in a transaction of its own. */
export async function backfillInstant(db: Db, at: Date, day: string, accountIds: number[] | null) {
  return inTransaction(db, async (trx) => {
    await sql`select set_config('jit', 'off', true)`.execute(trx);
    await sql`select set_config('enable_nestloop', 'off', true)`.execute(trx);
    await ensureDefaultScorecard(trx);
    const cards = await activeScorecards(trx);
    const population = await loadPopulationAt(trx, at);
    await sql`
      insert into history_instants (as_of, uninformative, accounts, computed_at)
      values (${at.toISOString()}::timestamptz, ${[...population.uninformative].sort()}::text[], ${population.accounts}, now())
      on conflict (as_of) do update set uninformative = excluded.uninformative, accounts = excluded.accounts, computed_at = excluded.computed_at`.execute(trx);
    if (accountIds !== null) await keepAccounts(trx, accountIds);
    // A rerun may find fewer band changes than the run before: those it no longer finds go.
    await sql`
      delete from health_snapshots s using hs_features f
       where s.account_id = f.account_id and s.taken_at = ${at.toISOString()}::timestamptz and s.reason = 'band_change' and s.backfilled`.execute(trx);
    const written = { snapshots: 0, bandChanges: 0 };
    for (const card of cards) {
      const counts = await writeHistory(trx, card, cards, at, day, population.uninformative);
      written.snapshots += counts.snapshots;
      written.bandChanges += counts.band_changes;
    }
    return written;
  });
}

async function writeHistory(trx: Db, card: Scorecard, cards: Scorecard[], at: Date, day: string, uninformative: ReadonlySet<string>) {
  const select = scoringSelect(card.definition, scoringInput(card, cards, 'snapshot'), 'feature_distributions', uninformative);
  const columns = 'account_id, taken_at, reason, day, scorecard_id, score, band, previous_band, coverage, raw, sub, status, pulse, backfilled';
  const statement = `
with computed as materialized (${select}),
band_changes as (
  insert into health_snapshots (${columns})
  select account_id, $2::timestamptz, 'band_change', $3::date, $1, score, band, previous_band, coverage, raw, sub, status, pulse, true
    from computed where band is distinct from previous_band and band is not null
  on conflict (account_id, taken_at, reason) do update set
    scorecard_id = excluded.scorecard_id, score = excluded.score, band = excluded.band, previous_band = excluded.previous_band,
    coverage = excluded.coverage, raw = excluded.raw, sub = excluded.sub, status = excluded.status, pulse = excluded.pulse, backfilled = true
  returning 1
),
daily as (
  insert into health_snapshots (${columns})
  select account_id, $2::timestamptz, 'daily', $3::date, $1, score, band, previous_band, coverage, raw, sub, status, pulse, true
    from computed
  on conflict (account_id, day) where reason = 'daily' do update set
    taken_at = excluded.taken_at, scorecard_id = excluded.scorecard_id, score = excluded.score, band = excluded.band,
    previous_band = excluded.previous_band, coverage = excluded.coverage, raw = excluded.raw, sub = excluded.sub,
    status = excluded.status, pulse = excluded.pulse, backfilled = true
  returning 1
)
select (select count(*)::int from daily) as snapshots, (select count(*)::int from band_changes) as band_changes`;
  const { rows } = await trx.executeQuery<{ snapshots: number; band_changes: number }>(CompiledQuery.raw(statement, [card.id, at.toISOString(), day]));
  return rows[0]!;
}

/**
 * Queues accounts whose signals arrived back-dated (a day before today, UTC)
 * for the history backfill, from the earliest such day. Append-only.
 */
export async function markForBackfill(db: Db, days: { accountId: number; day: string }[], now = new Date()) {
  const today = utcDay(now);
  const earliest = new Map<number, string>();
  for (const { accountId, day } of days) {
    if (day >= today) continue;
    const seen = earliest.get(accountId);
    if (seen === undefined || day < seen) earliest.set(accountId, day);
  }
  if (earliest.size === 0) return;
  await sql`insert into history_backfill_marks (account_id, since)
            select * from unnest(${[...earliest.keys()]}::int8[], ${[...earliest.values()]}::date[])`.execute(db);
}

/** How long marks must rest (no new back-dated signal) before the history is backfilled: an import in flight is not history yet. */
export const HISTORY_SETTLE_MS = 60_000;

/**
 * The backfill-history job's body: once no back-dated signal has arrived for
 * `settleMs`, takes every mark and backfills those accounts' history from the
 * earliest marked day (instants the signals cannot have changed are left as
 * they are). Marks that arrive meanwhile stay for the next run.
 */
export async function backfillMarked(db: Db, options: { settleMs?: number; now?: Date; signal?: AbortSignal } & Pick<BackfillOptions, 'dailyDays' | 'weeklyUntilDays'> = {}) {
  const settleMs = options.settleMs ?? HISTORY_SETTLE_MS;
  const { rows } = await sql<{ newest: Date | null }>`select max(marked_at) as newest from history_backfill_marks`.execute(db);
  const newest = rows[0]?.newest;
  if (!newest) return { accounts: 0, instants: 0, snapshots: 0, waiting: 0 };
  const { rows: clock } = await sql<{ now: Date }>`select now() as now`.execute(db);
  if (clock[0]!.now.getTime() - newest.getTime() < settleMs) {
    const { rows: waiting } = await sql<{ n: number }>`select count(distinct account_id)::int as n from history_backfill_marks`.execute(db);
    return { accounts: 0, instants: 0, snapshots: 0, waiting: waiting[0]!.n };
  }
  const { rows: taken } = await sql<{ account_id: string; since: string }>`
    delete from history_backfill_marks where marked_at <= ${newest} returning account_id::text, since::text`.execute(db);
  const ids = [...new Set(taken.map((t) => Number(t.account_id)))];
  const since = taken.reduce((min, t) => (t.since < min ? t.since : min), taken[0]!.since);
  try {
    const done = await backfillHistory(db, { accountIds: ids, since, now: options.now, signal: options.signal, dailyDays: options.dailyDays, weeklyUntilDays: options.weeklyUntilDays });
    return { accounts: ids.length, instants: done.instants, snapshots: done.snapshots, waiting: 0 };
  } catch (error) {
    // Put the marks back: the next run tries again.
    await markForBackfill(db, taken.map((t) => ({ accountId: Number(t.account_id), day: t.since })), options.now);
    throw error;
  }
}
