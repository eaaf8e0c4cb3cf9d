import type { Generated } from 'kysely';
import type { Timestamp } from '../types.js';

export type AlertStatus = 'open' | 'acknowledged' | 'snoozed' | 'resolved';
export type Severity = 'low' | 'medium' | 'high' | 'critical';
export type Resolution = 'manual' | 'condition_cleared' | 'rule_removed';
export type Outcome = 'saved' | 'churned' | 'false_alarm' | 'other';
export type AssignedVia = 'retention_owner' | 'pool' | 'manual';
export type AlertAction =
  | 'opened'
  | 'updated'
  | 'acknowledged'
  | 'snoozed'
  | 'unsnoozed'
  | 'assigned'
  | 'reassigned'
  | 'resolved'
  | 'outcome_recorded';

/** Tables of sql/0007_alerts.sql. */
export interface AlertTables {
  alert_rule_sets: {
    id: Generated<number>;
    version: number;
    definition: unknown;
    active: Generated<boolean>;
    created_by: string | null;
    created_at: Generated<Date>;
    activated_at: Timestamp | null;
  };
  alerts: {
    account_id: number;
    id: Generated<number>;
    rule_key: string;
    rule_type: string;
    rule_set_version: number;
    severity: Severity;
    status: Generated<AlertStatus>;
    assignee: string | null;
    assigned_via: AssignedVia | null;
    owner_at_assignment: string | null;
    reasons: unknown;
    metrics: unknown;
    signature: unknown;
    snoozed_until: Timestamp | null;
    opened_at: Generated<Date>;
    updated_at: Generated<Date>;
    acknowledged_at: Timestamp | null;
    resolved_at: Timestamp | null;
    resolution: Resolution | null;
    resolved_by: string | null;
    outcome: Outcome | null;
    outcome_note: string | null;
    outcome_recorded_at: Timestamp | null;
  };
  alert_events: {
    id: Generated<number>;
    alert_id: number;
    action: AlertAction;
    actor: string;
    at: Generated<Date>;
    details: unknown;
  };
  alert_openings: {
    account_id: number;
    rule_key: string;
    last_opened_at: Timestamp;
    last_dismissed_at: Timestamp | null;
  };
  retention_pool: {
    member: string;
    added_by: string | null;
    added_at: Generated<Date>;
  };
}
