import { type Kysely, sql } from 'kysely';
import type { Database } from '../db/schema.js';
import type { AlertAction, AlertStatus, AssignedVia, Outcome, Resolution, Severity } from '../db/tables/alerts.js';

type Db = Kysely<Database>;

export interface Alert {
  id: number;
  account: { externalId: string; name: string };
  ruleKey: string;
  ruleType: string;
  ruleSetVersion: number;
  severity: Severity;
  status: AlertStatus;
  assignee: string | null;
  assignedVia: AssignedVia | null;
  reasons: string[];
  metrics: Record<string, unknown>;
  openedAt: string;
  updatedAt: string;
  acknowledgedAt: string | null;
  snoozedUntil: string | null;
  resolvedAt: string | null;
  resolution: Resolution | null;
  resolvedBy: string | null;
  outcome: Outcome | null;
  outcomeNote: string | null;
}

export interface AlertHistoryEntry {
  action: AlertAction;
  actor: string;
  at: string;
  details: Record<string, unknown>;
}

/** Alerts joined with their account, for the API and event payloads. */
export const alertQuery = (db: Db) =>
  db
    .selectFrom('alerts as al')
    .innerJoin('accounts as ac', 'ac.id', 'al.account_id')
    .select([
      'al.id',
      'al.account_id',
      'ac.external_id',
      'ac.name',
      'al.rule_key',
      'al.rule_type',
      'al.rule_set_version',
      'al.severity',
      'al.status',
      'al.assignee',
      'al.assigned_via',
      'al.reasons',
      'al.metrics',
      'al.opened_at',
      'al.updated_at',
      'al.acknowledged_at',
      'al.snoozed_until',
      'al.resolved_at',
      'al.resolution',
      'al.resolved_by',
      'al.outcome',
      'al.outcome_note',
    ]);

export type AlertRow = Awaited<ReturnType<ReturnType<typeof alertQuery>['executeTakeFirstOrThrow']>>;

const iso = (d: Date | string | null) => (d === null ? null : new Date(d).toISOString());

export function toAlert(row: AlertRow): Alert {
  return {
    id: row.id,
    account: { externalId: row.external_id, name: row.name },
    ruleKey: row.rule_key,
    ruleType: row.rule_type,
    ruleSetVersion: row.rule_set_version,
    severity: row.severity,
    status: row.status,
    assignee: row.assignee,
    assignedVia: row.assigned_via,
    reasons: row.reasons as string[],
    metrics: row.metrics as Record<string, unknown>,
    openedAt: iso(row.opened_at)!,
    updatedAt: iso(row.updated_at)!,
    acknowledgedAt: iso(row.acknowledged_at),
    snoozedUntil: iso(row.snoozed_until),
    resolvedAt: iso(row.resolved_at),
    resolution: row.resolution,
    resolvedBy: row.resolved_by,
    outcome: row.outcome,
    outcomeNote: row.outcome_note,
  };
}

export async function findAlertRows(db: Db, ids: number[]): Promise<Map<number, AlertRow>> {
  if (ids.length === 0) return new Map();
  const rows = await alertQuery(db).where('al.id', 'in', [...new Set(ids)]).execute();
  return new Map(rows.map((r) => [r.id, r]));
}

export async function alertHistory(db: Db, alertId: number): Promise<AlertHistoryEntry[]> {
  const rows = await db.selectFrom('alert_events').selectAll().where('alert_id', '=', alertId).orderBy('id').execute();
  return rows.map((r) => ({ action: r.action, actor: r.actor, at: r.at.toISOString(), details: r.details as Record<string, unknown> }));
}

export interface ListFilter {
  status?: AlertStatus[];
  severity?: Severity[];
  assignee?: string;
  unassigned?: boolean;
  rule?: string;
  account?: string;
  /** Keyset: only alerts with a smaller id (the list is newest first). */
  before?: number;
  limit: number;
}

/** Alerts newest first, by keyset on id. */
export async function listAlerts(db: Db, filter: ListFilter): Promise<{ items: Alert[]; last: number | null; hasMore: boolean }> {
  let query = alertQuery(db);
  if (filter.status?.length) query = query.where('al.status', 'in', filter.status);
  if (filter.severity?.length) query = query.where('al.severity', 'in', filter.severity);
  if (filter.assignee !== undefined) query = query.where('al.assignee', '=', filter.assignee);
  if (filter.unassigned) query = query.where('al.assignee', 'is', null);
  if (filter.rule !== undefined) query = query.where('al.rule_key', '=', filter.rule);
  if (filter.account !== undefined) query = query.where('ac.external_id', '=', filter.account);
  if (filter.before !== undefined) query = query.where('al.id', '<', filter.before);
  const rows = await query.orderBy('al.id', 'desc').limit(filter.limit + 1).execute();
  const page = rows.slice(0, filter.limit);
  return { items: page.map(toAlert), last: page.at(-1)?.id ?? null, hasMore: rows.length > filter.limit };
}

export interface OutcomeSummary {
  ruleKey: string;
  ruleType: string;
  unresolved: number;
  resolved: number;
  outcomes: Record<Outcome | 'unrecorded', number>;
  resolutions: Record<Resolution, number>;
}

/** Per rule: unresolved and resolved alerts, resolved ones by outcome — for judging rules. */
export async function outcomeSummary(db: Db, since?: Date): Promise<OutcomeSummary[]> {
  const { rows } = await sql<{
    rule_key: string;
    rule_type: string;
    unresolved: number;
    resolved: number;
    saved: number;
    churned: number;
    false_alarm: number;
    other: number;
    unrecorded: number;
    manual: number;
    condition_cleared: number;
    rule_removed: number;
  }>`
    select rule_key, (array_agg(rule_type order by id desc))[1] as rule_type,
           count(*) filter (where status <> 'resolved')::int as unresolved,
           count(*) filter (where status = 'resolved')::int as resolved,
           count(*) filter (where outcome = 'saved')::int as saved,
           count(*) filter (where outcome = 'churned')::int as churned,
           count(*) filter (where outcome = 'false_alarm')::int as false_alarm,
           count(*) filter (where outcome = 'other')::int as other,
           count(*) filter (where status = 'resolved' and outcome is null)::int as unrecorded,
           count(*) filter (where resolution = 'manual')::int as manual,
           count(*) filter (where resolution = 'condition_cleared')::int as condition_cleared,
           count(*) filter (where resolution = 'rule_removed')::int as rule_removed
      from alerts
     where ${since ?? null}::timestamptz is null or opened_at >= ${since ?? null}::timestamptz
     group by rule_key
     order by rule_key`.execute(db);
  return rows.map((r) => ({
    ruleKey: r.rule_key,
    ruleType: r.rule_type,
    unresolved: r.unresolved,
    resolved: r.resolved,
    outcomes: { saved: r.saved, churned: r.churned, false_alarm: r.false_alarm, other: r.other, unrecorded: r.unrecorded },
    resolutions: { manual: r.manual, condition_cleared: r.condition_cleared, rule_removed: r.rule_removed },
  }));
}
