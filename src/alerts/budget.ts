import { type Kysely, sql } from 'kysely';
import type { Database } from '../db/schema.js';
import { churnProbability } from '../scoring/model.js';
import { scorecardCache } from './digest.js';
import type { AlertBudget } from './rules.js';

type Db = Kysely<Database>;

/**
 * Expected loss of an account: its churn probability (a fitted scorecard's
 * calibration) times its ARR; without a calibration, (100 − score) / 100
 * stands in for the probability, and an account without a known ARR counts
 * 1 (so such accounts rank by risk, below any with an ARR).
 */
export function expectedLoss(score: number | null, arr: number | null, probability: number | null): number {
  const risk = probability ?? (score === null ? 0.5 : Math.min(1, Math.max(0, (100 - score) / 100)));
  return risk * (arr !== null && arr > 0 ? arr : 1);
}

/** How many accounts may have an unresolved alert at once. */
export function budgetLimit(budget: AlertBudget, accounts: number, specialists: number): number {
  const byShare = Math.floor(budget.maxShareOfAccounts * accounts);
  const byTeam = budget.perSpecialist !== null && specialists > 0 ? budget.perSpecialist * specialists : Number.POSITIVE_INFINITY;
  return Math.max(budget.minAlerts, Math.min(byShare, byTeam));
}

/** Accounts in the order they get alerts: highest expected loss first (ties by account id). */
export function rankByLoss<T extends { accountId: number; loss: number }>(items: T[]): T[] {
  return [...items].sort((a, b) => b.loss - a.loss || a.accountId - b.accountId);
}

/** Active accounts, specialists (pool members and retention owners) and accounts with an unresolved alert now. */
export async function budgetState(db: Db): Promise<{ accounts: number; specialists: number; alerted: number }> {
  const { rows } = await sql<{ accounts: number; specialists: number; alerted: number }>`
    select (select count(*)::int from accounts where archived_at is null) as accounts,
           (select count(*)::int from (select member as who from retention_pool
                                       union select lower(retention_owner) from accounts
                                        where archived_at is null and retention_owner is not null) s) as specialists,
           (select count(distinct account_id)::int from alerts where status <> 'resolved') as alerted`.execute(db);
  return rows[0]!;
}

/** Expected loss of each account (src/alerts/budget.ts expectedLoss), from its stored score and contracts. */
export async function expectedLosses(db: Db, accountIds: number[]): Promise<Map<number, number>> {
  const out = new Map<number, number>();
  if (accountIds.length === 0) return out;
  const { rows } = await sql<{ account_id: number; score: number | null; scorecard_id: number | null; arr: number | null }>`
    select a.id as account_id, h.score, h.scorecard_id,
           coalesce((select sum(c.arr) from contracts c where c.account_id = a.id and c.status in ('active', 'renewed')),
                    (select c.arr from contracts c where c.account_id = a.id order by c.end_date desc limit 1))::float8 as arr
      from accounts a left join health_scores h on h.account_id = a.id
     where a.id = any(${accountIds}::int8[])`.execute(db);
  const cards = scorecardCache(db);
  await cards.load(rows.flatMap((r) => (r.scorecard_id === null ? [] : [r.scorecard_id])));
  for (const r of rows) {
    const card = r.scorecard_id === null ? undefined : cards.get(r.scorecard_id);
    const score = r.score === null ? null : Number(r.score);
    const probability = card ? churnProbability(card, score) : null;
    out.set(Number(r.account_id), expectedLoss(score, r.arr === null ? null : Number(r.arr), probability));
  }
  return out;
}
