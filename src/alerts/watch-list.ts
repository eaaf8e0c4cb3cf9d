import { type Kysely, sql } from 'kysely';
import type { Database } from '../db/schema.js';
import { budgetLimit, budgetState } from './budget.js';
import { activeRuleSet } from './rules.js';

type Db = Kysely<Database>;

export interface WatchEntry {
  account: { externalId: string; name: string };
  ruleKey: string;
  ruleType: string;
  severity: string;
  expectedLoss: number;
  reasons: string[];
  since: string;
}

/** The budget now: how many accounts may have an alert, and how many have one. */
export async function budgetNow(db: Db): Promise<{ limit: number | null; alertedAccounts: number; accounts: number; specialists: number }> {
  const set = await activeRuleSet(db);
  const state = await budgetState(db);
  const budget = set?.definition.budget ?? null;
  return {
    limit: budget ? budgetLimit(budget, state.accounts, state.specialists) : null,
    alertedAccounts: state.alerted,
    accounts: state.accounts,
    specialists: state.specialists,
  };
}

/** Conditions that hold outside the alert budget, highest expected loss first. */
export async function listWatchList(db: Db, limit: number): Promise<{ total: number; items: WatchEntry[] }> {
  const { rows } = await sql<{
    external_id: string;
    name: string;
    rule_key: string;
    rule_type: string;
    severity: string;
    expected_loss: number;
    reasons: string[];
    since: Date;
    total: number;
  }>`
    select a.external_id, a.name, w.rule_key, w.rule_type, w.severity, w.expected_loss, w.reasons, w.since,
           count(*) over ()::int as total
      from alert_watchlist w join accounts a on a.id = w.account_id
     where a.archived_at is null
     order by w.expected_loss desc, w.account_id, w.rule_key
     limit ${limit}`.execute(db);
  return {
    total: rows[0]?.total ?? 0,
    items: rows.map((r) => ({
      account: { externalId: r.external_id, name: r.name },
      ruleKey: r.rule_key,
      ruleType: r.rule_type,
      severity: r.severity,
      expectedLoss: Math.round(Number(r.expected_loss) * 100) / 100,
      reasons: r.reasons,
      since: new Date(r.since).toISOString(),
    })),
  };
}
