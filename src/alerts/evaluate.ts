import { type Kysely, sql } from 'kysely';
import type { Database } from '../db/schema.js';
import { inTransaction } from '../db/transaction.js';
import type { MeasureExplanation } from '../scoring/explain.js';
import { assignFromPool, followOwnerChanges } from './assignment.js';
import { type AlertChange, recordChanges, SYSTEM } from './changes.js';
import { type Hit, kindOf, type Scope } from './conditions.js';
import { type HealthDigest, loadDigests, scorecardCache } from './digest.js';
import { activeRuleSet, type Rule, type RuleSet } from './rules.js';
import { budgetLimit, budgetState, expectedLosses, rankByLoss } from './budget.js';
import { unsettledAccounts } from './settling.js';

type Db = Kysely<Database>;

export interface EvaluationSummary {
  /** Version of the rule set that evaluated. */
  ruleSetVersion: number;
  /** (account, rule) pairs whose condition holds. */
  matched: number;
  opened: number;
  /** Alerts whose severity or reasons changed materially (churn_risk.updated). */
  updated: number;
  resolved: number;
  /** Conditions that held but could not open a new alert because of the frequency cap. */
  capped: number;
  reassigned: number;
  unsnoozed: number;
  /** Conditions that hold outside the alert budget: on the watch list. */
  watched: number;
  /** Accounts in scope whose import has not settled: their alerts wait. */
  waiting: number;
}

/** Why an evaluation runs: an activation re-checks every open alert against the new definitions. */
export type EvaluationCause = 'scorecard_changed' | 'rules_changed';

export interface EvaluationOptions {
  describeSlice?: number;
  /**
   * An activation: alerts whose condition no longer holds resolve with this
   * resolution (not condition_cleared), and the frequency cap does not hold
   * back the openings of the new definitions.
   */
  cause?: EvaluationCause;
}

/** An alert as evaluation would have it now, for one account and rule. */
interface Candidate {
  account_id: number;
  rule_key: string;
  rule_type: string;
  severity: string;
  reasons: string[];
  metrics: Record<string, unknown>;
  signature: { severity: string; measures: string[]; bucket: unknown };
  cooldown_hours: number;
}

const REASON_MEASURES = 3;
/** Accounts whose hits are described (digests, reasons) and applied at a time. */
export const DESCRIBE_SLICE = 5_000;

/**
 * The measures that cost the score most (sub-score under 50, by points lost),
 * from the rule's groups when it has any there.
 */
function weakMeasures(digest: HealthDigest | undefined, groups: string[] | null): MeasureExplanation[] {
  if (!digest) return [];
  const weak = digest.explanation
    .filter((e) => e.status === 'ok' && e.subScore !== null && e.subScore < 50)
    .sort((a, b) => b.effectiveWeight * (100 - b.subScore!) - a.effectiveWeight * (100 - a.subScore!) || a.key.localeCompare(b.key));
  const preferred = groups ? weak.filter((e) => groups.includes(e.group)) : weak;
  return (preferred.length ? preferred : weak).slice(0, REASON_MEASURES);
}

const jsonParam = (value: unknown) => sql`cast(${JSON.stringify(value)}::text as jsonb)`;

/**
 * Evaluates the active rule set over some accounts (ids) or all (null), in
 * the caller's transaction or one of its own, and brings their alerts in
 * line: opens alerts for conditions that hold (once per account and rule,
 * under the frequency cap), updates open ones, resolves those whose condition
 * cleared or whose rule is gone, wakes snoozed alerts that are due and
 * follows changes of retention owners. Every change is written to the alert
 * history and the webhook outbox in the same transaction.
 *
 * Set-based: one statement per rule to find where its condition holds, then a
 * fixed handful of statements to apply the result, however many accounts.
 * `_result` (what the recompute changed) is accepted for the recompute hook;
 * conditions are read from the tables it has just written.
 */
