import { type Kysely, sql } from 'kysely';
import type { Database } from '../db/schema.js';
import type { FeedPosition } from '../http/cursor.js';
import { attribute, explain, type StoredScore } from './explain.js';
import type { Band } from './model.js';
import type { Locale } from '../i18n/index.js';
import { churnProbability } from './model.js';
import type { ScorecardDefinition } from './scorecard.js';
import { type PastScore, scoreAsOf } from './point-in-time.js';
import { findScorecard, type Scorecard } from './scorecards.js';

type Db = Kysely<Database>;

const round = (x: number | null) => (x === null ? null : Math.round(x * 100) / 100);
const roundProbability = (p: number | null) => (p === null ? null : Math.round(p * 1000) / 1000);

/** Scorecards by id, loaded once per request. */
async function scorecardLoader(db: Db) {
  const cache = new Map<number, Promise<Scorecard | undefined>>();
  return (id: number) => {
    if (!cache.has(id)) cache.set(id, findScorecard(db, id));
    return cache.get(id)!.then((c) => c!);
  };
}

async function scoreOnOrBefore(db: Db, accountId: number, day: string) {
  return db
    .selectFrom('health_snapshots')
    .select(['score', 'raw', 'sub', 'status', 'pulse', 'scorecard_id', 'taken_at'])
    .where('account_id', '=', accountId)
    .where('reason', '=', 'daily')
    .where('day', '<=', day)
    .orderBy('day', 'desc')
    .limit(1)
    .executeTakeFirst();
}

const daysBefore = (at: Date, n: number) => new Date(at.getTime() - n * 86400e3).toISOString().slice(0, 10);

/** A score as stored (health_scores) or computed for a past instant. */
type ScoreRow = PastScore & { computed_at: Date; updated_at: Date; band_changed_at: Date | null };

/** Everything a CSM needs about one account's health, or undefined when it has not been scored yet. */
export async function getHealth(db: Db, accountId: number, locale: Locale = 'en') {
  const row = await db.selectFrom('health_scores').selectAll().where('account_id', '=', accountId).executeTakeFirst();
  return row ? describeHealth(db, accountId, row, new Date(), locale) : undefined;
}

/**
 * The account's health as of a past instant, computed (not stored) by the same
 * SQL as the live score with every signal as it stood then; undefined when it
 * had nothing to score.
 */
export async function getHealthAsOf(db: Db, accountId: number, at: Date, locale: Locale = 'en') {
  const row = await scoreAsOf(db, accountId, at);
  return row ? describeHealth(db, accountId, { ...row, computed_at: at, updated_at: at, band_changed_at: null }, at, locale) : undefined;
}

async function describeHealth(db: Db, accountId: number, row: ScoreRow, at: Date, locale: Locale) {
  const card = await scorecardLoader(db);
  const scorecard = await card(row.scorecard_id);
  const stored: StoredScore = { score: row.score, raw: row.raw, sub: row.sub, status: row.status, pulse: row.pulse };
  const [week, month, pulse] = await Promise.all([
    scoreOnOrBefore(db, accountId, daysBefore(at, 7)),
    scoreOnOrBefore(db, accountId, daysBefore(at, 30)),
    db
      .selectFrom('health_pulses')
      .selectAll()
      .where('account_id', '=', accountId)
      .where('created_at', '<=', at)
      .where('expires_at', '>', at)
      .orderBy('created_at', 'desc')
      .orderBy('id', 'desc')
      .executeTakeFirst(),
  ]);
  const trend = (past: typeof week) => (past?.score != null && row.score !== null ? round(row.score - past.score) : null);
  const probability = churnProbability(scorecard.definition, row.score);
  return {
    score: round(row.score),
    baseScore: round(row.base_score),
    band: row.band as Band | null,
    coverage: round(row.coverage),
    churnProbability: roundProbability(probability),
    scorecard: { id: scorecard.id, version: scorecard.version, segment: scorecard.segment, name: scorecard.definition.name },
    trend: { days7: trend(week), days30: trend(month) },
    pulse: pulse
      ? { adjustment: pulse.adjustment, reason: pulse.reason, author: pulse.author, expiresAt: pulse.expires_at.toISOString() }
      : null,
    explanation: explain(scorecard.definition, stored, locale),
    attribution: week
      ? {
          since: week.taken_at.toISOString(),
          changes: attribute(
            { card: (await card(week.scorecard_id)).definition, stored: { score: week.score, raw: week.raw, sub: week.sub, status: week.status, pulse: week.pulse } },
            { card: scorecard.definition, stored },
            locale,
          ),
        }
      : null,
    computedAt: row.computed_at.toISOString(),
    updatedAt: row.updated_at.toISOString(),
    bandChangedAt: row.band_changed_at?.toISOString() ?? null,
  };
}

