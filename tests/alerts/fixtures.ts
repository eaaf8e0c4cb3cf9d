import { type Kysely, sql } from 'kysely';
import { jsonb } from '../../src/db/params.js';
import type { Database } from '../../src/db/schema.js';
import { DEFAULT_RULE_SET, type RuleSetDefinition } from '../../src/alerts/rules.js';
import { measuresOf, DEFAULT_SCORECARD } from '../../src/scoring/scorecard.js';
import { ensureDefaultScorecard } from '../../src/scoring/scorecards.js';

type Db = Kysely<Database>;

export const DAY = 86400e3;
export const daysFromNow = (n: number) => new Date(Date.now() + n * DAY).toISOString().slice(0, 10);
export const ago = (days: number) => new Date(Date.now() - days * DAY);

let counter = 0;
/** A fresh account; returns its id. */
export async function makeAccount(
  db: Db,
  fields: { externalId?: string; retentionOwner?: string | null; renewalDate?: string | null; owner?: string | null } = {},
) {
  const row = await db
    .insertInto('accounts')
    .values({
      external_id: fields.externalId ?? `acct-${process.pid}-${++counter}`,
      name: fields.externalId ?? `Account ${counter}`,
      retention_owner: fields.retentionOwner ?? null,
      renewal_date: fields.renewalDate ?? null,
      owner: fields.owner ?? null,
      attributes: jsonb({}),
    })
    .returning('id')
    .executeTakeFirstOrThrow();
  return row.id;
}

/** Measure values as [raw, subScore] by measure key; the others are missing. */
export type Measures = Record<string, [number, number]>;

const KEYS = measuresOf(DEFAULT_SCORECARD).map((m) => m.key);
const arrays = (measures: Measures) => ({
  raw: KEYS.map((k) => measures[k]?.[0] ?? null),
  sub: KEYS.map((k) => measures[k]?.[1] ?? null),
});

async function defaultScorecardId(db: Db) {
  await ensureDefaultScorecard(db);
  return (await db.selectFrom('scorecards').select('id').where('segment_key', '=', '').where('version', '=', 1).executeTakeFirstOrThrow()).id;
}

/** Writes an account's current health directly (the rules read health_scores). */
export async function setScore(db: Db, accountId: number, score: number, band: 'green' | 'yellow' | 'red', measures: Measures = {}) {
  const card = await defaultScorecardId(db);
  const { raw, sub } = arrays(measures);
  await sql`
    insert into health_scores (account_id, scorecard_id, score, base_score, band, coverage, raw, sub, pulse, band_changed_at, change_seq)
    values (${accountId}, ${card}, ${score}, ${score}, ${band}, 1, ${raw}::float8[], ${sub}::float8[], null, now(), 0)
    on conflict (account_id) do update set score = excluded.score, base_score = excluded.base_score, raw = excluded.raw,
      sub = excluded.sub, band_changed_at = case when health_scores.band is distinct from excluded.band then now() else health_scores.band_changed_at end,
      band = excluded.band`.execute(db);
}

/** A past daily snapshot (score_drop measures from these). */
export async function addSnapshot(db: Db, accountId: number, daysAgo: number, score: number, measures: Measures = {}) {
  const card = await defaultScorecardId(db);
  const { raw, sub } = arrays(measures);
  const at = ago(daysAgo);
  await sql`
    insert into health_snapshots (account_id, taken_at, reason, day, scorecard_id, score, band, coverage, raw, sub)
    values (${accountId}, ${at}, 'daily', ${at.toISOString().slice(0, 10)}::date, ${card}, ${score}, 'green', 1,
            ${raw}::float8[], ${sub}::float8[])`.execute(db);
}

/** Installs and activates a rule set (the default with changes, by default; without the budget unless given one). */
export async function useRuleSet(db: Db, definition: Partial<RuleSetDefinition> = {}) {
  const full = { ...DEFAULT_RULE_SET, budget: null, ...definition };
  const row = await db
    .insertInto('alert_rule_sets')
    .values({ version: sql<number>`(select coalesce(max(version), 0) + 1 from alert_rule_sets)`, definition: jsonb(full) })
    .returning('id')
    .executeTakeFirstOrThrow();
  await db.transaction().execute(async (trx) => {
    await trx.updateTable('alert_rule_sets').set({ active: false }).where('active', '=', true).execute();
    await trx.updateTable('alert_rule_sets').set({ active: true, activated_at: new Date() }).where('id', '=', row.id).execute();
  });
  return row.id;
}

export async function alertsOf(db: Db, accountId: number) {
  return db.selectFrom('alerts').selectAll().where('account_id', '=', accountId).orderBy('id').execute();
}

export async function historyOf(db: Db, alertId: number) {
  return db.selectFrom('alert_events').selectAll().where('alert_id', '=', alertId).orderBy('id').execute();
}

export async function eventsOf(db: Db, accountId: number, type?: string) {
  let q = db.selectFrom('webhook_events').select(['id', 'type', 'payload']).where('subject_account_id', '=', accountId);
  if (type) q = q.where('type', '=', type);
  return (await q.orderBy('created_at').orderBy('id').execute()).map((e) => ({ ...e, payload: e.payload as Record<string, any> }));
}

/** Measures of a struggling account: NPS detractor, heavy open tickets. */
export const STRUGGLING: Measures = { nps: [2, 10], open_tickets: [8, 20], adoption: [0.9, 100], payment: [0, 100] };
/** The same account a week earlier, before it went wrong. */
export const HEALTHY: Measures = { nps: [9, 100], open_tickets: [0, 100], adoption: [0.9, 100], payment: [0, 100] };