export async function evaluateRules(
  db: Db,
  accountIds: number[] | null,
  _result?: unknown,
  options: EvaluationOptions = {},
): Promise<EvaluationSummary> {
  const sliceSize = options.describeSlice ?? DESCRIBE_SLICE;
  const summary: EvaluationSummary = {
    ruleSetVersion: 0,
    matched: 0,
    opened: 0,
    updated: 0,
    resolved: 0,
    capped: 0,
    reassigned: 0,
    unsnoozed: 0,
    watched: 0,
    waiting: 0,
  };
  if (accountIds !== null && accountIds.length === 0) return summary;
  const scope: Scope = accountIds === null ? null : [...new Set(accountIds)].sort((a, b) => a - b);
  return inTransaction(db, async (trx) => {
    const set = await activeRuleSet(trx);
    if (!set) throw new Error('no active alert rule set');
    summary.ruleSetVersion = set.version;
    const rules = set.definition.rules.filter((r) => r.enabled);
    // Accounts whose history is still arriving are left as they are until it has settled.
    const unsettled = await unsettledAccounts(trx, scope, set.definition.settleMinutes);
    const waiting = new Set(unsettled);
    summary.waiting = unsettled.length;

    const found: { rule: Rule; hits: Hit[] }[] = [];
    for (const rule of rules) found.push({ rule, hits: (await kindOf(rule).find(trx, scope, rule)).filter((h) => !waiting.has(h.accountId)) });
    const hitKeys = found.flatMap(({ rule, hits }) => hits.map((h) => ({ account_id: h.accountId, rule_key: rule.key })));
    const resolved = await resolveCleared(trx, scope, rules, hitKeys, set.version, unsettled, options.cause);
    await recordChanges(trx, resolved);
    summary.resolved = resolved.length;

    // The budget: accounts with an unresolved alert keep it; new ones get one in order of expected loss while
    // there is room, the rest go on the watch list.
    const hitAccounts = [...new Set(hitKeys.map((k) => k.account_id))];
    const losses = set.definition.budget ? await expectedLosses(trx, hitAccounts) : new Map<number, number>();
    let admitted: Set<number> | null = null;
    if (set.definition.budget && hitAccounts.length > 0) {
      const { rows } = await sql<{ account_id: number }>`
        select distinct account_id from alerts where status <> 'resolved' and account_id = any(${hitAccounts}::int8[])`.execute(trx);
      const alerted = new Set(rows.map((r) => Number(r.account_id)));
      const state = await budgetState(trx);
      const room = Math.max(0, budgetLimit(set.definition.budget, state.accounts, state.specialists) - state.alerted);
      // An account whose every holding rule is within its frequency cap would not open: it takes no room.
      const held = options.cause ? new Set<number>() : await fullyCapped(trx, set, found, alerted);
      const fresh = rankByLoss(
        hitAccounts.filter((a) => !alerted.has(a) && !held.has(a)).map((accountId) => ({ accountId, loss: losses.get(accountId) ?? 0 })),
      );
      admitted = new Set([...alerted, ...fresh.slice(0, room).map((f) => f.accountId)]);
    }
    const watchKeys: { account_id: number; rule_key: string }[] = [];

    // Reasons come from each account's explained score: built a slice of accounts at a time, so a
    // first scoring of a million accounts never holds every digest at once.
    const accounts = [...new Set(hitKeys.map((k) => k.account_id))].sort((a, b) => a - b);
    for (let i = 0; i < accounts.length; i += sliceSize) {
      const slice = new Set(accounts.slice(i, i + sliceSize));
      const described = await describe(trx, set, found.map(({ rule, hits }) => ({ rule, hits: hits.filter((h) => slice.has(h.accountId)) })));
      summary.matched += described.length;
      const candidates = admitted ? described.filter((c) => admitted.has(c.account_id)) : described;
      const watch = admitted ? described.filter((c) => !admitted.has(c.account_id)) : [];
      summary.watched += await upsertWatchList(trx, watch, losses);
      for (const w of watch) watchKeys.push({ account_id: w.account_id, rule_key: w.rule_key });
      const updated = await updateExisting(trx, candidates, set.version);
      const opened = await openNew(trx, candidates, set.version, options.cause !== undefined);
      await recordChanges(trx, [...updated, ...opened.changes]);
      summary.updated += updated.length;
      summary.opened += opened.changes.length;
      summary.capped += opened.capped;
    }
    await pruneWatchList(trx, scope, watchKeys, unsettled);
    const unsnoozed = await wakeSnoozed(trx, scope);
    const reassigned = await followOwnerChanges(trx, scope);
    await recordChanges(trx, [...unsnoozed, ...reassigned]);
    summary.unsnoozed = unsnoozed.length;
    summary.reassigned = reassigned.length;
    return summary;
  });
}