/** Records a CSM's manual adjustment of an account's score (the caller rescores it in the same transaction). */
export async function addPulse(trx: Db, accountId: number, pulse: { adjustment: number; reason: string; author: string | null; expiresAt: string }) {
  await trx
    .insertInto('health_pulses')
    .values({ account_id: accountId, adjustment: pulse.adjustment, reason: pulse.reason, author: pulse.author, expires_at: pulse.expiresAt })
    .execute();
}

/** Snapshots in a time range, each with what moved the score since the one before it. */
export async function getHealthHistory(db: Db, accountId: number, from: Date, to: Date, locale: Locale = 'en') {
  const rows = await db
    .selectFrom('health_snapshots')
    .selectAll()
    .where('account_id', '=', accountId)
    .where('taken_at', '>=', from)
    .where('taken_at', '<=', to)
    .orderBy('taken_at')
    .orderBy('reason')
    .limit(1000)
    .execute();
  const card = await scorecardLoader(db);
  const items = [];
  let previous: (typeof rows)[number] | undefined;
  for (const row of rows) {
    const stored = { score: row.score, raw: row.raw, sub: row.sub, status: row.status, pulse: row.pulse };
    items.push({
      takenAt: row.taken_at.toISOString(),
      day: row.day,
      reason: row.reason as 'daily' | 'band_change',
      score: round(row.score),
      band: row.band as Band | null,
      previousBand: row.previous_band as Band | null,
      coverage: round(row.coverage),
      backfilled: row.backfilled,
      changes: previous
        ? attribute(
            { card: (await card(previous.scorecard_id)).definition, stored: { score: previous.score, raw: previous.raw, sub: previous.sub, status: previous.status, pulse: previous.pulse } },
            { card: (await card(row.scorecard_id)).definition, stored },
            locale,
          )
        : [],
    });
    previous = row;
  }
  return items;
}

/**
 * The CRM sync feed: scores in change order. Writers of health_scores commit
 * in change_seq order (the change clock), so a reader that keeps its cursor
 * misses no account's latest score.
 */
export interface FeedFilter {
  band?: Band;
  owner?: string;
  segment?: string;
}

export async function healthFeed(db: Db, options: { after?: FeedPosition; updatedSince?: string; limit: number } & FeedFilter) {
  let query = db
    .selectFrom('health_scores as h')
    .innerJoin('accounts as a', 'a.id', 'h.account_id')
    .innerJoin('scorecards as s', 's.id', 'h.scorecard_id')
    .select(['a.external_id', 'a.name', 'a.owner', 'a.segment', 'h.account_id', 'h.score', 'h.band', 'h.coverage', 'h.updated_at', 'h.change_seq', 's.version', 's.segment_key', 'h.scorecard_id']);
  if (options.after) query = query.where(sql<boolean>`(h.change_seq, h.account_id) > (${options.after.seq}, ${options.after.id})`);
  if (options.updatedSince) query = query.where('h.updated_at', '>=', new Date(options.updatedSince));
  if (options.band) query = query.where('h.band', '=', options.band);
  if (options.owner) query = query.where('a.owner', '=', options.owner);
  if (options.segment) query = query.where('a.segment', '=', options.segment);
  const rows = await query.orderBy('h.change_seq').orderBy('h.account_id').limit(options.limit + 1).execute();
  const page = rows.slice(0, options.limit);
  const card = await scorecardLoader(db);
  const definitions = new Map<number, ScorecardDefinition>();
  for (const id of new Set(page.map((r) => r.scorecard_id))) definitions.set(id, (await card(id)).definition);
  const last = page.at(-1);
  return {
    items: page.map((r) => ({
      externalId: r.external_id,
      name: r.name,
      owner: r.owner,
      segment: r.segment,
      churnProbability: roundProbability(churnProbability(definitions.get(r.scorecard_id)!, r.score)),
      score: round(r.score),
      band: r.band as Band | null,
      coverage: round(r.coverage),
      scorecardVersion: r.version,
      scorecardSegment: r.segment_key === '' ? null : r.segment_key,
      updatedAt: r.updated_at.toISOString(),
    })),
    hasMore: rows.length > options.limit,
    last: last ? { seq: last.change_seq, id: last.account_id } : options.after,
  };
}