/** Reasons, numbers and the material-change signature of every hit. */
async function describe(trx: Db, set: RuleSet, found: { rule: Rule; hits: Hit[] }[]): Promise<Candidate[]> {
  const accountIds = found.flatMap((f) => f.hits.map((h) => h.accountId));
  const digests = await loadDigests(trx, accountIds, 'week');
  const cards = scorecardCache(trx);
  await cards.load(found.flatMap((f) => f.hits.flatMap((h) => (h.reference ? [h.reference.scorecardId] : []))));
  const candidates: Candidate[] = [];
  for (const { rule, hits } of found) {
    const kind = kindOf(rule);
    const seen = new Set<number>();
    for (const hit of hits) {
      if (seen.has(hit.accountId)) continue;
      seen.add(hit.accountId);
      const digest = digests.get(hit.accountId);
      const { sentence, bucket } = kind.describe(rule as never, hit, digest, cards.get);
      const weak = weakMeasures(digest, kind.groups);
      candidates.push({
        account_id: hit.accountId,
        rule_key: rule.key,
        rule_type: rule.type,
        severity: rule.severity,
        reasons: [sentence, ...weak.map((w) => w.sentence)],
        metrics: hit.metrics,
        signature: { severity: rule.severity, measures: weak.map((w) => w.key).sort(), bucket },
        cooldown_hours: rule.cooldownHours ?? set.definition.cooldownHours,
      });
    }
  }
  // A fixed order: rows are locked in it, so concurrent evaluations do not deadlock.
  return candidates.sort((a, b) => a.account_id - b.account_id || a.rule_key.localeCompare(b.rule_key));
}

const CAUSE_SENTENCES: Record<EvaluationCause, string> = {
  scorecard_changed: 'scorecard changed',
  rules_changed: 'alert rules changed',
};

/**
 * Resolves the unresolved alerts in scope whose condition no longer holds
 * ('condition_cleared'; also when the account was archived) or whose rule is
 * no longer enabled in the active set ('rule_removed').
 */
async function resolveCleared(
  trx: Db,
  scope: Scope,
  rules: Rule[],
  hits: { account_id: number; rule_key: string }[],
  version: number,
  unsettled: number[] = [],
  cause?: EvaluationCause,
): Promise<AlertChange[]> {
  const keys = rules.map((r) => r.key);
  const cleared = cause ?? 'condition_cleared';
  const { rows } = await sql<{ id: number; rule_key: string; archived: boolean; retired: boolean }>`
    with hits as (
      select * from jsonb_to_recordset(${jsonParam(hits)}) as h(account_id int8, rule_key text)),
    target as (
      select a.id, acc.archived_at is not null as archived, not (a.rule_key = any(${keys}::text[])) as retired
        from alerts a
        join accounts acc on acc.id = a.account_id
       where a.status <> 'resolved'
         and (${scope}::int8[] is null or a.account_id = any(${scope}::int8[]))
         and not (a.account_id = any(${unsettled}::int8[]))
         and not exists (select 1 from hits h where h.account_id = a.account_id and h.rule_key = a.rule_key)
       order by a.account_id, a.rule_key
         for update of a)
    update alerts a
       set status = 'resolved', resolved_at = now(), resolved_by = ${SYSTEM},
           resolution = case when t.retired then 'rule_removed' when t.archived then 'condition_cleared' else ${cleared} end,
           snoozed_until = null, updated_at = now()
      from target t
     where a.id = t.id
    returning a.id, a.rule_key, t.archived, t.retired`.execute(trx);
  const byKey = new Map(rules.map((r) => [r.key, r]));
  return rows.map((r) => {
    const rule = byKey.get(r.rule_key);
    const reason = r.retired
      ? `rule ${r.rule_key} is not enabled in alert rule set v${version}`
      : r.archived
        ? 'the account was archived'
        : cause
          ? `${CAUSE_SENTENCES[cause]}: ${kindOf(rule!).cleared(rule as never)}`
          : kindOf(rule!).cleared(rule as never);
    return {
      alertId: r.id,
      action: 'resolved' as const,
      actor: SYSTEM,
      details: { resolution: r.retired ? 'rule_removed' : r.archived ? 'condition_cleared' : cleared, reason },
    };
  });
}

/**
 * Refreshes unresolved alerts whose condition still holds with the current
 * numbers and reasons. Only a material change (severity, the measures cited,
 * or a coarse bucket of the rule's number) is recorded and sent as
 * churn_risk.updated; smaller drifts update the alert silently.
 */
async function updateExisting(trx: Db, candidates: Candidate[], version: number): Promise<AlertChange[]> {
  if (candidates.length === 0) return [];
  const { rows } = await sql<{ id: number; old_severity: string; severity: string; material: boolean; reasons: string[] }>`
    with h as (
      select * from jsonb_to_recordset(${jsonParam(candidates)})
        as h(account_id int8, rule_key text, rule_type text, severity text, reasons jsonb, metrics jsonb, signature jsonb)),
    target as (
      select a.id, a.severity as old_severity, a.signature as old_signature,
             h.rule_type, h.severity, h.reasons, h.metrics, h.signature
        from alerts a
        join h on h.account_id = a.account_id and h.rule_key = a.rule_key
       where a.status <> 'resolved'
         and (a.rule_type, a.severity, a.reasons, a.metrics, a.signature, a.rule_set_version)
             is distinct from (h.rule_type, h.severity, h.reasons, h.metrics, h.signature, ${version}::int)
       order by a.account_id, a.rule_key
         for update of a)
    update alerts a
       set rule_type = t.rule_type, severity = t.severity, reasons = t.reasons, metrics = t.metrics,
           signature = t.signature, rule_set_version = ${version}::int, updated_at = now()
      from target t
     where a.id = t.id
    returning a.id, t.old_severity, t.severity, (t.old_signature is distinct from t.signature) as material, t.reasons`.execute(trx);
  return rows
    .filter((r) => r.material)
    .map((r) => ({
      alertId: r.id,
      action: 'updated' as const,
      actor: SYSTEM,
      details: { ...(r.old_severity !== r.severity ? { severity: { from: r.old_severity, to: r.severity } } : {}), reasons: r.reasons },
    }));
}

/**
 * Opens alerts for conditions without an unresolved alert. Two guards, both
 * in the database:
 *  - the frequency cap: the (account, rule) row of alert_openings is claimed
 *    by INSERT … ON CONFLICT DO UPDATE … WHERE the last opening (and the last
 *    resolution by hand) is older than the cooldown. Concurrent evaluations
 *    wait on that row; the later one sees the earlier one's opening and
 *    opens nothing.
 *  - the partial unique index alerts_one_unresolved: the insert is ON
 *    CONFLICT DO NOTHING, so even with the cap off no second unresolved
 *    alert for the account and rule can exist.
 * New alerts go to the account's retention owner, else to the pool.
 */
async function openNew(trx: Db, candidates: Candidate[], version: number, uncapped = false): Promise<{ changes: AlertChange[]; capped: number }> {
  if (candidates.length === 0) return { changes: [], capped: 0 };
  const { rows } = await sql<{ fresh: number; allowed: number; opened: string }>`
    with h as (
      select * from jsonb_to_recordset(${jsonParam(candidates)})
        as h(account_id int8, rule_key text, rule_type text, severity text, reasons jsonb, metrics jsonb, signature jsonb,
             cooldown_hours float8)),
    fresh as (
      select h.* from h
       where not exists (select 1 from alerts a
                          where a.account_id = h.account_id and a.rule_key = h.rule_key and a.status <> 'resolved')),
    allowed as (
      insert into alert_openings as o (account_id, rule_key, last_opened_at)
      select account_id, rule_key, now() from fresh order by account_id, rule_key
      on conflict (account_id, rule_key) do update set last_opened_at = excluded.last_opened_at
       where ${uncapped}::boolean
          or greatest(o.last_opened_at, coalesce(o.last_dismissed_at, '-infinity'::timestamptz))
             <= now() - make_interval(secs => 3600 * (select f.cooldown_hours from fresh f
                                                        where f.account_id = o.account_id and f.rule_key = o.rule_key))
      returning account_id, rule_key),
    opened as (
      insert into alerts (account_id, rule_key, rule_type, rule_set_version, severity, reasons, metrics, signature,
                          assignee, assigned_via, owner_at_assignment)
      select f.account_id, f.rule_key, f.rule_type, ${version}::int, f.severity, f.reasons, f.metrics, f.signature,
             acc.retention_owner, case when acc.retention_owner is not null then 'retention_owner' end, acc.retention_owner
        from fresh f
        join allowed al on al.account_id = f.account_id and al.rule_key = f.rule_key
        join accounts acc on acc.id = f.account_id
       order by f.account_id, f.rule_key
      on conflict (account_id, rule_key) where status <> 'resolved' do nothing
      returning id, assignee, assigned_via, severity, reasons, metrics)
    select (select count(*) from fresh)::int as fresh, (select count(*) from allowed)::int as allowed,
           coalesce((select json_agg(json_build_array(id, assignee, assigned_via, severity, reasons, metrics) order by id) from opened), '[]')::text as opened
  `.execute(trx);
  const row = rows[0]!;
  const opened = JSON.parse(row.opened) as [number, string | null, string | null, string, string[], Record<string, unknown>][];
  const pooled = await assignFromPool(trx, opened.filter(([, assignee]) => assignee === null).map(([id]) => id));
  return {
    capped: row.fresh - row.allowed,
    changes: opened.map(([id, assignee, via, severity, reasons, metrics]) => ({
      alertId: id,
      action: 'opened' as const,
      actor: SYSTEM,
      details: {
        severity,
        reasons,
        metrics,
        ruleSetVersion: version,
        assignee: assignee ?? pooled.get(id) ?? null,
        assignedVia: assignee ? via : pooled.has(id) ? 'pool' : null,
      },
    })),
  };
}

/** Accounts (without an unresolved alert) none of whose holding rules may open now because of the frequency cap. */
async function fullyCapped(trx: Db, set: RuleSet, found: { rule: Rule; hits: Hit[] }[], alerted: Set<number>): Promise<Set<number>> {
  const pairs = found.flatMap(({ rule, hits }) =>
    hits
      .filter((h) => !alerted.has(h.accountId))
      .map((h) => ({ account_id: h.accountId, rule_key: rule.key, cooldown_hours: rule.cooldownHours ?? set.definition.cooldownHours })),
  );
  if (pairs.length === 0) return new Set();
  const { rows } = await sql<{ account_id: number }>`
    with p as (select * from jsonb_to_recordset(${jsonParam(pairs)}) as p(account_id int8, rule_key text, cooldown_hours float8))
    select p.account_id from p
      left join alert_openings o on o.account_id = p.account_id and o.rule_key = p.rule_key
     group by p.account_id
    having bool_and(o.account_id is not null
                    and greatest(o.last_opened_at, coalesce(o.last_dismissed_at, '-infinity'::timestamptz))
                        > now() - make_interval(secs => 3600 * p.cooldown_hours))`.execute(trx);
  return new Set(rows.map((r) => Number(r.account_id)));
}

/** Conditions outside the budget, with their expected loss: the watch list. */
async function upsertWatchList(trx: Db, watch: Candidate[], losses: Map<number, number>): Promise<number> {
  if (watch.length === 0) return 0;
  const rows = watch.map((w) => ({ ...w, expected_loss: losses.get(w.account_id) ?? 0 }));
  await sql`
    insert into alert_watchlist as w (account_id, rule_key, rule_type, severity, expected_loss, reasons, metrics)
    select account_id, rule_key, rule_type, severity, expected_loss, reasons, metrics
      from jsonb_to_recordset(${jsonParam(rows)})
        as h(account_id int8, rule_key text, rule_type text, severity text, expected_loss float8, reasons jsonb, metrics jsonb)
     order by account_id, rule_key
    on conflict (account_id, rule_key) do update set
      rule_type = excluded.rule_type, severity = excluded.severity, expected_loss = excluded.expected_loss,
      reasons = excluded.reasons, metrics = excluded.metrics, updated_at = now()`.execute(trx);
  return watch.length;
}

/** Watch-list entries in scope that this evaluation did not keep there (the condition cleared, or an alert opened). */
async function pruneWatchList(trx: Db, scope: Scope, kept: { account_id: number; rule_key: string }[], unsettled: number[]) {
  await sql`
    with kept as (select * from jsonb_to_recordset(${jsonParam(kept)}) as k(account_id int8, rule_key text))
    delete from alert_watchlist w
     where (${scope}::int8[] is null or w.account_id = any(${scope}::int8[]))
       and not (w.account_id = any(${unsettled}::int8[]))
       and not exists (select 1 from kept k where k.account_id = w.account_id and k.rule_key = w.rule_key)`.execute(trx);
}

/** Snoozed alerts whose time is up are open again. */
async function wakeSnoozed(trx: Db, scope: Scope): Promise<AlertChange[]> {
  const { rows } = await sql<{ id: number }>`
    update alerts
       set status = 'open', snoozed_until = null, updated_at = now()
     where status = 'snoozed' and snoozed_until <= now()
       and (${scope}::int8[] is null or account_id = any(${scope}::int8[]))
    returning id`.execute(trx);
  return rows.map((r) => ({ alertId: r.id, action: 'unsnoozed' as const, actor: SYSTEM, details: { reason: 'the snooze ended' } }));
}

/**
 * The cron entry point: evaluates every account (so time-based conditions —
 * renewals coming closer, usage weeks rolling over — fire and clear without a
 * rescoring), wakes snoozed alerts and follows retention-owner changes.
 * Returns counts for the job's run record.
 */
export async function sweepAlerts(db: Db, options: EvaluationOptions = {}): Promise<Record<string, number>> {
  const { ruleSetVersion, ...counts } = await evaluateRules(db, null, undefined, options);
  return { ...counts, ruleSetVersion };
}
